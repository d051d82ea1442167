"""Limits through a real Daphne process (S8's server variant, B6 over the wire)."""

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

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


def test_two_megabyte_websocket_frame_is_refused(app):
    """S8: past our 1 KB application limit, and past Daphne's own frame limit."""
    web = app.web(*app.customer())
    created = web.post_json("/payments/initiate/", {"amount": 5, "phone": "0711300400"}).json()
    cookie = "; ".join(f"{k}={v}" for k, v in web.http.cookies.items())
    url = app.url.replace("http", "ws") + created["ws_url"]
    with connect(url, additional_headers={"Cookie": cookie, "Origin": app.url}, max_size=None) as ws:
        assert '"snapshot": true' in ws.recv(timeout=10)
        ws.send("x" * (2 * 1024 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            drain(ws)
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
