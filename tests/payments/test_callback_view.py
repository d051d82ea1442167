"""POST /payments/callbacks/<id>/<token>/: the only door Daraja knocks on."""

import json
import sqlite3

import pytest
from django.db import connection
from django.urls import reverse

from payments.callback_url import callback_path, callback_token
from payments.models import CallbackRecord, LedgerEntry, Payment, Wallet
from tests.factories import callback_body, dumps, make_payment
from tests.helpers.logs import dump

pytestmark = pytest.mark.django_db
O = CallbackRecord.Outcome  # noqa: E741


def post(client, payment, data, *, path=None, **extra):
    body = data if isinstance(data, (str, bytes)) else dumps(data)
    return client.post(
        path or callback_path(payment.public_id), data=body, content_type="application/json", **extra
    )


def test_success_is_stored_applied_and_acknowledged(client, user):
    payment = make_payment(user, amount=90)
    response = post(client, payment, callback_body(payment), HTTP_BUSINESSSHORTCODE="174379")
    assert response.status_code == 200 and response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    record = CallbackRecord.objects.get()
    assert record.outcome == O.APPLIED and record.payment_id == payment.pk
    assert record.headers["Businessshortcode"] == "174379"
    assert json.loads(record.body)["Body"]["stkCallback"]["ResultCode"] == 0
    assert Payment.objects.get(pk=payment.pk).status == "paid" and Wallet.objects.get(user=user).balance == 90


def test_replayed_success_has_no_further_effect(client, user):
    """S13 / F19."""
    payment = make_payment(user, amount=90)
    codes = [post(client, payment, callback_body(payment)).status_code for _ in range(6)]
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
def test_bad_token_is_404_and_stores_nothing(client, user, token_of):
    """S12."""
    payment, other = make_payment(user), make_payment(user)
    path = reverse(
        "payments:stk-callback",
        kwargs={"public_id_hex": payment.public_id.hex, "token": token_of(payment, other)},
    )
    response = post(client, payment, callback_body(payment), path=path)
    assert response.status_code == 404 and not CallbackRecord.objects.exists()
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_bad_id_is_404(client):
    path = reverse("payments:stk-callback", kwargs={"public_id_hex": "not-hex", "token": "0" * 32})
    assert client.post(path, data="{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_405(client, user, method):
    """B14."""
    payment = make_payment(user)
    assert getattr(client, method)(callback_path(payment.public_id)).status_code == 405


@pytest.mark.parametrize("body", ["", '{"Body":', "<html>gateway</html>", '{"Body": {}}', "[]"])
def test_malformed_is_400_recorded_and_changes_nothing(client, user, body):
    """B1/B2: never 500; the raw body is kept as evidence."""
    payment = make_payment(user)
    response = post(client, payment, body)
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
def test_result_code_types(client, user, code, status, http):
    """B3."""
    payment = make_payment(user)
    data = callback_body(payment, code=0)
    data["Body"]["stkCallback"]["ResultCode"] = code
    assert post(client, payment, data).status_code == http
    payment.refresh_from_db()
    assert payment.status == status
    if code == "SFC_IC0003":
        assert payment.result_code == "SFC_IC0003"


def test_body_over_the_cap_is_413_and_not_stored(client, user):
    """B6."""
    payment = make_payment(user)
    data = callback_body(payment)
    data["junk"] = "x" * 40_000
    assert post(client, payment, data).status_code == 413
    assert not CallbackRecord.objects.exists()


def test_checkout_id_of_another_payment_is_an_orphan(client, user):
    """F20: acknowledged, recorded, no state change."""
    payment = make_payment(user)
    response = post(client, payment, callback_body(payment, checkout_id="ws_CO_01012026000000001712345678"))
    assert response.status_code == 200
    assert CallbackRecord.objects.get().outcome == O.ORPHAN
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_extra_fields_are_ignored(client, user):
    """B15."""
    payment = make_payment(user)
    data = callback_body(payment)
    data["Body"]["stkCallback"]["Future"] = {"a": [1, {"b": None}]}
    data["Meta"] = "x"
    assert post(client, payment, data).status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == "paid"


def test_paid_from_another_phone_is_logged_not_blocked(client, user, caplog):
    """B16 (open question Q3): a warning, with the phone masked."""
    payment = make_payment(user)
    assert post(client, payment, callback_body(payment, phone="254799112233")).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.paid_phone == "254799112233"
    logged = dump(caplog)
    assert "phone=2547****2233" in logged and "254799112233" not in logged


class TestIpAllowlist:
    @pytest.fixture(autouse=True)
    def _listed(self, settings):
        settings.DARAJA_CALLBACK_IPS = ["127.0.0.2", "196.201.214.200"]

    def test_enforce_refuses_unlisted_and_stores_nothing(self, client, user, settings):
        """S10."""
        settings.DARAJA_CALLBACK_IP_MODE = "enforce"
        payment = make_payment(user)
        refused = post(client, payment, callback_body(payment), REMOTE_ADDR="127.0.0.9")
        assert refused.status_code == 403 and not CallbackRecord.objects.exists()
        accepted = post(client, payment, callback_body(payment), REMOTE_ADDR="127.0.0.2")
        assert accepted.status_code == 200 and CallbackRecord.objects.get().ip_allowed is True

    def test_log_mode_processes_and_warns(self, client, user, settings, caplog):
        settings.DARAJA_CALLBACK_IP_MODE = "log"
        payment = make_payment(user)
        assert post(client, payment, callback_body(payment), REMOTE_ADDR="127.0.0.9").status_code == 200
        assert CallbackRecord.objects.get().ip_allowed is False
        assert "non-allowlisted" in caplog.text

    def test_forwarded_for_is_trusted_only_through_configured_proxies(self, client, user, settings):
        settings.DARAJA_CALLBACK_IP_MODE = "enforce"
        payment = make_payment(user)
        spoof = {"REMOTE_ADDR": "127.0.0.9", "HTTP_X_FORWARDED_FOR": "196.201.214.200"}
        settings.TRUSTED_PROXY_COUNT = 0
        assert post(client, payment, callback_body(payment), **spoof).status_code == 403
        settings.TRUSTED_PROXY_COUNT = 1
        assert post(client, payment, callback_body(payment), **spoof).status_code == 200
        # a client prepending its own entry cannot push the real hop out of position
        settings.TRUSTED_PROXY_COUNT = 1
        forged = {"REMOTE_ADDR": "127.0.0.9", "HTTP_X_FORWARDED_FOR": "196.201.214.200, 10.9.9.9"}
        assert post(client, payment, callback_body(payment), **forged).status_code == 403


class _Locked:
    """Hold a write lock on the callback table from another connection, the way a long
    migration or a stuck transaction would (SQLite: BEGIN EXCLUSIVE; PostgreSQL: LOCK TABLE)."""

    def __enter__(self):
        settings_dict = connection.settings_dict
        self.normal = dict(settings_dict["OPTIONS"])
        connection.close()
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
        connection.settings_dict["OPTIONS"] = self.normal


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_locked_database_is_503_then_the_resend_succeeds(client, user):
    """F5: nothing is falsely acknowledged; the re-posted callback settles once."""
    payment = make_payment(user, amount=60)
    with _Locked():
        response = post(client, payment, callback_body(payment))
        assert response.status_code == 503
    assert not CallbackRecord.objects.exists() and Payment.objects.get(pk=payment.pk).status == "pending"
    assert post(client, payment, callback_body(payment)).status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == "paid" and LedgerEntry.objects.count() == 1
