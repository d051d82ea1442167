"""mpesa_plumbing/under_daphne.py: Daphne's requests are built without Twisted's form parsing
(the live effect, a hostile multipart body refused for next to no CPU, is in
tests/reliability/test_live_limits.py), and sockets opened together are not pinged together."""

import asyncio
import time
from types import SimpleNamespace

import aiohttp
import pytest
from daphne import http_protocol, ws_protocol
from daphne import server as daphne_server
from twisted.web import http
from twisted.web.test.requesthelper import DummyChannel

from mpesa_plumbing.under_daphne import (
    daphne_with_sliced_timeout_checks,
    daphne_with_spread_pings,
    daphne_without_form_parsing,
)
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


class _Connection:
    def __init__(self, n: int, checked: list[int]):
        self.n, self.checked = n, checked

    def check_timeouts(self) -> None:
        self.checked.append(self.n)


def _server(monkeypatch, n: int, checked: list[int], delays: list[float]):
    monkeypatch.setattr(daphne_server, "reactor", SimpleNamespace(callLater=lambda s, _fn: delays.append(s)))
    server = daphne_server.Server.__new__(daphne_server.Server)  # its pass needs only ``connections``
    server.connections = {_Connection(i, checked): {} for i in range(n)}
    return server


def test_daphnes_pass_over_every_connection_runs_in_turns_of_at_most_500(monkeypatch):
    """Daphne checks every connection (timeouts, the ping when due) in one pass every 2 s; now
    in turns of at most 500 spread over the 2 s: each is still checked once per pass, one
    closed during the pass is skipped, and one opened during it waits for the next pass, as
    before."""
    assert daphne_with_sliced_timeout_checks() is True
    checker = daphne_server.Server.timeout_checker
    assert daphne_with_sliced_timeout_checks() is True and daphne_server.Server.timeout_checker is checker
    checked: list[int] = []
    delays: list[float] = []
    server = _server(monkeypatch, 2_500, checked, delays)
    closed = next(c for c in server.connections if c.n == 2_000)
    turns = []
    for turn in range(5):  # 2,500 connections: five turns of 500, 0.4 s apart
        before = len(checked)
        server.timeout_checker()
        turns.append(len(checked) - before)
        if turn == 0:
            del server.connections[closed]
            server.connections[_Connection(99_999, checked)] = {}
    assert turns == [500, 500, 500, 500, 499] and not server.timeout_queue and delays == [0.4] * 5
    assert sorted(checked) == [n for n in range(2_500) if n != 2_000]  # 99,999 opened after it began
    server.timeout_checker()  # the next pass: every connection open now, 99,999 among them
    assert checked[-500:] == list(range(500)) and server.timeout_queue[-1].n == 99_999


@pytest.mark.parametrize(("n", "turns", "delay"), [(0, 1, 2.0), (300, 1, 2.0), (6_000, 10, 0.2)])
def test_a_few_connections_are_one_pass_and_many_at_most_ten_turns(monkeypatch, n, turns, delay):
    """Up to 500 connections it is Daphne's own pass (one turn, 2 s apart); past 5,000 the
    turns stay ten, 0.2 s apart, and grow (a turn costs more than its share of the work)."""
    assert daphne_with_sliced_timeout_checks() is True
    checked: list[int] = []
    delays: list[float] = []
    server = _server(monkeypatch, n, checked, delays)
    for _ in range(turns):
        server.timeout_checker()
    assert sorted(checked) == list(range(n)) and delays == [delay] * turns


@pytest.mark.slow
async def test_a_live_daphne_pings_sockets_opened_together_over_more_than_a_second(tmp_path):
    """A real Daphne (``--ping-interval 4``) and 24 handset sockets opened at once: their first
    pings arrive over more than a second, where Daphne alone sends all of them in one pass,
    within milliseconds."""
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
    assert arrivals[-1] - arrivals[0] > 1.0, arrivals
