"""Live frames in the customer's language: one broadcast, each socket gets its own language
(the shop's cookie, else Accept-Language, else ``?lang=``), in the same frame shape as ever."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import translation

from payments.live.broadcast import payment_status_payload, status_event
from payments.live.language import scope_language
from project.asgi import application
from tests.factories import make_payment
from tests.payments.live.test_consumers import HOST, ORIGIN, session_cookie, settle


async def socket(payment, user, *, cookie: str = "", accept: str = "", query: str = ""):
    cookies = (await database_sync_to_async(session_cookie)(user)).decode() + (
        f"; {cookie}" if cookie else ""
    )
    headers = [HOST, ORIGIN, (b"cookie", cookies.encode())]
    if accept:
        headers.append((b"accept-language", accept.encode()))
    path = f"/ws/payments/{payment.public_id}/" + (f"?{query}" if query else "")
    ws = WebsocketCommunicator(application, path, headers=headers)
    assert (await ws.connect())[0]
    return ws


@pytest.mark.django_db(transaction=True)
async def test_one_broadcast_reaches_a_kiswahili_and_an_english_socket_each_in_its_language(user):
    payment = await database_sync_to_async(make_payment)(user, amount=120)
    swahili = await socket(payment, user, cookie="django_language=sw")
    english = await socket(payment, user, accept="en-GB,en;q=0.9")
    assert (await swahili.receive_json_from(timeout=5))["payment"]["title"] == "Angalia simu yako"
    assert (await english.receive_json_from(timeout=5))["payment"]["title"] == "Check your phone"
    await settle(payment)
    sw_frame = await swahili.receive_json_from(timeout=5)
    en_frame = await english.receive_json_from(timeout=5)
    assert set(sw_frame) == set(en_frame) == {"type", "payment"}  # the frame the page always got
    assert sw_frame["payment"]["title"] == "Imelipwa" and en_frame["payment"]["title"] == "Paid"
    receipt = en_frame["payment"]["receipt"]
    assert sw_frame["payment"]["message"] == f"Malipo yamepokelewa. Risiti ya M-PESA {receipt}."
    assert {k: v for k, v in sw_frame["payment"].items() if k not in ("title", "message")} == {
        k: v for k, v in en_frame["payment"].items() if k not in ("title", "message")
    }
    for ws in (swahili, english):
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_resync_answers_in_the_sockets_language(user):
    payment = await database_sync_to_async(make_payment)(user)
    ws = await socket(payment, user, query="lang=sw")
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "resync"})
    assert (await ws.receive_json_from(timeout=5))["payment"]["message"].startswith("Weka PIN yako ya M-PESA")
    await ws.disconnect()


def scope(*, cookie="", accept="", query=""):
    headers = [(b"cookie", cookie.encode()), (b"accept-language", accept.encode())]
    return {"headers": headers, "query_string": query.encode()}


@pytest.mark.parametrize(
    ("given", "language"),
    [
        ({"cookie": "django_language=sw", "accept": "en"}, "sw"),  # the switch wins over the browser
        ({"cookie": "django_language=en", "accept": "sw"}, "en"),
        ({"accept": "sw-KE,sw;q=0.9,en;q=0.8"}, "sw"),
        ({"accept": "fr-FR,sw;q=0.5"}, "sw"),  # the first language we have
        ({"accept": "fr-FR"}, "en"),
        ({"cookie": "django_language=xx", "accept": "de"}, "en"),
        ({"query": "lang=sw", "cookie": "django_language=en"}, "sw"),  # cross-origin clients say so
        ({"query": "lang=zz"}, "en"),
    ],
)
def test_socket_language_cookie_then_accept_language_then_default(given, language):
    assert scope_language(scope(**given)) == language


def test_the_group_event_holds_every_language_and_survives_json(db, user):
    payment = make_payment(user)
    event = status_event(payment)
    assert event["type"] == "payment.status" and set(event["frames"]) == {"en", "sw"}
    frames = {code: json.loads(text) for code, text in event["frames"].items()}
    assert {frame["type"] for frame in frames.values()} == {"payment.status"}
    assert frames["sw"]["payment"]["title"] == "Angalia simu yako"
    with translation.override("sw"):
        assert payment_status_payload(payment) == frames["sw"]["payment"]
    assert payment_status_payload(payment) == frames["en"]["payment"]
