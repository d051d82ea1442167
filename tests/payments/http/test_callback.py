"""POST /payments/callbacks/<id>/<token>/: the one door Daraja knocks on
(payments/http/callback.py), driven through the project's whole ASGI application, and its
fall-through to Django for what only Django may answer (bad Host, plain HTTP under SSL
redirect)."""

import json
import sqlite3

import pytest
from channels.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.db import connection

from frontend.models import LedgerEntry, Wallet
from mpesa_plumbing.client_ip import parse_networks
from mpesa_plumbing.db import close_db_threads
from payments.checkout.callback_url import callback_path, callback_token
from payments.http.callback import CallbackEndpoint
from payments.models import CallbackRecord, Payment
from tests.factories import callback_body, dumps, make_payment
from tests.helpers.asgi import CallbackDoor, asgi_scope
from tests.helpers.logs import dump

pytestmark = pytest.mark.django_db
O = CallbackRecord.Outcome  # noqa: E741


def post(door, payment, data, *, path=None, **headers):
    body = data if isinstance(data, (str, bytes)) else dumps(data)
    return door.post(path or callback_path(payment.public_id), body, headers=headers)


def test_success_is_stored_applied_and_acknowledged(door, user):
    payment = make_payment(user, amount=90)
    response = post(door, payment, callback_body(payment), BusinessShortCode="174379")
    assert response.status_code == 200 and response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert response.headers["content-type"] == "application/json"
    record = CallbackRecord.objects.get()
    assert record.outcome == O.APPLIED and record.payment_id == payment.pk
    assert record.headers["Businessshortcode"] == "174379"
    assert json.loads(record.body)["Body"]["stkCallback"]["ResultCode"] == 0
    assert Payment.objects.get(pk=payment.pk).status == "paid" and Wallet.objects.get(user=user).balance == 90


def test_replayed_success_has_no_further_effect(door, user):
    """S13 / F19."""
    payment = make_payment(user, amount=90)
    codes = [post(door, payment, callback_body(payment)).status_code for _ in range(6)]
    assert codes == [200] * 6
    assert list(CallbackRecord.objects.order_by("pk").values_list("outcome", flat=True)) == [
        O.APPLIED,
        *[O.DUPLICATE] * 5,
    ]
    assert LedgerEntry.objects.count() == 1 and Wallet.objects.get(user=user).balance == 90


@pytest.mark.parametrize(
    "token_of",
    [
        lambda p, other: "0" * 32,
        lambda p, other: callback_token(p.public_id)[:31],
        lambda p, other: callback_token(other.public_id),
        lambda p, other: callback_token(p.public_id).upper(),
    ],
)
def test_bad_token_is_404_and_stores_nothing(door, user, token_of):
    """S12."""
    payment, other = make_payment(user), make_payment(user)
    path = f"/payments/callbacks/{payment.public_id.hex}/{token_of(payment, other)}/"
    response = post(door, payment, callback_body(payment), path=path)
    assert response.status_code == 404 and not CallbackRecord.objects.exists()
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_bad_id_is_404(door, user):
    """Only the spelling we issue (32 lowercase hex digits) is a callback URL: the token still
    matches the other spellings uuid.UUID would read, and they are refused all the same."""
    assert door.post(f"/payments/callbacks/not-hex/{'0' * 32}/", "{}").status_code == 404
    payment = make_payment(user)
    good = callback_path(payment.public_id)
    hex_id = payment.public_id.hex
    for spelling in (hex_id.upper(), str(payment.public_id), "{" + hex_id + "}", "urn:uuid:" + hex_id):
        response = post(door, payment, callback_body(payment), path=good.replace(hex_id, spelling))
        assert response.status_code == 404, spelling
    assert (
        not CallbackRecord.objects.exists() and post(door, payment, callback_body(payment)).status_code == 200
    )


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_405(door, user, method):
    """B14."""
    payment = make_payment(user)
    response = door.request(method.upper(), callback_path(payment.public_id))
    assert response.status_code == 405 and response.headers["allow"] == "POST"


@pytest.mark.parametrize("body", ["", '{"Body":', "<html>gateway</html>", '{"Body": {}}', "[]"])
def test_malformed_is_400_recorded_and_changes_nothing(door, user, body):
    """B1/B2: never 500; the raw body is kept as evidence."""
    payment = make_payment(user)
    response = post(door, payment, body)
    assert response.status_code == 400
    record = CallbackRecord.objects.get()
    assert record.outcome == O.MALFORMED and record.body == body
    assert Payment.objects.get(pk=payment.pk).status == "pending"


