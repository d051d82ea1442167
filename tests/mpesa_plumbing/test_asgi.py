"""The ASGI wrappers: body cap before Django buffers (B6), access log without tokens."""

import asyncio
import logging
import uuid

import pytest
from asgiref.compatibility import guarantee_single_callable
from channels.db import database_sync_to_async
from channels.testing import ApplicationCommunicator

from mpesa_plumbing.asgi import OriginValidator
from payments.checkout.callback_url import callback_path, callback_token
from project.asgi import application
from tests.factories import make_payment
from tests.helpers.asgi import asgi_scope
from tests.helpers.logs import dump
from tests.payments.live.test_consumers import communicator

pytestmark = pytest.mark.django_db(transaction=True)


def scope(path: str, headers=()) -> dict:
    return asgi_scope("http", path, headers=[(b"content-type", b"application/json"), *headers])


async def send_body(path: str, chunks: list[bytes], headers=()) -> int:
    """Stream ``chunks`` as one request; returns the response status."""
    comm = ApplicationCommunicator(application, scope(path, headers))
    for i, chunk in enumerate(chunks):
        await comm.send_input({"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1})
    start = await comm.receive_output(timeout=10)
    await comm.receive_output(timeout=10)
    await comm.wait(timeout=10)
    return start["status"]


async def test_declared_oversize_is_refused_before_reading():
    status = await send_body("/payments/initiate/", [b"x"], headers=[(b"content-length", b"10000000")])
    assert status == 413


async def test_body_without_content_length_is_cut_off_at_the_cap():
    """A 10 MB stream with no Content-Length: refused once the cap is passed."""
    path = callback_path(uuid.uuid4())
    chunks = [b"x" * 65536] * 160
    assert await send_body(path, chunks) == 413


async def test_understated_content_length_is_measured_not_trusted():
    status = await send_body(
        "/payments/initiate/", [b"y" * 40000, b"y" * 40000], headers=[(b"content-length", b"10")]
    )
    assert status == 413


async def test_access_log_redacts_callback_tokens(caplog):
    caplog.set_level(logging.INFO, logger="mpesa_plumbing.access")
    public_id = uuid.uuid4()
    body = b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 1032}}}'
    status = await send_body(callback_path(public_id), [body])
    assert status == 200  # unknown payment with a valid token: an orphan, acknowledged
    logged = dump(caplog)
    assert callback_token(public_id) not in logged
    assert f"/payments/callbacks/{public_id.hex}/****" in logged
    assert "event=http.access" in logged and "status=200" in logged


async def get(path: str, headers=()) -> tuple[int, dict, bytes]:
    comm = ApplicationCommunicator(application, {**scope(path, headers), "method": "GET"})
    await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await comm.receive_output(timeout=10)
    chunks = []
    while True:  # a file may come in several body messages
        message = await comm.receive_output(timeout=10)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, b"".join(chunks)


async def test_static_files_are_served_without_a_sync_hop():
    status, headers, body = await get("/static/payments/mpesa-checkout.js")
    assert status == 200 and b"StatusStream" in body
    assert headers["content-type"].startswith("text/javascript")
    again, _, empty = await get(
        "/static/payments/mpesa-checkout.js", headers=[(b"if-none-match", headers["etag"].encode())]
    )
    assert (again, empty) == (304, b"")
    assert (await get("/static/frontend/nope.js"))[0] == 404


def test_every_middleware_is_async_capable(settings):
    """One sync-only middleware would push every request (the callback too) through a sync hop."""
    from django.utils.module_loading import import_string

    assert all(getattr(import_string(path), "async_capable", False) for path in settings.MIDDLEWARE)


async def test_a_socket_handshake_is_logged_with_its_outcome(caplog, user):
    """101 for a socket let in, 403 for one refused before accept (here: a foreign origin)."""
    caplog.set_level(logging.INFO, logger="mpesa_plumbing.access")
    payment = await database_sync_to_async(make_payment)(user)
    for origin, outcome in ((b"http://127.0.0.1", 101), (b"http://elsewhere.example", 403)):
        caplog.clear()
        ws = await communicator(payment, user, origin=(b"origin", origin))
        connected, _ = await ws.connect(timeout=5)
        assert connected == (outcome == 101)
        if connected:
            await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        (line,) = [r for r in caplog.records if getattr(r, "event", "") == "ws.handshake"]
        assert line.status == outcome


async def test_the_origin_check_is_an_asgi3_application_on_its_own():
    """asgiref's ``guarantee_single_callable`` (Daphne's) and uvicorn's check take it for a
    single-callable ASGI 3 application although its ``__call__`` is a plain function returning
    the inner one's awaitable."""

    async def inner(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})

    validator = OriginValidator(inner)
    assert asyncio.iscoroutinefunction(validator.__call__)  # uvicorn's test (ASGI 3, not 2)
    app = guarantee_single_callable(validator)
    allowed = asgi_scope("websocket", "/ws/x/", headers=[(b"origin", b"http://127.0.0.1")])
    refused = asgi_scope("websocket", "/ws/x/", headers=[(b"origin", b"http://elsewhere.example")])
    for scope, expected in ((allowed, "websocket.accept"), (refused, "websocket.close")):
        comm = ApplicationCommunicator(app, scope)
        await comm.send_input({"type": "websocket.connect"})
        assert (await comm.receive_output(timeout=5))["type"] == expected
        await comm.send_input({"type": "websocket.disconnect", "code": 1000})
        await comm.wait(timeout=5)
        assert comm.future.done()


def _awaiting(task: asyncio.Task) -> list[str]:
    """The coroutines an open socket's task is suspended in, outermost first."""
    chain, coro = [], task.get_coro()
    while asyncio.iscoroutine(coro):
        chain.append(coro.cr_code.co_qualname)
        coro = coro.cr_await
    return chain


async def test_an_open_socket_keeps_a_frame_only_where_there_is_work_after_it(user):
    """The routers (by protocol, by path) and the consumer's ASGI function hand over their inner
    application's awaitable instead of awaiting it: no frame, scope copy or coroutine of theirs
    is held for an open socket's life. What stays: the access log (it logs when the socket
    ends), the session middleware (it awaited the user's lookup), the consumer and its loop."""
    payment = await database_sync_to_async(make_payment)(user)
    ws = await communicator(payment, user)
    connected, _ = await ws.connect(timeout=5)
    assert connected
    await ws.receive_json_from(timeout=5)
    assert _awaiting(ws.future) == [
        "AccessLog.__call__",
        "SocketAuthMiddleware.__call__",
        "BridgedJsonConsumer.__call__",
        "dispatch_in_turn",
    ]
    await ws.disconnect()
