"""What the engine changes in Daphne when it serves the application: one thing.

Twisted's HTTP request parses every POST body with a form content type into ``request.args``
(``parsePOSTFormSubmission``, on by default) before Daphne hands the body, unparsed, to the
ASGI application, which is the only reader (Django parses forms itself). Daphne never reads
``request.args``, so that parse is pure cost, and it runs on the event loop before any of our
limits can see the request: a multipart body of many small parts stalls every socket of the
process (about 0.3 s of CPU per megabyte here), and every other POST pays for parsing its
Content-Type with the ``email`` package. ``daphne_without_form_parsing`` builds Daphne's
requests with the parse off (Twisted's own constructor argument). It changes Daphne's request
class wherever Daphne is imported (``daphne`` in ``INSTALLED_APPS`` imports it in every process
that sets Django up); other servers (uvicorn) never use that class, and without Daphne
imported it does nothing.
"""

import inspect
import sys


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
