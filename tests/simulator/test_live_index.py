"""The /simulator/ index, live: ws/simulator/pushes/ sends whole rows as pushes are accepted,
decided and their callbacks sent (announced after commit), and catches a page up on resync."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from project.asgi import application
from simulator.delivery import deliver_due
from simulator.models import SimPush

pytestmark = pytest.mark.django_db(transaction=True)
HEADERS = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
HANDSET_PHONE = "254712300500"


async def open_index(headers=HEADERS):
    communicator = WebsocketCommunicator(application, "/ws/simulator/pushes/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


async def rows_frame(communicator) -> dict:
    frame = await communicator.receive_json_from(timeout=3)
    assert frame["type"] == "rows"
    return frame


def html_of(frame: dict, push_id: int) -> str:
    [html] = [row["html"] for row in frame["rows"] if row["id"] == push_id]
    return html


async def test_a_new_push_and_its_callback_reach_an_open_index(daraja, receiver, settings):
    settings.SIMULATOR_CALLBACK_DELAY_SECONDS = 0
    index, connected = await open_index()
    assert connected
    checkout_id = await sync_to_async(daraja.accepted)("254700001032", Amount=2400)
    push = await SimPush.objects.aget(checkout_request_id=checkout_id)
    accepted = await rows_frame(index)  # accepted and decided in one transaction: one frame
    row = html_of(accepted, push.pk)
    assert checkout_id in row and "KES 2,400" in row and "1032: Request cancelled by user" in row
    assert "callback scheduled" in row
    assert accepted["total"] == 1
    assert await index.receive_nothing(timeout=0.3)

    await sync_to_async(deliver_due)()
    sent = await rows_frame(index)
    assert "callback sent 200" in html_of(sent, push.pk)
    assert receiver.codes() == [1032]
    await index.disconnect()


async def test_a_push_waiting_on_a_handset_shows_waiting_then_its_answer(daraja, receiver):
    handset = WebsocketCommunicator(application, f"/ws/simulator/phone/{HANDSET_PHONE}/", headers=HEADERS)
    await handset.connect()
    await handset.receive_json_from(timeout=3)
    index, _ = await open_index()
    checkout_id = await sync_to_async(daraja.accepted)(HANDSET_PHONE)
    push = await SimPush.objects.aget(checkout_request_id=checkout_id)
    assert ">waiting<" in html_of(await rows_frame(index), push.pk)
    await handset.receive_json_from(timeout=3)  # the prompt
    await handset.send_json_to({"type": "wrong_pin", "checkout_request_id": checkout_id})
    decided = html_of(await rows_frame(index), push.pk)
    assert "2001: The initiator information is invalid." in decided and "handset:wrong_pin" in decided
    await sync_to_async(deliver_due)()
    assert "callback sent 200" in html_of(await rows_frame(index), push.pk)
    await handset.disconnect()
    await index.disconnect()


async def test_resync_catches_a_page_up(daraja):
    first = await sync_to_async(daraja.accepted)("254700000000")
    second = await sync_to_async(daraja.accepted)("254700000001")
    first_id = (await SimPush.objects.aget(checkout_request_id=first)).pk
    second_id = (await SimPush.objects.aget(checkout_request_id=second)).pk
    index, _ = await open_index()
    # A page rendered with only the first push: it asks for its row and anything newer.
    await index.send_json_to({"type": "resync", "after": first_id, "ids": [first_id]})
    frame = await rows_frame(index)
    assert [row["id"] for row in frame["rows"]] == [second_id, first_id]
    assert second in html_of(frame, second_id) and frame["total"] == 2
    # A later page (no "after"): only the rows it shows.
    await index.send_json_to({"type": "resync", "after": None, "ids": [first_id]})
    assert [row["id"] for row in (await rows_frame(index))["rows"]] == [first_id]
    await index.send_json_to({"type": "ping"})
    assert await index.receive_json_from(timeout=3) == {"type": "pong"}
    await index.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "resync", "ids": "1,2"},
        {"type": "resync", "ids": [True]},
        {"type": "resync", "ids": [-1]},
        {"type": "resync", "ids": list(range(1, 42))},
        {"type": "resync", "after": "5"},
        {"type": "subscribe"},
        [1, 2],
    ],
)
async def test_frames_it_does_not_understand_get_an_error(frame):
    index, _ = await open_index()
    await index.send_json_to(frame)
    assert (await index.receive_json_from(timeout=3))["type"] == "error"
    await index.disconnect()


async def test_oversized_or_binary_frames_close_the_socket():
    index, _ = await open_index()
    await index.send_to(text_data="x" * 4096)
    assert (await index.receive_output(timeout=3))["code"] == 4008
    index, _ = await open_index()
    await index.send_to(bytes_data=b"{}")
    assert (await index.receive_output(timeout=3))["code"] == 4008


async def test_foreign_origin_is_refused():
    _, connected = await open_index([(b"host", b"127.0.0.1"), (b"origin", b"http://evil.example")])
    assert not connected


async def test_a_c2b_payment_and_its_callbacks_reach_an_open_index(daraja, c2b_receiver, settings):
    """C2B payments come as c2b_rows frames: made (waiting for validation), then each POST."""
    from simulator.c2b_delivery import c2b_deliver_due
    from simulator.models import SimC2BPayment

    settings.SIMULATOR_C2B_DELAY_SECONDS = 0
    await sync_to_async(daraja.register)(
        ConfirmationURL=c2b_receiver.confirmation_url, ValidationURL=c2b_receiver.validation_url
    )
    index, _ = await open_index()
    await sync_to_async(daraja.simulate)(BillRefNumber="INV-55", Amount=2400)
    payment = await SimC2BPayment.objects.aget()
    made = await index.receive_json_from(timeout=3)
    assert made["type"] == "c2b_rows" and made["total"] == 1
    [row] = [r["html"] for r in made["rows"] if r["id"] == payment.pk]
    assert payment.trans_id in row and "600984 · INV-55" in row and "KES 2,400" in row
    assert "waiting for the validation answer" in row and "validation scheduled" in row
    await sync_to_async(c2b_deliver_due)()
    await sync_to_async(c2b_deliver_due)()
    seen = ""
    for _ in range(4):  # the validation's answer, then the confirmation's (maybe in one frame)
        frame = await index.receive_json_from(timeout=3)
        seen = next(r["html"] for r in frame["rows"] if r["id"] == payment.pk)
        if "confirmation sent 200" in seen:
            break
    assert "completed: validation accepted" in seen and "validation sent 200" in seen
    await index.send_json_to({"type": "resync", "after": 0, "ids": [], "c2b_after": 0, "c2b_ids": []})
    assert (await index.receive_json_from(timeout=3))["type"] == "rows"
    caught_up = await index.receive_json_from(timeout=3)
    assert caught_up["type"] == "c2b_rows" and [r["id"] for r in caught_up["rows"]] == [payment.pk]
    await index.disconnect()