@pytest.mark.parametrize(
    ("code", "status", "http"),
    [
        ("0", "paid", 200),
        (0, "paid", 200),
        ("SFC_IC0003", "failed", 200),
        (None, "pending", 400),
        ([], "pending", 400),
    ],
)
def test_result_code_types(door, user, code, status, http):
    """B3."""
    payment = make_payment(user)
    data = callback_body(payment, code=0)
    data["Body"]["stkCallback"]["ResultCode"] = code
    assert post(door, payment, data).status_code == http
    payment.refresh_from_db()
    assert payment.status == status
    if code == "SFC_IC0003":
        assert payment.result_code == "SFC_IC0003"


def test_body_over_the_cap_is_413_and_not_stored(door, user):
    """B6."""
    payment = make_payment(user)
    data = callback_body(payment)
    data["junk"] = "x" * 40_000
    assert post(door, payment, data).status_code == 413
    assert not CallbackRecord.objects.exists()


def test_checkout_id_of_another_payment_is_an_orphan(door, user):
    """F20: acknowledged, recorded, no state change."""
    payment = make_payment(user)
    response = post(door, payment, callback_body(payment, checkout_id="ws_CO_01012026000000001712345678"))
    assert response.status_code == 200
    assert CallbackRecord.objects.get().outcome == O.ORPHAN
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_extra_fields_are_ignored(door, user):
    """B15."""
    payment = make_payment(user)
    data = callback_body(payment)
    data["Body"]["stkCallback"]["Future"] = {"a": [1, {"b": None}]}
    data["Meta"] = "x"
    assert post(door, payment, data).status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == "paid"


def test_paid_from_another_phone_is_logged_not_blocked(door, user, caplog):
    """B16 (open question Q3): a warning, with the phone masked."""
    payment = make_payment(user)
    assert post(door, payment, callback_body(payment, phone="254799112233")).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.paid_phone == "254799112233"
    logged = dump(caplog)
    assert "phone=2547****2233" in logged and "254799112233" not in logged


class TestIpAllowlist:
    @pytest.fixture(autouse=True)
    def _listed(self, settings):
        settings.DARAJA_CALLBACK_NETWORKS = parse_networks(["127.0.0.2", "196.201.214.200"])

    def test_enforce_refuses_unlisted_and_stores_nothing(self, door, user, settings):
        """S10."""
        settings.DARAJA_CALLBACK_IP_MODE = "enforce"
        payment = make_payment(user)
        refused = post(CallbackDoor(client_ip="127.0.0.9"), payment, callback_body(payment))
        assert refused.status_code == 403 and not CallbackRecord.objects.exists()
        accepted = post(CallbackDoor(client_ip="127.0.0.2"), payment, callback_body(payment))
        assert accepted.status_code == 200 and CallbackRecord.objects.get().ip_allowed is True

    def test_log_mode_processes_and_warns(self, door, user, settings, caplog):
        settings.DARAJA_CALLBACK_IP_MODE = "log"
        payment = make_payment(user)
        assert post(CallbackDoor(client_ip="127.0.0.9"), payment, callback_body(payment)).status_code == 200
        assert CallbackRecord.objects.get().ip_allowed is False
        assert "non-allowlisted" in caplog.text

    def test_forwarded_for_is_trusted_only_through_configured_proxies(self, door, user, settings):
        settings.DARAJA_CALLBACK_IP_MODE = "enforce"
        payment = make_payment(user)
        proxy = CallbackDoor(client_ip="127.0.0.9")
        spoof = {"X-Forwarded-For": "196.201.214.200"}
        settings.TRUSTED_PROXY_COUNT = 0
        assert post(proxy, payment, callback_body(payment), **spoof).status_code == 403
        settings.TRUSTED_PROXY_COUNT = 1
        assert post(proxy, payment, callback_body(payment), **spoof).status_code == 200
        # a client prepending its own entry cannot push the real hop out of position
        forged = {"X-Forwarded-For": "196.201.214.200, 10.9.9.9"}
        assert post(proxy, payment, callback_body(payment), **forged).status_code == 403

    def test_cidr_ranges_are_allowlisted(self, user, settings):
        settings.DARAJA_CALLBACK_IP_MODE = "enforce"
        settings.DARAJA_CALLBACK_NETWORKS = parse_networks(["196.201.212.0/24"])
        payment = make_payment(user)
        assert (
            post(CallbackDoor(client_ip="196.201.212.77"), payment, callback_body(payment)).status_code == 200
        )
        assert (
            post(CallbackDoor(client_ip="196.201.213.77"), payment, callback_body(payment)).status_code == 403
        )


