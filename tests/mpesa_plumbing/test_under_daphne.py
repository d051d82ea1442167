"""mpesa_plumbing/under_daphne.py: Daphne's requests are built without Twisted's form parsing
(the live effect, a hostile multipart body refused for next to no CPU, is in
tests/reliability/test_live_limits.py), and sockets opened together are not pinged together."""

import asyncio
import itertools
import time
from types import SimpleNamespace

import aiohttp
import pytest
from daphne import http_protocol, ws_protocol
from twisted.web import http
from twisted.web.test.requesthelper import DummyChannel

from mpesa_plumbing.under_daphne import daphne_with_spread_pings, daphne_without_form_parsing
from tests.helpers.live import App


def _daphne_request():
    channel = DummyChannel()
    channel.factory = SimpleNamespace(server=SimpleNamespace(protocol_connected=lambda request: None))
    return http_protocol.WebRequest(channel)


def test_daphnes_requests_skip_form_parsing_once_and_for_all():
    assert daphne_without_form_parsing() is True
    patched = http_protocol.WebRequest
    assert daphne_without_form_parsing() is True and http_protocol.WebRequest is patched  # once
    request = _daphne_request()
    assert isinstance(request, http.Request) and request._parsePOSTFormSubmission is False
    # Still Daphne's request: its own attributes are set by its constructor.
    assert request.application_queue is None and request.server is request.channel.factory.server


def test_a_form_post_leaves_the_body_unparsed_for_the_application():
    """Twisted's own parse, run on the request as Daphne receives it: no arguments parsed,
    the body kept whole for Django."""
    daphne_without_form_parsing()
    request = _daphne_request()
    request.process = lambda: None  # Daphne's hand-off to the application is not under test
    body = b"a=1&b=2"
    request.gotLength(len(body))
    request.handleContentChunk(body)
    request.requestHeaders.setRawHeaders(b"content-type", [b"application/x-www-form-urlencoded"])
    request.requestReceived(b"POST", b"/accounts/login/", b"HTTP/1.1")
    assert request.args == {}
    request.content.seek(0)
    assert request.content.read() == body


def _opened_sockets(n: int, ping_interval: float, now: float) -> list:
    """``n`` of Daphne's WebSocket protocols (the class the factory builds) opened at ``now``,
    with what Daphne's ``onConnect`` sets before ``onOpen``."""
    protocols = []
    for _ in range(n):
        protocol = ws_protocol.WebSocketFactory.protocol()
        protocol.server = SimpleNamespace(ping_interval=ping_interval, log_action=lambda *args: None)
        protocol.request, protocol.client_addr, protocol.last_ping = SimpleNamespace(path="/ws/x/"), None, now
        protocol.onOpen()
        protocols.append(protocol)
    return protocols


def test_sockets_opened_together_are_first_pinged_across_the_interval():
    """Daphne pings a socket once ``now - last_ping > ping_interval``, from a pass every 2 s:
    200 sockets opened at one moment now fall due in every 2-second slice of the interval
    instead of all in the same pass, and none later than Daphne would have pinged it."""
    assert daphne_with_spread_pings() is True
    patched = ws_protocol.WebSocketFactory.protocol
    assert daphne_with_spread_pings() is True and ws_protocol.WebSocketFactory.protocol is patched  # once
    assert issubclass(patched, ws_protocol.WebSocketProtocol)
    now = time.time()
    due_in = [p.last_ping + 20 - now for p in _opened_sockets(200, 20, now)]
    assert all(0 <= seconds <= 20 for seconds in due_in)
    assert {int(seconds // 2) for seconds in due_in} == set(range(10))


@pytest.mark.slow
async def test_a_live_daphne_pings_sockets_opened_together_in_different_passes(tmp_path):
    """A real Daphne (``--ping-interval 4``, its pass every 2 s) and 24 handset sockets opened
    at once: their first pings arrive in more than one pass, where Daphne alone sends all of
    them in one."""
    app = App(tmp_path)
    app.server.args[-1:-1] = ["--ping-interval", "4", "--ping-timeout", "30"]
    loop = asyncio.get_running_loop()

    async def first_ping(session: aiohttp.ClientSession, n: int) -> float:
        url = f"{app.url}/ws/simulator/phone/2547000001{n:02d}/".replace("http", "ws", 1)
        async with session.ws_connect(url, autoping=False, origin=app.url) as ws:
            async with asyncio.timeout(15):
                while (message := await ws.receive()).type != aiohttp.WSMsgType.PING:
                    assert message.type == aiohttp.WSMsgType.TEXT, message  # the snapshot
            return loop.time()

    try:
        app.server.start()  # inside: a server that never came up is stopped too
        async with aiohttp.ClientSession() as session:
            arrivals = sorted(await asyncio.gather(*(first_ping(session, n) for n in range(24))))
    finally:
        app.server.stop()
    passes = 1 + sum(later - earlier > 1.0 for earlier, later in itertools.pairwise(arrivals))
    assert passes >= 2, arrivals
