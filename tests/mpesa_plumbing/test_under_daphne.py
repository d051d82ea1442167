"""mpesa_plumbing/under_daphne.py: Daphne's requests are built without Twisted's form parsing
(the live effect, a hostile multipart body refused for next to no CPU, is in
tests/reliability/test_live_limits.py)."""

from types import SimpleNamespace

from daphne import http_protocol
from twisted.web import http
from twisted.web.test.requesthelper import DummyChannel

from mpesa_plumbing.under_daphne import daphne_without_form_parsing


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
