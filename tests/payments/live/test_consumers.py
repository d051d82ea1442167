"""ws/payments/<id>/ through the real ASGI stack (origin check + session auth + consumer)."""

import asyncio
import json
import threading

import msgpack
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from payments import checkout
from payments.live.broadcast import payment_group_name, status_event
from payments.live.consumers import CLOSE_POLICY, CLOSE_RATE
from payments.live.tickets import ticket_issue, ticket_redeem
from project.asgi import application
from tests.factories import callback_result, make_payment

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def communicator(payment, user=None, origin=ORIGIN):
    cookie = (b"cookie", await database_sync_to_async(session_cookie)(user)) if user else None
    headers = [h for h in (HOST, origin, cookie) if h]
    return WebsocketCommunicator(application, f"/ws/payments/{payment.public_id}/", headers=headers)


@database_sync_to_async
def settle(payment, code=0):
    return checkout.payment_apply_result(
        payment=payment, result=callback_result(payment, code=code), source="callback"
    )


def members(payment) -> set:
    return set(get_channel_layer().groups.get(payment_group_name(payment.public_id), {}))


async def test_snapshot_on_connect_then_push_on_callback(user):
    payment = await database_sync_to_async(make_payment)(user, amount=120)
    ws = await communicator(payment, user)
    connected, _ = await ws.connect()
    assert connected
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "payment.status" and snapshot["snapshot"] is True
    assert snapshot["payment"]["status"] == "pending" and snapshot["payment"]["amount"] == 120
    await settle(payment)
    frame = await ws.receive_json_from(timeout=5)
    assert frame["payment"]["status"] == "paid" and frame["payment"]["receipt"]
    assert frame["payment"]["version"] > snapshot["payment"]["version"]
    assert frame["payment"]["payable"] == {"kind": "wallet", "reference": f"DEP{user.pk}", "balance": 120}
    await ws.disconnect()


async def test_other_user_is_refused_and_hears_nothing(user, other_user):
    """S1."""
    payment = await database_sync_to_async(make_payment)(user)
    ws = await communicator(payment, other_user)
    connected, _ = await ws.connect()
    assert not connected
    assert members(payment) == set()


async def test_anonymous_is_refused(user):
    """S2."""
    payment = await database_sync_to_async(make_payment)(user)
    connected, _ = await (await communicator(payment, None)).connect()
    assert not connected


@pytest.mark.parametrize(
    "origin",
    [
        (b"origin", b"https://evil.example"),
        (b"origin", b"null"),
        None,
        (b"origin", b"http://sub.127.0.0.1"),
        (b"origin", b"http://127.0.0.1:9999"),  # same host, another port
        (b"origin", b"https://127.0.0.1"),  # same host, another scheme
        (b"origin", b"http://127.0.0.1/evil"),  # not an origin at all
    ],
)
async def test_cross_origin_is_refused(user, origin):
    """S4."""
    payment = await database_sync_to_async(make_payment)(user)
    connected, _ = await (await communicator(payment, user, origin=origin)).connect()
    assert not connected and members(payment) == set()


async def test_a_listed_front_end_origin_is_let_in(user, settings):
    settings.PAYMENTS_WS_ALLOWED_ORIGINS = ["https://shop.example:8443"]
    payment = await database_sync_to_async(make_payment)(user)
    listed = await communicator(payment, user, origin=(b"origin", b"https://shop.example:8443"))
    assert (await listed.connect())[0]
    await listed.disconnect()
    other_port = await communicator(payment, user, origin=(b"origin", b"https://shop.example"))
    assert not (await other_port.connect())[0]


async def test_unknown_socket_paths_are_refused_not_crashed(user):
    for path in ("/ws/nope/", "/ws/payments/not-a-uuid/", "/", "/ws/simulator/phone/"):
        ws = WebsocketCommunicator(application, path, headers=[HOST, ORIGIN])
        connected, code = await ws.connect(timeout=5)
        assert not connected and code == 1000  # a clean refusal (Daphne answers 403), no traceback


async def test_staff_may_watch(user):
    from django.contrib.auth import get_user_model

    staff = await database_sync_to_async(get_user_model().objects.create_user)(
        "ops", password="x", is_staff=True
    )
    payment = await database_sync_to_async(make_payment)(user)
    ws = await communicator(payment, staff)
    assert (await ws.connect())[0]
    await ws.disconnect()


async def test_ping_resync_and_unknown_messages(user, other_user):
    """S6: a client cannot pick another group; unknown types change nothing."""
    payment = await database_sync_to_async(make_payment)(user)
    stranger = await database_sync_to_async(make_payment)(other_user)
    ws = await communicator(payment, user)
    await ws.connect()
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=5) == {"type": "pong"}
    await ws.send_json_to({"type": "resync"})
    again = await ws.receive_json_from(timeout=5)
    assert again["snapshot"] and again["payment"]["public_id"] == str(payment.public_id)
    await ws.send_json_to({"type": "subscribe", "payment": str(stranger.public_id)})
    assert (await ws.receive_json_from(timeout=5))["type"] == "error"
    assert members(stranger) == set()
    await ws.disconnect()


