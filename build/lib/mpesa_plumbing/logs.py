"""Structured logs: one JSON object per event (python-json-logger), with phone numbers and
secrets masked by a filter on the handler, and ``mask_phone`` for code that logs a number."""

import logging
import re

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


class JsonFormatter(_JsonFormatter):
    """``{"time", "level", "logger", "message", …extra fields, "exc"}``; time in ISO 8601 (UTC
    with its offset); values JSON cannot hold are written as their ``str``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "exc_info": "exc"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("json_default", str)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)
