"""Structured logs: one JSON object per event, with phone numbers and secrets masked."""

import json
import logging
import re
from datetime import UTC, datetime

_PHONE = re.compile(r"(?<![\d*])(254[17]|0[17])\d{4}(\d{4})(?!\d)")
_SECRETS = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9+/=._\-]+|(\"?password\"?\s*[:=]\s*\"?)[^\",\s]+")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def mask_text(text: str) -> str:
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _SECRETS.sub(lambda m: (m.group(1) or m.group(2) or "") + " [redacted]", text)


class MaskSensitiveFilter(logging.Filter):
    """Safety net at the handler: code logs masked phones already (inputs.mask_phone)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)