async def test_oversize_and_binary_frames_close_the_socket(user):
    """S8."""
    payment = await database_sync_to_async(make_payment)(user)
    ws = await communicator(payment, user)
    await ws.connect()
    await ws.receive_json_from(timeout=5)
    await ws.send_to(text_data="x" * 65536)
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_POLICY}
    ws2 = await communicator(payment, user)
    await ws2.connect()
    await ws2.receive_json_from(timeout=5)
    await ws2.send_to(bytes_data=b"\x00\x01")
    assert await ws2.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_POLICY}
    ws3 = await communicator(payment, user)  # the limit is in bytes: 600 characters of 2 bytes
    await ws3.connect()
    await ws3.receive_json_from(timeout=5)
    await ws3.send_to(text_data='{"type": "ping", "pad": "' + "é" * 600 + '"}')
    assert await ws3.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_POLICY}


async def test_flood_is_closed_with_4029(user, settings):
    """S7."""
    settings.PAYMENTS_WS_MAX_MESSAGES = 20
    payment = await database_sync_to_async(make_payment)(user)
    ws = await communicator(payment, user)
    await ws.connect()
    await ws.receive_json_from(timeout=5)
    for _ in range(21):
        await ws.send_json_to({"type": "ping"})
    outputs = [await ws.receive_output(timeout=5) for _ in range(21)]
    assert outputs[-1] == {"type": "websocket.close", "code": CLOSE_RATE}
    assert all(json.loads(o["text"]) == {"type": "pong"} for o in outputs[:-1])


async def test_per_user_connection_limit(user, settings):
    """S9: the limit is per process; the 3rd socket is refused while two are open."""
    settings.PAYMENTS_WS_MAX_PER_USER = 2
    payment = await database_sync_to_async(make_payment)(user)
    first, second, third = [await communicator(payment, user) for _ in range(3)]
    assert (await first.connect())[0] and (await second.connect())[0]
    assert not (await third.connect())[0]
    await first.disconnect()
    fourth = await communicator(payment, user)
    assert (await fourth.connect())[0]
    await second.disconnect()
    await fourth.disconnect()


async def test_the_limit_holds_for_handshakes_that_arrive_together(user, settings):
    """Twelve handshakes at once for a limit of three: three are accepted (each takes its slot
    before its database read, so they count each other), the rest refused, and a refused or
    closed socket's slot is free again."""
    settings.PAYMENTS_WS_MAX_PER_USER = 3
    payment = await database_sync_to_async(make_payment)(user)
    sockets = [await communicator(payment, user) for _ in range(12)]
    results = await asyncio.gather(*(ws.connect(timeout=10) for ws in sockets))
    accepted = [ws for ws, (connected, _) in zip(sockets, results, strict=True) if connected]
    assert len(accepted) == 3
    for ws in accepted:
        await ws.disconnect()
    again = [await communicator(payment, user) for _ in range(3)]
    assert all([(await ws.connect())[0] for ws in again])
    for ws in again:
        await ws.disconnect()


