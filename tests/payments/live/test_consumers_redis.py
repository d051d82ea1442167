"""The live path on a real redis-server (channels-redis, msgpack): delivery, isolation, and
what happens when Redis dies (F1-F4, L7, the redis-py 8 idle-socket trap)."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from frontend.models import LedgerEntry, Wallet
from payments.models import Payment
from project.layers import channel_layer_config
from tests.factories import callback_body, callback_result, dumps, make_payment
from tests.helpers.asgi import CallbackDoor
from tests.helpers.logs import dump
from tests.payments.live.test_consumers import communicator, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def on_redis(server, **config):
    return override_settings(
        CHANNEL_LAYERS=channel_layer_config(server.url, **config), PAYMENTS_WS_MAX_PER_USER=500
    )


async def test_push_through_redis(redis, user):
    with on_redis(redis):
        payment = await database_sync_to_async(make_payment)(user, amount=33)
        ws = await communicator(payment, user)
        assert (await ws.connect())[0]
        assert (await ws.receive_json_from(timeout=5))["payment"]["status"] == "pending"
        await settle(payment)
        frame = await ws.receive_json_from(timeout=5)
        assert frame["payment"]["status"] == "paid" and frame["payment"]["amount"] == 33
        await ws.disconnect()


async def test_pubsub_layer_works_too(redis, user):
    with on_redis(redis, kind="redis-pubsub"):
        payment = await database_sync_to_async(make_payment)(user)
        ws = await communicator(payment, user)
        assert (await ws.connect())[0]
        await ws.receive_json_from(timeout=5)
        await settle(payment, code=1032)
        assert (await ws.receive_json_from(timeout=5))["payment"]["status"] == "cancelled"
        await ws.disconnect()


async def test_many_subscribers_receive_only_their_own_update(redis, user):
    """L7: 100 sockets, 100 callbacks, each socket hears exactly its own payment."""
    with on_redis(redis):
        payments = [await database_sync_to_async(make_payment)(user) for _ in range(100)]
        sockets = [await communicator(p, user) for p in payments]
        connected = await asyncio.gather(*(ws.connect(timeout=10) for ws in sockets))
        assert all(ok for ok, _ in connected)
        for ws in sockets:
            await ws.receive_json_from(timeout=5)
        for p in payments:
            await settle(p)
        for p, ws in zip(payments, sockets, strict=True):
            frame = await ws.receive_json_from(timeout=5)
            assert frame["payment"]["public_id"] == str(p.public_id)
            assert frame["payment"]["status"] == "paid"
        assert all(await asyncio.gather(*(ws.receive_nothing(timeout=0.1) for ws in sockets)))
        await asyncio.gather(*(ws.disconnect() for ws in sockets))


def test_redis_down_during_callback_still_settles_once(redis_own, user, client, caplog):
    """F1: HTTP 200, paid and credited once, a warning (no traceback to Daraja)."""
    with on_redis(redis_own):
        payment = make_payment(user, amount=80)
        redis_own.kill()

        response = CallbackDoor().callback(payment, dumps(callback_body(payment)))
        assert response.status_code == 200 and response.json()["ResultCode"] == 0
        assert Payment.objects.get(pk=payment.pk).status == "paid"
        assert Wallet.objects.get(user=user).balance == 80 and LedgerEntry.objects.count() == 1
        assert "status push failed" in dump(caplog)


async def test_reconnect_after_redis_restart_gets_the_missed_status(redis_own, user):
    """F2: the push was lost while Redis was down; the snapshot on reconnect has the truth."""
    with on_redis(redis_own):
        payment = await database_sync_to_async(make_payment)(user)
        first = await communicator(payment, user)
        assert (await first.connect())[0]
        await first.receive_json_from(timeout=5)
        redis_own.kill()
        await settle(payment)
        closed = await first.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": 1011}
        redis_own.start()
        second = await communicator(payment, user)
        assert (await second.connect())[0]
        snapshot = await second.receive_json_from(timeout=5)
        assert snapshot["snapshot"] and snapshot["payment"]["status"] == "paid"
        await second.disconnect()


async def test_redis_down_at_connect_refuses_and_status_endpoint_still_works(redis_own, user):
    """F3."""
    with on_redis(redis_own):
        payment = await database_sync_to_async(make_payment)(user)
        redis_own.kill()
        ws = await communicator(payment, user)
        connected, _ = await ws.connect(timeout=5)
        assert not connected

        @database_sync_to_async
        def status():
            from django.test import Client

            c = Client()
            c.force_login(user)
            return c.get(f"/payments/{payment.public_id}/")

        response = await status()
        assert response.status_code == 200 and response.json()["payment"]["status"] == "pending"


async def test_full_channel_drops_pushes_but_resync_tells_the_truth(redis, user):
    """F4: with capacity 1 a flood fills the socket's channel, so the paid push that follows
    is dropped by Redis; the database is right, and a resync shows the truth.

    The flood and the settlement run in another thread while this event loop (which runs the
    consumer's receive loop) is held, so the channel cannot drain in between: the drop is
    certain, not a race."""
    with on_redis(redis, capacity=1):
        payment = await database_sync_to_async(make_payment)(user)
        ws = await communicator(payment, user)
        assert (await ws.connect())[0]
        assert (await ws.receive_json_from(timeout=5))["payment"]["status"] == "pending"
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        from payments.checkout import payment_apply_result
        from payments.live.broadcast import payment_group_name, status_event

        def flood_then_settle():
            layer = get_channel_layer()
            stale = status_event(Payment.objects.get(pk=payment.pk))
            for _ in range(20):
                async_to_sync(layer.group_send)(payment_group_name(payment.public_id), stale)
            payment_apply_result(payment=payment, result=callback_result(payment), source="callback")

        worker = threading.Thread(target=flood_then_settle)
        worker.start()
        worker.join(timeout=30)  # blocks this loop on purpose: nothing is received meanwhile
        assert not worker.is_alive()

        frames = []
        while not await ws.receive_nothing(timeout=0.5):
            frames.append(await ws.receive_json_from(timeout=1))
        # 21 pushes sent; Redis kept what one waiting pop and a capacity of one hold, and the
        # paid push was not among them
        assert 1 <= len(frames) <= 2 and {f["payment"]["status"] for f in frames} == {"pending"}
        stored = await database_sync_to_async(lambda: Payment.objects.get(pk=payment.pk).status)()
        assert stored == "paid"  # the push was lost, the payment was not

        await ws.send_json_to({"type": "resync"})
        snapshot = await ws.receive_json_from(timeout=5)
        assert snapshot["snapshot"] is True and snapshot["payment"]["status"] == "paid"
        await ws.disconnect()


@pytest.mark.slow
async def test_idle_socket_survives_redis_py_socket_timeout(redis, user):
    """performance-notes.md problem 1: with redis-py 8 an idle receiver died after ~5 s unless
    socket_timeout=None. Stay idle 12 s, then a callback must still arrive."""
    with on_redis(redis):
        payment = await database_sync_to_async(make_payment)(user)
        ws = await communicator(payment, user)
        assert (await ws.connect())[0]
        await ws.receive_json_from(timeout=5)
        assert await ws.receive_nothing(timeout=12)
        await settle(payment)
        assert (await ws.receive_json_from(timeout=5))["payment"]["status"] == "paid"
        await ws.disconnect()
