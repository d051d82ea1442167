"""The ASGI door for Daraja's callbacks (payments/callback_http.py): the same answers and the
same stored evidence as the Django view, and a fall-through to Django for every request it
cannot answer exactly as Django would (bad Host, plain HTTP under SSL redirect, not POST)."""

import json

import pytest
from channels.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from payments.callback_http import CallbackEndpoint
from payments.callback_url import callback_path, callback_token
from payments.models import CallbackRecord, LedgerEntry, Payment, Wallet
from tests.factories import callback_body, dumps, make_payment

pytestmark = pytest.mark.django_db(transaction=True)


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
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", host),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"businessshortcode", b"174379"),
            *headers,
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    comm = ApplicationCommunicator(app, scope)
    await comm.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await comm.receive_output(timeout=10)
    chunk = await comm.receive_output(timeout=10)
    await comm.wait(timeout=10)
    return start["status"], dict(start["headers"]), chunk.get("body", b"")


def _record_view(record: CallbackRecord) -> dict:
    return {
        "outcome": record.outcome,
        "payment": record.payment_id is not None,
        "remote_ip": record.remote_ip,
        "ip_allowed": record.ip_allowed,
        "headers": record.headers,
        "result_code": record.result_code,
    }


CASES = {
    "success": lambda p: dumps(callback_body(p)).encode(),
    "cancelled": lambda p: dumps(callback_body(p, code=1032)).encode(),
    "malformed": lambda p: b'{"Body": {"stkCallback": {"ResultCode": "x"',
    "amount mismatch": lambda p: dumps(callback_body(p, amount=1)).encode(),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_both_doors_answer_and_record_the_same(client, user, case):
    """The Django view (test client) and the ASGI endpoint on two equal payments: same
    status, same JSON, same stored record, same payment outcome."""
    from asgiref.sync import sync_to_async

    via_django, via_asgi = await sync_to_async(
        lambda: (make_payment(user, amount=40), make_payment(user, amount=40))
    )()
    body_d, body_a = CASES[case](via_django), CASES[case](via_asgi)
    django_response = await sync_to_async(client.post)(
        callback_path(via_django.public_id),
        data=body_d,
        content_type="application/json",
        HTTP_BUSINESSSHORTCODE="174379",
        REMOTE_ADDR="127.0.0.1",
    )
    fallback = Recording()
    status, headers, body = await asgi_post(
        CallbackEndpoint(fallback), callback_path(via_asgi.public_id), body_a
    )
    assert fallback.calls == 0  # answered by the endpoint itself
    assert (status, json.loads(body)) == (django_response.status_code, django_response.json())
    assert headers[b"content-type"] == b"application/json"

    def stored():
        records = {r.payment_id: r for r in CallbackRecord.objects.all()}
        payments = {p.pk: p for p in Payment.objects.filter(pk__in=[via_django.pk, via_asgi.pk])}
        return (
            [_record_view(records[p.pk]) for p in (via_django, via_asgi)],
            [(payments[p.pk].status, payments[p.pk].flagged) for p in (via_django, via_asgi)],
        )

    records, statuses = await sync_to_async(stored)()
    assert records[0] == records[1]
    assert statuses[0] == statuses[1]


async def test_success_through_the_endpoint_settles_once(user):
    from asgiref.sync import sync_to_async

    payment = await sync_to_async(make_payment)(user, amount=75)
    endpoint = CallbackEndpoint(Recording())
    path, body = callback_path(payment.public_id), dumps(callback_body(payment)).encode()
    answers = [await asgi_post(endpoint, path, body) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 200]
    assert json.loads(answers[0][2]) == {"ResultCode": 0, "ResultDesc": "Accepted"}

    def effects():
        return (
            list(CallbackRecord.objects.order_by("pk").values_list("outcome", flat=True)),
            LedgerEntry.objects.count(),
            Wallet.objects.get(user=user).balance,
        )

    assert await sync_to_async(effects)() == (["applied", "duplicate", "duplicate"], 1, 75)


async def test_bad_token_is_404_and_stores_nothing(user):
    from asgiref.sync import sync_to_async

    payment = await sync_to_async(make_payment)(user)
    path = f"/payments/callbacks/{payment.public_id.hex}/{'0' * len(callback_token(payment.public_id))}/"
    status, _, body = await asgi_post(CallbackEndpoint(Recording()), path, b"{}")
    assert status == 404 and json.loads(body) == {"error": "Not found.", "fields": {}}
    assert await sync_to_async(CallbackRecord.objects.count)() == 0


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"host": b"evil.example"},  # Django answers 400 DisallowedHost
        {"method": "GET"},  # Django answers 405
    ],
)
async def test_what_django_must_answer_falls_through(user, request_kwargs):
    from asgiref.sync import sync_to_async

    payment = await sync_to_async(make_payment)(user)
    fallback = Recording()
    status, _, _ = await asgi_post(
        CallbackEndpoint(fallback), callback_path(payment.public_id), b"{}", **request_kwargs
    )
    assert fallback.calls == 1 and status in (400, 405)
    assert await sync_to_async(CallbackRecord.objects.count)() == 0


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
