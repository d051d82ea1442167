"""S19: a whole flow logged at DEBUG leaks no secret, token or full phone number."""

import base64
import json
import logging

import pytest

from payments.checkout.callback_url import callback_token
from payments.checkout.reconcile import payment_reconcile
from payments.models import Payment
from tests.factories import callback_body, deposit_body, dumps
from tests.helpers.asgi import CallbackDoor
from tests.helpers.fake_daraja import accept_pushes
from tests.helpers.logs import dump

pytestmark = pytest.mark.django_db


def test_full_flow_at_debug_leaks_nothing(auth_client, daraja, settings, caplog, user):
    caplog.set_level(logging.DEBUG)
    pushes = accept_pushes(daraja)
    daraja.server.expect_request("/mpesa/stkpushquery/v1/query").respond_with_json(
        {"ResponseCode": "0", "ResultCode": "4999", "ResultDesc": "The transaction is still under processing"}
    )
    response = auth_client.post(
        "/payments/initiate/",
        data=json.dumps(deposit_body(user, 10, "0712345678")),
        content_type="application/json",
    )
    payment = Payment.objects.get(public_id=response.json()["payment"]["public_id"])
    payment_reconcile(payment)
    bad = dict(callback_body(payment))
    CallbackDoor().callback(payment, dumps(bad))
    CallbackDoor().callback(payment, "{broken")

    logged = dump(caplog)
    token = daraja.requests("/mpesa/stkpush/v1/processrequest")[0].headers["Authorization"].split()[1]
    basic = base64.b64encode(
        f"{settings.DARAJA_CONSUMER_KEY}:{settings.DARAJA_CONSUMER_SECRET}".encode()
    ).decode()
    secrets = {
        "consumer key": settings.DARAJA_CONSUMER_KEY,
        "consumer secret": settings.DARAJA_CONSUMER_SECRET,
        "passkey": settings.DARAJA_PASSKEY,
        "STK Password": pushes[0]["Password"],
        "bearer token": token,
        "basic auth": basic,
        "callback token": callback_token(payment.public_id),
        "full phone": "254712345678",
        "local phone": "0712345678",
    }
    assert len(caplog.records) > 5  # the flow did log
    leaks = [name for name, value in secrets.items() if value in logged]
    assert leaks == []
    assert "2547****5678" in logged


def test_json_formatter_and_mask_filter():
    from mpesa_plumbing.logs import JsonFormatter, MaskSensitiveFilter

    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "paid by %s with Bearer abc123", ("254712345678",), None
    )
    record.event, record.payment = "payment.paid", "abc"
    assert MaskSensitiveFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "paid by 2547****5678 with Bearer [redacted]"
    assert (line["event"], line["payment"], line["level"]) == ("payment.paid", "abc", "INFO")
