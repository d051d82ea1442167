"""What every engine admin page shares: Nairobi times, readable JSON, read-only records."""

import json
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.utils import timezone

from mpesa_plumbing.logs import mask_text

BODY_CHARS = 20_000  # a callback body is about 1 KB; the parser refuses far less than this


def nairobi(moment: datetime | None) -> str:
    """``2026-12-01 14:03:07 EAT`` (TIME_ZONE, Africa/Nairobi by default)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "–"


def readable(text: str) -> str:
    """JSON text pretty-printed (indented, keys in their order); anything else as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def key_values(detail: Any) -> list[tuple[str, str, bool]]:
    """A JSON detail as (key, value, is_block) rows: nested values pretty-printed."""
    if not isinstance(detail, dict):
        detail = {"value": detail} if detail not in (None, "", {}, []) else {}
    rows = []
    for key, value in detail.items():
        nested = isinstance(value, dict | list)
        text = json.dumps(value, indent=2, ensure_ascii=False) if nested else str(value)
        rows.append((str(key), mask_text(text), nested or "\n" in text))
    return rows


def changes_nothing(modeladmin, request, obj=None) -> bool:
    """Records, not forms: the change page is a read-only view; the list (obj None) keeps
    the change permission, which its actions require."""
    return obj is None and admin.ModelAdmin.has_change_permission(modeladmin, request)