class _Locked:
    """Hold a write lock on the callback table from another connection, the way a long
    migration or a stuck transaction would (SQLite: BEGIN EXCLUSIVE; PostgreSQL: LOCK TABLE)."""

    def __enter__(self):
        settings_dict = connection.settings_dict
        self.normal = dict(settings_dict["OPTIONS"])
        connection.close()
        close_db_threads()  # the bridge's threads reconnect with the short timeout below
        if connection.vendor == "sqlite":
            settings_dict["OPTIONS"]["timeout"] = 0.3
            self.blocker = sqlite3.connect(settings_dict["NAME"], timeout=0)
            self.blocker.execute("BEGIN EXCLUSIVE")
        else:
            import psycopg

            settings_dict["OPTIONS"]["options"] = "-c lock_timeout=300"
            self.blocker = psycopg.connect(
                host=settings_dict["HOST"],
                port=settings_dict["PORT"],
                user=settings_dict["USER"],
                dbname=connection.settings_dict["NAME"],
            )
            self.blocker.execute("LOCK TABLE payments_callbackrecord IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc):
        self.blocker.rollback()
        self.blocker.close()
        connection.close()
        close_db_threads()
        connection.settings_dict["OPTIONS"] = self.normal


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_locked_database_is_503_then_the_resend_succeeds(door, user):
    """F5: nothing is falsely acknowledged; the re-posted callback settles once."""
    payment = make_payment(user, amount=60)
    with _Locked():
        response = post(door, payment, callback_body(payment))
        assert response.status_code == 503
    assert not CallbackRecord.objects.exists() and Payment.objects.get(pk=payment.pk).status == "pending"
    assert post(door, payment, callback_body(payment)).status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == "paid" and LedgerEntry.objects.count() == 1


# --- the endpoint alone, with Django behind it counting what falls through -----------------
class Recording:
    """Django's ASGI app, counting the requests that reach it."""

    def __init__(self):
        self.app, self.calls = get_asgi_application(), 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        return await self.app(scope, receive, send)


async def asgi_post(
    app, path: str, body: bytes, *, method="POST", host=b"127.0.0.1", scheme="http", headers=()
):
    scope = asgi_scope(
        "http",
        path,
        method=method,
        scheme=scheme,
        host=host,
        headers=[
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"businessshortcode", b"174379"),
            *headers,
        ],
    )
    comm = ApplicationCommunicator(app, scope)
    await comm.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await comm.receive_output(timeout=10)
    chunk = await comm.receive_output(timeout=10)
    await comm.wait(timeout=10)
    return start["status"], dict(start["headers"]), chunk.get("body", b"")


@pytest.mark.django_db(transaction=True)
async def test_the_door_answers_callbacks_itself(user):
    """Every callback is answered by the door: nothing reaches Django, for any outcome."""
    from asgiref.sync import sync_to_async

    payment = await sync_to_async(make_payment)(user, amount=75)
    fallback = Recording()
    path = callback_path(payment.public_id)
    bodies = [dumps(callback_body(payment)).encode(), b'{"Body": {"stkCallback": {"ResultCode": "x"']
    answers = [await asgi_post(CallbackEndpoint(fallback), path, body) for body in (*bodies, bodies[0])]
    assert [a[0] for a in answers] == [200, 400, 200] and fallback.calls == 0

    def effects():
        return (
            list(CallbackRecord.objects.order_by("pk").values_list("outcome", flat=True)),
            LedgerEntry.objects.count(),
            Wallet.objects.get(user=user).balance,
        )

    assert await sync_to_async(effects)() == (["applied", "malformed", "duplicate"], 1, 75)


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"host": b"evil.example"},  # Django answers 400 DisallowedHost
    ],
)
@pytest.mark.django_db(transaction=True)
async def test_what_django_must_answer_falls_through(user, request_kwargs):
    from asgiref.sync import sync_to_async

    payment = await sync_to_async(make_payment)(user)
    fallback = Recording()
    status, _, _ = await asgi_post(
        CallbackEndpoint(fallback), callback_path(payment.public_id), b"{}", **request_kwargs
    )
    assert fallback.calls == 1 and status == 400
    assert await sync_to_async(CallbackRecord.objects.count)() == 0


@pytest.mark.django_db(transaction=True)
async def test_ssl_redirect_is_left_to_django_unless_the_proxy_says_https(user, settings):
    """Under SECURE_SSL_REDIRECT a plain-HTTP callback gets Django's redirect (the token must
    not travel in clear); behind a proxy that sets X-Forwarded-Proto: https it is served."""
    from asgiref.sync import sync_to_async

    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    payment = await sync_to_async(make_payment)(user, amount=20)
    path, body = callback_path(payment.public_id), dumps(callback_body(payment)).encode()
    fallback = Recording()
    status, headers, _ = await asgi_post(CallbackEndpoint(fallback), path, body)
    assert (fallback.calls, status) == (1, 301) and headers[b"Location"].startswith(b"https://")
    status, _, _ = await asgi_post(
        CallbackEndpoint(fallback), path, body, headers=[(b"x-forwarded-proto", b"https")]
    )
    assert (fallback.calls, status) == (1, 200)
    assert await sync_to_async(lambda: Payment.objects.get(pk=payment.pk).status)() == "paid"
