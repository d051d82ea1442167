"""Structured logs: one JSON object per event (python-json-logger), with phone numbers and
secrets masked by a filter on the handler, and ``mask_phone`` for code that logs a number.
``SimulatedFaultFilter`` keeps the simulator's deliberate Daraja errors out of the error log."""

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

_PHONE = re.compile(r"(?<![\d*])(254[17]|0[17])\d{4}(\d{4})(?!\d)")
_SECRETS = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9+/=._\-]+|(\"?password\"?\s*[:=]\s*\"?)[^\",\s]+")


def mask_phone(phone: str) -> str:
    """``254712345678`` → ``2547****5678``: safe for logs and pages."""
    if not phone:
        return ""
    return phone[:4] + "*" * max(0, len(phone) - 8) + phone[-4:] if len(phone) > 8 else "****"


def mask_text(text: str) -> str:
    """Phone numbers and credentials in free text (log messages, raw callback bodies)."""
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _SECRETS.sub(lambda m: (m.group(1) or m.group(2) or "") + " [redacted]", text)


class MaskSensitiveFilter(logging.Filter):
    """Safety net at the handler: code logs masked phones already (``mask_phone``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


def _json_default(value) -> str:
    """Dates and times in ISO 8601 (``2026-12-01T23:37:27.928448+00:00``: a ``T``, never the
    space of ``str(datetime)``); anything else JSON cannot hold as its ``str``."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


class JsonFormatter(_JsonFormatter):
    """``{"time", "level", "logger", "message", …extra fields, "exc"}``; time in ISO 8601 (UTC
    with its offset); values JSON cannot hold are written as their ``str``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "exc_info": "exc"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("json_default", _json_default)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)


# The simulator's Daraja endpoints (simulator/urls.py): every error they answer is on purpose.
SIMULATED_DARAJA_URL_NAMES = frozenset(
    {"oauth", "stk-push", "stk-query", "c2b-register", "c2b-simulate", "c2b-no-proxy", "daraja-not-found"}
)


class SimulatedFaultFilter(logging.Filter):
    """On ``django.request``, which logs every 4xx/5xx response ("Internal Server Error: …").

    An error the simulator's Daraja endpoints *answered* (a scripted fault, Daraja's own error
    envelope: 500 "Merchant does not exist", 404 "Invalid Access Token", 429 SpikeArrest…) is
    the simulator doing its job: it becomes one INFO line, ``simulated Daraja fault: HTTP 500
    POST /simulator/mpesa/stkpush/v1/processrequest``, event ``simulator.fault``. An exception in
    those views (the record carries ``exc_info``) is a real bug and stays an ERROR; every other
    path is untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        match = getattr(request, "resolver_match", None)
        if (
            record.exc_info
            or match is None
            or match.namespace != "simulator"
            or match.url_name not in SIMULATED_DARAJA_URL_NAMES
        ):
            return True
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.msg = "simulated Daraja fault: HTTP %s %s %s"
        record.args = (getattr(record, "status_code", "?"), request.method, request.path)
        record.event = "simulator.fault"
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


class RefusedHostFilter(logging.Filter):
    """On ``django.security.DisallowedHost``: a request with a Host we do not serve is answered
    400 and is the client's doing, so it is one WARNING line, not an ERROR with a traceback (any
    anonymous client could otherwise fill the log with tracebacks, one per request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text, record.event = None, None, "http.disallowed_host"
        return logging.getLogger(record.name).isEnabledFor(logging.WARNING)


@contextmanager
def logs_for_verbosity(verbosity: int) -> Iterator[None]:
    """A management command's logging: no log lines below ``-v 2`` (the command's own output
    tells the story; the lines would repeat it on stderr), as configured at 2, DEBUG at 3."""
    root = logging.getLogger()
    level, disabled = root.level, logging.root.manager.disable
    if verbosity < 2:
        logging.disable(logging.CRITICAL)
    elif verbosity >= 3:
        root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logging.disable(disabled)
        root.setLevel(level)
