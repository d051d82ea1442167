"""What the engine changes in Daphne when it serves the application: three things.

- ``daphne_without_form_parsing``: Twisted's HTTP request parses every POST body with a form
  content type into ``request.args`` (``parsePOSTFormSubmission``, on by default) before
  Daphne hands the body, unparsed, to the ASGI application, which is the only reader (Django
  parses forms itself). Daphne never reads ``request.args``, so that parse is pure cost, and it
  runs on the event loop before any of our limits can see the request: a multipart body of
  many small parts stalls every socket of the process (about 0.3 s of CPU per megabyte here),
  and every other POST pays for parsing its Content-Type with the ``email`` package. Daphne's
  requests are built with the parse off (Twisted's own constructor argument).
- ``daphne_with_spread_pings``: Daphne pings a socket ``--ping-interval`` (20 s) after it
  opened and then every interval, from one pass over every connection every 2 s. Sockets that
  opened together (every customer reconnecting after a deploy, the bench's sockets) are pinged
  together, in the same pass, every interval for as long as they stay open: a burst of
  thousands of frames that stalls the event loop, and every callback behind it (the bench's
  75/s rung, about 20 s after its sockets opened, had its p99 at 20–180 ms in every run under
  Daphne and never under uvicorn, whose pings run on a timer per connection). A socket's first
  ping now comes at a random moment of its first interval, so the pings of sockets opened
  together spread over the interval's passes and stay spread.

- ``daphne_with_sliced_timeout_checks``: that pass (every connection's timeouts, and its ping
  when due) walks every connection at once, on the event loop: with 5,000 sockets some tens of
  milliseconds every 2 s, in which every callback waits (the 5,000-socket rows' p99 in ``make
  bench``, 37-58 ms). It now walks at most 500 of them per turn, the turns spread over the
  2 s (5,000 sockets: ten turns of 500, 0.2 s apart): each connection is checked as often, and
  the loop never stops for long.

Each changes Daphne's class wherever Daphne is imported (``daphne`` in ``INSTALLED_APPS``
imports it in every process that sets Django up); other servers (uvicorn) never use those
classes, and without Daphne imported each does nothing.
"""

import collections
import inspect
import random
import sys

DAPHNE_CHECK_SECONDS = 2.0  # Daphne's Server.timeout_checker: one pass every 2 s


def daphne_without_form_parsing() -> bool:
    """Make Daphne build its requests with Twisted's form parsing off (once per process).
    True when Daphne's request class now skips it; False when Daphne is not imported or its
    Twisted has no such switch."""
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None:
        return False
    request_class = http_protocol.WebRequest
    if getattr(request_class, "skips_form_parsing", False):
        return True
    from twisted.web import http

    if "parsePOSTFormSubmission" not in inspect.signature(http.Request.__init__).parameters:
        return False  # a Twisted without the switch: its default behaviour stays

    class WebRequestWithoutFormParsing(request_class):
        skips_form_parsing = True

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("parsePOSTFormSubmission", False)
            super().__init__(*args, **kwargs)

    # Daphne's HTTPFactory.buildProtocol looks the name up at each connection.
    http_protocol.WebRequest = WebRequestWithoutFormParsing
    return True


def daphne_with_spread_pings() -> bool:
    """Make Daphne ping each socket first at a random moment of its first ``--ping-interval``
    (once per process). True when Daphne's WebSocket protocol now does; False when Daphne is
    not imported."""
    ws_protocol = sys.modules.get("daphne.ws_protocol")
    if ws_protocol is None:
        return False
    factory = ws_protocol.WebSocketFactory
    if getattr(factory.protocol, "spreads_pings", False):
        return True

    class WebSocketProtocolSpreadingPings(factory.protocol):
        spreads_pings = True

        def onOpen(self):
            super().onOpen()
            # Daphne pings once now - last_ping > ping_interval: this socket's first ping falls
            # anywhere in its first interval, the later ones an interval apart after it.
            self.last_ping -= random.uniform(0, self.server.ping_interval)

    # Twisted's Factory.buildProtocol instantiates ``factory.protocol`` at each connection.
    factory.protocol = WebSocketProtocolSpreadingPings
    return True


def daphne_with_sliced_timeout_checks(per_turn: int = 500, most_turns: int = 10) -> bool:
    """Make Daphne's pass over every connection (timeouts, keepalive pings), every 2 s, run in
    turns of at most ``per_turn`` connections, spread over the 2 s (once per process): each
    connection is still checked about every 2 s. At most ``most_turns`` turns (a turn costs
    more than its share of the work: Performance in the README), so up to ``per_turn``
    connections it is Daphne's one pass. True when Daphne's server now does; False when Daphne
    is not imported or its server has no such pass."""
    server_module = sys.modules.get("daphne.server")
    if server_module is None or not hasattr(server_module.Server, "timeout_checker"):
        return False
    server_class = server_module.Server
    if getattr(server_class, "slices_timeout_checks", False):
        return True

    def timeout_checker(self) -> None:
        queue = self.__dict__.get("timeout_queue")
        if not queue:  # a pass starts: every connection open now, in turns
            queue = self.timeout_queue = collections.deque(self.connections)
            turns = min(most_turns, max(1, -(-len(queue) // per_turn)))
            self.timeout_slice, self.timeout_turn_s = -(-len(queue) // turns), DAPHNE_CHECK_SECONDS / turns
        for _ in range(min(self.timeout_slice, len(queue))):
            protocol = queue.popleft()
            if protocol in self.connections:  # not closed since the pass started
                protocol.check_timeouts()
        server_module.reactor.callLater(self.timeout_turn_s, self.timeout_checker)

    server_class.timeout_checker = timeout_checker
    server_class.slices_timeout_checks = True
    return True
