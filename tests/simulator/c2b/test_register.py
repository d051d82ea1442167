"""C2B Register URL (daraja-reference.md §14.2–§14.4): answers, errors, SSRF guard, rows."""

import pytest

from simulator.models import SimApiCall, SimC2BRegistration

BAD_URL = "400.003.02"


def error(response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"requestId", "errorCode", "errorMessage"}
    assert (body["errorCode"], body["errorMessage"]) == (code, message)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_success_with_the_typo_key(daraja, version):
    response = daraja.register(version=version)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json;charset=UTF-8"
    body = response.json()
    assert list(body) == ["OriginatorCoversationID", "ResponseCode", "ResponseDescription"]  # no "n"
    assert (body["ResponseCode"], body["ResponseDescription"]) == ("0", "Success")
    row = SimC2BRegistration.objects.get()
    assert (row.shortcode, row.version, row.response_type) == ("600984", version, "Completed")
    assert row.originator_conversation_id == body["OriginatorCoversationID"]
    assert row.validation_url == "http://127.0.0.1:9/c2b/validate/"


def test_a_version_outside_the_apps_products(daraja, settings):
    settings.SIMULATOR_C2B_URL_VERSIONS = "v1"
    error(
        daraja.register(version="v2"),
        401,
        "401.003.01",
        "Error Occurred - Invalid Access Token - Invalid API call as no apiproduct match found",
    )
    assert daraja.register(version="v1").status_code == 200
    settings.SIMULATOR_C2B_URL_VERSIONS = "v2"
    assert daraja.register(version="v1").status_code == 401
    assert daraja.simulate(version="v1").status_code == 401  # simulate too (§14.11 item 1)


@pytest.mark.parametrize(
    ("field", "url", "word"),
    [
        ("ValidationURL", "http://127.0.0.1:9/mpesa/validate/", "MPESA"),
        ("ValidationURL", "http://127.0.0.1:9/M-Pesa/validate/", "MPESA"),
        ("ConfirmationURL", "http://127.0.0.1:9/hooks/MPESA-confirm/", "MPESA"),
        ("ConfirmationURL", "http://127.0.0.1:9/safaricom/c2b/", "SAFARICOM"),
        ("ConfirmationURL", "http://127.0.0.1:9/payment-query/", "QUERY"),
        ("ValidationURL", "http://127.0.0.1:9/cgi/run.exe", "EXE"),
        ("ValidationURL", "http://127.0.0.1:9/exec/", "EXEC"),
        ("ValidationURL", "http://127.0.0.1:9/cmd/", "CMD"),
        ("ConfirmationURL", "http://127.0.0.1:9/Sql/", "SQL"),
    ],
)
def test_forbidden_words(daraja, field, url, word):
    error(
        daraja.register(**{field: url}),
        400,
        BAD_URL,
        f"Bad Request - Invalid {field} - URL has the word {word}",
    )
    assert not SimC2BRegistration.objects.exists()


def test_the_captured_forbidden_word_error_names_the_validation_url_first(daraja):
    response = daraja.register(
        ConfirmationURL="http://127.0.0.1:9/mpesa/confirm/",
        ValidationURL="http://127.0.0.1:9/mpesa/validate/",
    )
    error(response, 400, BAD_URL, "Bad Request - Invalid ValidationURL - URL has the word MPESA")


@pytest.mark.parametrize("value", ["Confirmed", "completed", "CANCELLED", "Canceled", "", None, 1])
def test_invalid_response_type(daraja, value):
    error(daraja.register(ResponseType=value), 400, "400.002.02", "Bad Request - Invalid ResponseType")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/c2b/",
        "https://evil.example/c2b/",
        "http://127.0.0.1@evil.example/c2b/",
        "file:///etc/passwd",
        "http://127.0.0.1/c2b confirm",
        "https://<your-url>/confirm",
        "",
        None,
    ],
)
def test_urls_outside_the_allowed_hosts_are_refused(daraja, url):
    """The SSRF guard of STK callbacks (SIMULATOR_ALLOWED_CALLBACK_HOSTS) on both URLs."""
    error(daraja.register(ConfirmationURL=url), 400, BAD_URL, "Bad Request - Invalid ConfirmationURL")
    if url:
        error(daraja.register(ValidationURL=url), 400, BAD_URL, "Bad Request - Invalid ValidationURL")
    assert not SimC2BRegistration.objects.exists()


