"""The virtual handset over WebSockets: prompts wait for the person while the page is open."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from project.asgi import application
from simulator.delivery import deliver_due
from simulator.models import SimHandsetSession, SimPush

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "254712300400"
ORIGIN = (b"origin", b"http://127.0.0.1")


async def open_handset(msisdn: str = PHONE, origin=ORIGIN):
    headers = [(b"host", b"127.0.0.1"), origin]
    communicator = WebsocketCommunicator(application, f"/ws/simulator/phone/{msisdn}/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


async def frames(communicator, n: int) -> list[dict]:
    return [await communicator.receive_json_from(timeout=3) for _ in range(n)]


@pytest.mark.parametrize("msisdn", ["0712345678", "2547123004001", "25471230040", "abc", "255712300400"])
async def test_invalid_msisdn_is_refused(msisdn):
    communicator, connected = await open_handset(msisdn)
    assert not connected
    assert not await SimHandsetSession.objects.aexists()


async def test_foreign_origin_is_refused():
    communicator, connected = await open_handset(origin=(b"origin", b"http://evil.example"))
    assert not connected


async def test_connect_sends_a_snapshot_and_marks_presence():
    communicator, connected = await open_handset()
    assert connected
    snapshot = await communicator.receive_json_from(timeout=3)
    assert snapshot == {
        "type": "snapshot",
        "msisdn": PHONE,
        "prompts": [],
        "payments": [],
        "shop": "Duka Demo Shop",
    }
    assert await SimHandsetSession.objects.filter(msisdn=PHONE).acount() == 1
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=3) == {"type": "pong"}
    await communicator.disconnect()
    assert not await SimHandsetSession.objects.aexists()


@pytest.mark.parametrize(
    ("answer", "pin", "code"),
    [("pay", "1234", 0), ("pay", "0000", 0), ("wrong_pin", "", 2001), ("cancel", "", 1032)],
)
async def test_prompt_waits_for_the_person(daraja, receiver, answer, pin, code):
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    checkout_id = await sync_to_async(daraja.accepted)(PHONE, Amount=75, AccountReference="ORD42")
    prompt = await communicator.receive_json_from(timeout=3)
    assert prompt["type"] == "prompt"
    assert prompt["prompt"]["checkout_request_id"] == checkout_id
    assert (prompt["prompt"]["amount"], prompt["prompt"]["account_reference"]) == (75, "ORD42")
    assert (prompt["prompt"]["shop"], prompt["prompt"]["shortcode"]) == ("Duka Demo Shop", "174379")
    push = await SimPush.objects.aget(checkout_request_id=checkout_id)
    assert (push.result_code, push.plan_source) == ("", "handset")
    assert not await push.deliveries.aexists()  # nothing happens until the person answers
    assert (await sync_to_async(daraja.query)(checkout_id)).json()["ResultCode"] == "4999"

    await communicator.send_json_to({"type": answer, "checkout_request_id": checkout_id, "pin": pin})
    got = {f["type"]: f for f in await frames(communicator, 2)}
    assert got["answered"]["result_code"] == str(code)
    assert (got["closed"]["checkout_request_id"], got["closed"]["reason"]) == (checkout_id, answer)
    await sync_to_async(deliver_due)()
    assert receiver.codes() == [code]
    assert (await sync_to_async(daraja.query)(checkout_id)).json()["ResultCode"] == str(code)
    await communicator.disconnect()


@pytest.mark.parametrize("pin", ["", "12", "abcd", "12345"])
async def test_pay_needs_a_four_digit_pin(daraja, pin):
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    checkout_id = await sync_to_async(daraja.accepted)(PHONE)
    await communicator.receive_json_from(timeout=3)
    await communicator.send_json_to({"type": "pay", "checkout_request_id": checkout_id, "pin": pin})
    error = await communicator.receive_json_from(timeout=3)
    assert error["type"] == "error"
    assert "PIN" in error["error"]
    assert (await SimPush.objects.aget()).result_code == ""
    await communicator.disconnect()


async def test_ignored_prompt_times_out_with_1037(daraja, receiver, time_machine, settings):
    settings.SIMULATOR_PIN_WINDOW_SECONDS = 30
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    checkout_id = await sync_to_async(daraja.accepted)(PHONE)
    await communicator.receive_json_from(timeout=3)
    push = await SimPush.objects.aget()
    time_machine.move_to(push.created_at + timedelta(seconds=29.9), tick=False)
    assert await sync_to_async(deliver_due)() == 0
    time_machine.move_to(push.created_at + timedelta(seconds=30), tick=False)
    await sync_to_async(deliver_due)()
    assert receiver.codes() == [1037]
    closed = await communicator.receive_json_from(timeout=3)
    assert (closed["type"], closed["result_code"], closed["reason"]) == ("closed", "1037", "timeout")
    await communicator.send_json_to({"type": "pay", "checkout_request_id": checkout_id, "pin": "1234"})
    late = await communicator.receive_json_from(timeout=3)
    assert (late["type"], late["error"]) == ("error", "This prompt is no longer open.")
    await communicator.disconnect()


async def test_query_settles_an_expired_prompt_itself(daraja, time_machine, settings):
    settings.SIMULATOR_PIN_WINDOW_SECONDS = 30
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    checkout_id = await sync_to_async(daraja.accepted)(PHONE)
    push = await SimPush.objects.aget()
    time_machine.move_to(push.created_at + timedelta(seconds=31), tick=False)
    token = await sync_to_async(daraja.token)(fresh=True)
    assert (await sync_to_async(daraja.query)(checkout_id, token=token)).json()["ResultCode"] == "1037"
    await communicator.disconnect()


async def test_reconnecting_page_gets_open_prompts_in_its_snapshot(daraja):
    first, _ = await open_handset()
    await first.receive_json_from(timeout=3)
    checkout_id = await sync_to_async(daraja.accepted)(PHONE)
    await first.disconnect()
    second, _ = await open_handset()
    snapshot = await second.receive_json_from(timeout=3)
    assert [p["checkout_request_id"] for p in snapshot["prompts"]] == [checkout_id]
    await second.disconnect()


async def test_without_a_page_the_rules_decide_again(daraja, settings):
    communicator, _ = await open_handset("254700001032")
    await communicator.receive_json_from(timeout=3)
    await communicator.disconnect()
    await sync_to_async(daraja.accepted)("254700001032")
    assert (await SimPush.objects.aget()).result_code == "1032"


async def test_a_silent_page_stops_counting_as_open(daraja, settings):
    settings.SIMULATOR_HANDSET_TTL_SECONDS = 30
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    session = await SimHandsetSession.objects.aget()
    session.last_seen -= timedelta(seconds=31)  # no heartbeat for longer than the TTL
    await session.asave()
    await sync_to_async(daraja.accepted)(PHONE)
    assert (await SimPush.objects.aget()).plan_source == "default"
    await communicator.disconnect()


async def test_oversized_or_binary_frames_close_the_socket():
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    await communicator.send_to(text_data="x" * 2048)
    assert (await communicator.receive_output(timeout=3))["code"] == 4008
    await communicator.disconnect()


async def test_unknown_frames_get_an_error():
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    await communicator.send_json_to({"type": "subscribe", "phone": "254700000000"})
    assert (await communicator.receive_json_from(timeout=3))["type"] == "error"
    await communicator.send_json_to({"type": "pay"})
    assert "checkout_request_id" in (await communicator.receive_json_from(timeout=3))["error"]
    await communicator.disconnect()


async def test_control_fire_closes_the_prompt_on_the_page(daraja, receiver, client):
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    checkout_id = await sync_to_async(daraja.accepted)(PHONE)
    await communicator.receive_json_from(timeout=3)
    fired = await sync_to_async(client.post)(
        f"/simulator/control/pushes/{checkout_id}/fire/",
        {"result_code": 1032},
        content_type="application/json",
    )
    assert fired.status_code == 200
    closed = await communicator.receive_json_from(timeout=3)
    assert (closed["type"], closed["result_code"], closed["reason"]) == ("closed", "1032", "control")
    await sync_to_async(deliver_due)()
    assert receiver.codes() == [1032]
    await communicator.disconnect()


async def test_resync_is_a_heartbeat_and_a_fresh_snapshot(daraja, settings):
    communicator, _ = await open_handset()
    await communicator.receive_json_from(timeout=3)
    checkout_id = await sync_to_async(daraja.accepted)(PHONE)
    await communicator.receive_json_from(timeout=3)
    session = await SimHandsetSession.objects.aget()
    session.last_seen -= timedelta(seconds=20)
    await session.asave()
    await communicator.send_json_to({"type": "resync"})
    snapshot = await communicator.receive_json_from(timeout=3)
    assert [p["checkout_request_id"] for p in snapshot["prompts"]] == [checkout_id]
    refreshed = await SimHandsetSession.objects.aget()
    assert refreshed.last_seen > session.last_seen
    await communicator.disconnect()
