"""Limits through a real Daphne process (S8's server variant, B6 over the wire)."""

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bench.procstat import cpu_seconds
from tests.helpers.live import App

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("limits"))
    app.server.start()
    yield app
    app.server.stop()


def drain(ws) -> None:
    """Read until the server closes the socket (bounded by recv's timeout)."""
    for _ in range(100):
        ws.recv(timeout=10)


def send_then_drain(ws, frame: str) -> None:
    """Daphne may drop the connection while the frame is still being written (the send itself
    fails) or after reading its header (the next read sees the close)."""
    ws.send(frame)
    drain(ws)


def test_two_megabyte_websocket_frame_is_refused(app):
    """S8: past our 1 KB application limit, and past Daphne's own frame limit."""
    web = app.web(*app.customer())
    created = web.deposit(5, "0711300400").json()
    cookie = "; ".join(f"{k}={v}" for k, v in web.http.cookies.items())
    url = app.url.replace("http", "ws") + created["ws_url"]
    with connect(url, additional_headers={"Cookie": cookie, "Origin": app.url}, max_size=None) as ws:
        assert '"snapshot": true' in ws.recv(timeout=10)
        with pytest.raises(ConnectionClosed) as closed:
            send_then_drain(ws, "x" * (2 * 1024 * 1024))
    assert closed.value.rcvd is None or closed.value.rcvd.code in (1009, 4008)
    assert httpx.get(app.url + "/healthz").status_code == 200  # the server shrugged it off


def test_streamed_ten_megabytes_without_length_is_413(app):
    """B6 over real HTTP: a chunked 10 MB body is cut off at the cap, nothing stored."""

    def body():
        for _ in range(160):
            yield b"x" * 65536

    response = httpx.post(
        app.url + "/payments/callbacks/" + "0" * 32 + "/" + "0" * 32 + "/",
        content=body(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert app.sql("SELECT count(*) FROM payments_callbackrecord")[0][0] == 0


@pytest.mark.parametrize(
    "path", ["/payments/callbacks/" + "0" * 32 + "/" + "0" * 32 + "/", "/accounts/login/"]
)
def test_a_multipart_body_of_many_parts_costs_the_server_no_parsing(app, path):
    """Twisted parses a form POST's body before the application sees it (0.3 s of CPU per MB
    of small parts, on the event loop): under our Daphne it does not, so a hostile 6 MB of
    100,000 parts is refused by the body cap for next to nothing and the server stays live."""
    boundary = "b0undary"
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'.encode()
    body = part * 100_000 + f"--{boundary}--\r\n".encode()
    before = cpu_seconds(app.server.pid)
    response = httpx.post(
        app.url + path,
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )
    used = cpu_seconds(app.server.pid) - before
    assert response.status_code == 413
    assert used < 0.8, f"the server spent {used:.2f} s of CPU on one refused body"
    assert httpx.get(app.url + "/healthz").status_code == 200


def test_a_burst_of_four_hundred_identical_callbacks_is_answered_every_time(app):
    """400 identical callbacks POSTed at once, each on its own connection, three times over:
    every one gets Daraja's answer, exactly one is applied, the wallet is credited once. The
    listen backlog (1024, as `make run` and the Dockerfile start Daphne) keeps the burst in the
    kernel's accept queue rather than on SYN retransmits."""
    import asyncio
    import json
    import uuid

    from payments.checkout.callback_url import callback_path

    web = app.web(*app.customer())

    async def burst(url: str, body: str) -> list:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:

            async def one():
                try:
                    response = await client.post(
                        url, content=body, headers={"Content-Type": "application/json"}
                    )
                    return response.status_code, response.json()
                except httpx.HTTPError as exc:  # a connection closed with no answer lands here
                    return repr(exc), None

            return await asyncio.gather(*(one() for _ in range(400)))

    credited = []
    for round_ in range(3):
        # A phone per round, whose prompt's own callback never comes (the burst is its only
        # answer): the simulator, as Daraja, refuses a second prompt to a phone while its last
        # one is still in process (500.001.1001), which on a busy machine a round outlasted.
        phone = f"25471199000{round_}"
        app.script(phone, result_code=0, lost=True)
        created = web.deposit(7, phone).json()
        assert created["payment"]["status"] == "pending", created
        public_id = uuid.UUID(created["payment"]["public_id"])
        [(checkout_id,)] = app.sql(
            "SELECT checkout_request_id FROM payments_payment WHERE public_id = ?", public_id.hex
        )
        items = [{"Name": "Amount", "Value": 7}, {"Name": "MpesaReceiptNumber", "Value": f"BRST{round_:06d}"}]
        callback = {"CheckoutRequestID": checkout_id, "ResultCode": 0, "ResultDesc": "ok"}
        body = json.dumps({"Body": {"stkCallback": {**callback, "CallbackMetadata": {"Item": items}}}})
        answers = asyncio.run(burst(app.url + callback_path(public_id), body))
        assert answers == [(200, {"ResultCode": 0, "ResultDesc": "Accepted"})] * 400
        outcomes = dict(
            app.sql(
                "SELECT c.outcome, count(*) FROM payments_callbackrecord c JOIN payments_payment p "
                "ON p.id = c.payment_id WHERE p.public_id = ? GROUP BY c.outcome",
                public_id.hex,
            )
        )
        assert outcomes == {"applied": 1, "duplicate": 399}
        credited += app.sql(
            "SELECT l.amount FROM frontend_ledgerentry l JOIN payments_payment p ON p.id = l.payment_id "
            "WHERE p.public_id = ?",
            public_id.hex,
        )
    assert credited == [(7,)] * 3