def test_validation_url_may_be_left_out(daraja, drop):
    assert daraja.register(ValidationURL=drop).status_code == 200
    assert SimC2BRegistration.objects.get().validation_url == ""


def test_sandbox_overwrites(daraja):
    daraja.register(ResponseType="Completed")
    second = daraja.register(
        ResponseType="Cancelled", ConfirmationURL="http://localhost:9/other/", version="v2"
    )
    assert second.status_code == 200
    row = SimC2BRegistration.objects.get()
    assert (row.response_type, row.confirmation_url, row.version, row.times_registered) == (
        "Cancelled",
        "http://localhost:9/other/",
        "v2",
        2,
    )


def test_production_refuses_a_second_registration_and_plain_http(daraja, settings):
    settings.SIMULATOR_C2B_ENVIRONMENT = "production"
    error(daraja.register(), 400, BAD_URL, "Bad Request - Invalid ValidationURL")  # http://, checked first
    settings.SIMULATOR_ALLOWED_CALLBACK_HOSTS = ["shop.example"]
    urls = {
        "ConfirmationURL": "https://shop.example/c2b/confirm/",
        "ValidationURL": "https://shop.example/c2b/v/",
    }
    assert daraja.register(**urls).status_code == 200
    response = daraja.register(**urls, ResponseType="Cancelled")
    assert response.status_code == 500
    assert (response.json()["errorCode"], response.json()["errorMessage"]) == (
        "500.003.1001",
        "Urls are already registered.",
    )
    assert SimC2BRegistration.objects.get().response_type == "Completed"  # unchanged


def test_a_shortcode_not_set_up_for_c2b(daraja):
    """§14.4: the LNM-only 174379 answers a SOAP fault inside JSON."""
    response = daraja.register(ShortCode="174379")
    assert response.status_code == 500
    fault = response.json()["Envelope"]["Body"]["Fault"]
    assert fault["faultstring"].startswith("Execution of ServiceCallout SCO-AddURLVault failed")
    assert not SimC2BRegistration.objects.exists()


@pytest.mark.parametrize("shortcode", ["abc", "12", "12345678", None, True])
def test_invalid_shortcode(daraja, shortcode):
    error(daraja.register(ShortCode=shortcode), 400, "400.002.02", "Bad Request - Invalid ShortCode")


def test_numeric_shortcode_works(daraja):
    assert daraja.register(ShortCode=600984).status_code == 200


def test_token_method_and_payload(daraja):
    error(daraja.register(token="nope"), 400, "400.003.01", "Invalid Access Token")
    assert daraja.client.get("/simulator/mpesa/c2b/v1/registerurl").status_code == 405
    error(
        daraja.post("/simulator/mpesa/c2b/v1/registerurl", None, raw=b"{"),
        400,
        "400.002.05",
        "Invalid Request Payload",
    )
    response = daraja.post("/simulator/mpesa/c2b/v1/registerurl", {}, content_type="text/plain")
    error(response, 400, "400.002.05", "Invalid Request Payload")
    assert daraja.post("/simulator/mpesa/c2b/v3/registerurl", {}).status_code == 404


def test_a_path_without_the_mpesa_prefix_is_no_proxy(daraja):
    response = daraja.post("/simulator/c2b/v1/simulate", {})
    assert response.status_code == 404
    assert response.json()["fault"]["faultstring"] == (
        "Unable to identify proxy for host: secure and url: /c2b/v1/simulate"
    )


def test_calls_are_counted(daraja):
    daraja.register()
    daraja.register(ResponseType="nope")
    assert list(
        SimApiCall.objects.filter(api="c2b_url").order_by("pk").values_list("http_status", flat=True)
    ) == [
        200,
        400,
    ]