async def test_a_refused_or_failed_handshake_gives_its_slot_back(user, other_user, settings, monkeypatch):
    """A handshake refused after it took its slot (another customer's payment) and one that
    fails on the way (the database restarting under the snapshot read) both give the slot back:
    afterwards the customer's own page still connects, and no group keeps a dead socket."""
    from django.db import OperationalError

    import payments.live.consumers as consumers

    settings.PAYMENTS_WS_MAX_PER_USER = 2
    mine = await database_sync_to_async(make_payment)(user)
    theirs = await database_sync_to_async(make_payment)(other_user)
    for _ in range(3):
        assert not (await (await communicator(theirs, user)).connect())[0]

    def restarting(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(consumers, "_snapshot", restarting)
    for _ in range(3):
        with pytest.raises(OperationalError):
            await (await communicator(mine, user)).connect()
    monkeypatch.undo()
    assert consumers.PaymentStatusConsumer.open_by_user.get(user.pk) is None
    assert members(mine) == set() and members(theirs) == set()
    sockets = [await communicator(mine, user) for _ in range(2)]
    assert all([(await ws.connect())[0] for ws in sockets])
    for ws in sockets:
        await ws.disconnect()


async def test_group_is_discarded_on_disconnect(user):
    payment = await database_sync_to_async(make_payment)(user)
    ws = await communicator(payment, user)
    await ws.connect()
    assert len(members(payment)) == 1
    await ws.disconnect()
    assert members(payment) == set()


async def test_many_subscribers_receive_only_their_own_update(user):
    """L7 (in-memory layer; the Redis variant is in test_consumers_redis.py)."""
    payments = [await database_sync_to_async(make_payment)(user) for _ in range(20)]
    sockets = [await communicator(p, user) for p in payments]
    from django.test import override_settings

    with override_settings(PAYMENTS_WS_MAX_PER_USER=100):
        for ws in sockets:
            assert (await ws.connect())[0]
            await ws.receive_json_from(timeout=5)
        await asyncio.gather(*(settle(p) for p in payments))
        for p, ws in zip(payments, sockets, strict=True):
            frame = await ws.receive_json_from(timeout=5)
            assert frame["payment"]["public_id"] == str(p.public_id)
            assert await ws.receive_nothing(timeout=0.05)
            await ws.disconnect()


def test_payload_survives_msgpack_like_channels_redis(db, user):
    payment = make_payment(user)
    event = status_event(payment)
    assert msgpack.unpackb(msgpack.packb(event)) == event
    assert json.loads(json.dumps(event)) == event


async def test_a_session_from_before_a_password_change_is_refused(user):
    """The socket's user is decided as for a page: a session whose auth hash no longer matches
    (password changed elsewhere) is anonymous, and a session that names a backend or user that
    is gone is too."""
    payment = await database_sync_to_async(make_payment)(user)
    cookie = await database_sync_to_async(session_cookie)(user)
    headers = [HOST, ORIGIN, (b"cookie", cookie)]

    async def connects() -> bool:
        ws = WebsocketCommunicator(application, f"/ws/payments/{payment.public_id}/", headers=headers)
        connected, _ = await ws.connect()
        await ws.disconnect()
        return connected

    assert await connects()

    @database_sync_to_async
    def change_password():
        user.set_password("a-new-password-9")
        user.save()

    await change_password()
    assert not await connects()
    # several Cookie headers (as HTTP/2 may send them) are read together
    fresh = await database_sync_to_async(session_cookie)(user)
    headers = [HOST, ORIGIN, (b"cookie", b"django_language=sw"), (b"cookie", fresh)]
    assert await connects()


async def test_a_customer_signed_in_before_a_key_rotation_stays_signed_in(user, settings):
    """After SECRET_KEY is rotated (the old key in SECRET_KEY_FALLBACKS, as Django documents),
    a session signed in under the old key still opens its checkout socket, as its pages still
    load, and the socket leaves the session alone (Channels' check flushed it, signing the
    customer out of every page). A session that no configured key made is refused, and the
    socket does not write it either: the next page request does what Django does."""
    from django.contrib.sessions.models import Session

    payment = await database_sync_to_async(make_payment)(user)
    cookie = await database_sync_to_async(session_cookie)(user)
    key = cookie.decode().split("=", 1)[1]
    stored = await database_sync_to_async(lambda: Session.objects.get(pk=key).session_data)()
    ticket = ticket_issue(payment=payment, user=user)

    async def connects() -> bool:
        headers = [HOST, ORIGIN, (b"cookie", cookie)]
        ws = WebsocketCommunicator(application, f"/ws/payments/{payment.public_id}/", headers=headers)
        connected, _ = await ws.connect()
        if connected:
            assert (await ws.receive_json_from(timeout=5))["payment"]["status"] == "pending"
        await ws.disconnect()
        return connected

    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "rotated-" + "r" * 50, [old_key]
    assert await connects()
    unchanged = await database_sync_to_async(
        lambda: Session.objects.filter(pk=key, session_data=stored).exists()
    )()
    assert unchanged
    redeemed = await database_sync_to_async(ticket_redeem)(ticket, public_id=payment.public_id)
    assert redeemed == user  # a front end's ticket from before the rotation opens its socket too

    settings.SECRET_KEY_FALLBACKS = []
    assert not await connects()
    assert await database_sync_to_async(
        lambda: Session.objects.filter(pk=key, session_data=stored).exists()
    )()


async def test_a_push_is_not_held_behind_a_busy_sync_thread(user):
    """Channels' consumers took a turn on asgiref's one process-wide sync thread before every
    frame (mpesa_plumbing/sockets.py): whatever else was queued there (other sockets' turns,
    any ``sync_to_async`` outside a request) held every open checkout's frames behind it."""
    from asgiref.sync import sync_to_async

    payment = await database_sync_to_async(make_payment)(user)
    ws = await communicator(payment, user)
    assert (await ws.connect())[0]
    await ws.receive_json_from(timeout=5)
    event = await database_sync_to_async(status_event)(payment)
    started, release = asyncio.Event(), threading.Event()
    loop = asyncio.get_running_loop()

    def slow_sync_work():
        loop.call_soon_threadsafe(started.set)
        release.wait(timeout=30)

    busy = asyncio.ensure_future(sync_to_async(slow_sync_work)())  # the process-wide sync thread
    try:
        await asyncio.wait_for(started.wait(), timeout=5)
        await get_channel_layer().group_send(payment_group_name(payment.public_id), event)
        frame = await ws.receive_json_from(timeout=2)
        assert frame["payment"]["public_id"] == str(payment.public_id)
        assert not busy.done()  # the frame came while the sync thread was still held
    finally:
        release.set()
        await busy
    await ws.disconnect()
