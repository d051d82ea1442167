"""Registering the Pay Bill URLs: Daraja's URL rules checked before anything is sent, the call
and its answers (daraja-reference.md §14.2-14.4), and the sandbox's automatic registration."""

import json

import pytest
from werkzeug import Response

from payments.checkout import register_urls
from payments.checkout.callback_url import c2b_path
from payments.daraja.errors import DarajaAPIError
from tests.helpers.fake_daraja import envelope

OK = {
    "OriginatorCoversationID": "8c39-4e24-ba78-a464bfcb7db629839",
    "ResponseCode": "0",
    "ResponseDescription": "Success",
}


@pytest.fixture(autouse=True)
def _fresh_auto_state():
    register_urls._AutoState.done_for, register_urls._AutoState.failures = None, 0
    register_urls._AutoState.next_attempt = 0.0
    yield
    register_urls._AutoState.done_for = None


def test_plan_names_both_capability_urls(settings):
    settings.DARAJA_CALLBACK_BASE_URL = "https://shop.example.co.ke"
    plan = register_urls.registration_plan(shortcode="600984")
    assert plan.validation_url == "https://shop.example.co.ke" + c2b_path("600984", "validation")
    assert plan.confirmation_url.endswith("/confirmation/") and not plan.errors
    assert (
        "****" in plan.shown(plan.validation_url)
        and plan.version == "v2"
        and plan.response_type == "Completed"
    )


@pytest.mark.parametrize(
    ("base", "production", "expected"),
    [
        ("https://mpesa.shop.co.ke", False, "contains 'mpesa'"),
        ("https://shop.co.ke/safaricom-hooks", False, "contains 'safaricom'"),
        ("http://shop.co.ke", True, "must be HTTPS"),
        ("https://127.0.0.1:8443", True, "not a public host"),
        ("https://localhost", True, "not a public host"),
    ],
)
def test_urls_daraja_would_refuse_are_refused_first(settings, base, production, expected):
    settings.DARAJA_CALLBACK_BASE_URL = base
    if production:
        settings.DARAJA_BASE_URL = "https://api.safaricom.co.ke"
    plan = register_urls.registration_plan(shortcode="600984")
    assert any(expected in error for error in plan.errors), plan.errors
    with pytest.raises(ValueError):
        register_urls.register(plan)


def test_bad_choices_are_named(settings):
    plan = register_urls.registration_plan(shortcode="60O984", version="v3", response_type="completed")
    assert len(plan.errors) == 3


def test_registration_sends_the_documented_body(daraja, settings):
    settings.DARAJA_CALLBACK_BASE_URL = "https://shop.example.co.ke"
    daraja.oauth()
    daraja.server.expect_request("/mpesa/c2b/v1/registerurl", method="POST").respond_with_json(OK)
    plan = register_urls.registration_plan(shortcode="600984", version="v1", response_type="Cancelled")
    answer = register_urls.register(plan)
    assert answer.originator_conversation_id == OK["OriginatorCoversationID"]
    [request] = daraja.requests("/mpesa/c2b/v1/registerurl")
    assert request.headers["Authorization"].startswith("Bearer ")
    assert request.get_json() == {
        "ShortCode": "600984",
        "ResponseType": "Cancelled",
        "ConfirmationURL": plan.confirmation_url,
        "ValidationURL": plan.validation_url,
    }


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (
            401,
            envelope(
                "401.003.01",
                "Error Occurred - Invalid Access Token - Invalid API call as no apiproduct match found",
            ),
            "401.003.01",
        ),
        (500, envelope("500.003.1001", "Urls are already registered."), "500.003.1001"),
        (
            400,
            envelope("400.003.02", "Bad Request - Invalid ValidationURL - URL has the word MPESA"),
            "400.003.02",
        ),
        (
            200,
            {
                "ConversationID": "",
                "OriginatorCoversationID": "",
                "ResponseDescription": "Validation and Confirmation URLs are already registered",
            },
            "500.003.1001",
        ),
    ],
)
def test_refusals_come_back_with_darajas_code(daraja, status, body, code):
    daraja.oauth()
    daraja.server.expect_request("/mpesa/c2b/v2/registerurl").respond_with_response(
        Response(json.dumps(body), status=status, content_type="application/json")
    )
    with pytest.raises(DarajaAPIError) as refused:
        register_urls.register(register_urls.registration_plan(shortcode="600984"))
    assert refused.value.error_code == code


def test_auto_registration_retries_then_stops_once_done(daraja, settings):
    settings.PAYMENTS_C2B_AUTO_REGISTER = True
    daraja.oauth()
    answers = iter(
        [Response("<html>502</html>", status=502), Response(json.dumps(OK), content_type="application/json")]
    )
    daraja.server.expect_request("/mpesa/c2b/v2/registerurl").respond_with_handler(
        lambda request: next(answers)
    )
    assert register_urls.register_urls_due() == 1  # failed: a pause before the next attempt
    assert register_urls.register_urls_due() == 0
    register_urls._AutoState.next_attempt = 0.0  # the pause is over
    assert register_urls.register_urls_due() == 1
    assert register_urls.register_urls_due() == 0  # registered: nothing more to do
    assert len(daraja.requests("/mpesa/c2b/v2/registerurl")) == 2
    settings.DARAJA_C2B_SHORTCODE = "600985"  # the plan changed: register again
    daraja.server.expect_request("/mpesa/c2b/v2/registerurl").respond_with_json(OK)
    assert register_urls.register_urls_due() == 1


def test_no_auto_registration_when_off(settings):
    settings.PAYMENTS_C2B_AUTO_REGISTER = False
    assert register_urls.register_urls_due() == 0
