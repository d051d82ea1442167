"""Recorded Daraja wire captures (OAuth, STK Push, STK Query, STK callback) as JSON.

Every ``<api>_<what>.json`` here is taken only from shared/daraja-reference.md (the team's
protocol reference);
"source" names its section (§n) and source tags, "confidence" the reference's mark, and
"note" says which parts were modelled from a description rather than quoted verbatim.
Both the Django client's parser tests and the simulator's wire tests load them, so a
change here changes what both sides consider "real Daraja".

Fields: api (oauth | stk_push | stk_query | stk_callback), direction ("response" = Daraja
answering a client, "request" = Daraja POSTing a callback), kind (success | error | pending |
failure = terminal non-zero ResultCode), http_status (null for callbacks), optional headers,
"body" (JSON) or "body_text" (exact wire text: empty bodies, HTML, callbacks with 1.00),
and "expect" (what a correct parser concludes; result codes, amounts and phones are strings,
a missing key is not asserted).
"""

import decimal
import json
from pathlib import Path

CAPTURES_DIR = Path(__file__).resolve().parent


def load(name: str) -> dict:
    """The capture ``<name>.json`` plus a "name" key (the file stem)."""
    capture = json.loads((CAPTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    capture["name"] = name
    return capture


def all_captures(api: str | None = None, kind: str | None = None) -> list[dict]:
    """Every capture, optionally filtered by api and/or kind, sorted by name."""
    captures = [load(p.stem) for p in sorted(CAPTURES_DIR.glob("*.json"))]
    return [c for c in captures if (api is None or c["api"] == api) and (kind is None or c["kind"] == kind)]


def body_bytes(capture: dict) -> bytes:
    """The exact bytes on the wire."""
    if "body_text" in capture:
        return capture["body_text"].encode("utf-8")
    return json.dumps(capture["body"]).encode("utf-8")


def body_json(capture: dict):
    """The parsed body (floats as Decimal), or None for an empty or non-JSON body."""
    raw = body_bytes(capture)
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_float=decimal.Decimal)
    except ValueError:
        return None


def shape(value) -> object:
    """Recursive type signature of a parsed body, for comparing simulator output.

    int vs decimal is deliberate: Daraja writes Amount as 1.00 in callbacks (decimal),
    TransactionDate/PhoneNumber as integers, and ResultCode as a number in callbacks but
    a string in query responses; a simulator must reproduce each exactly.
    """
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, (decimal.Decimal, float)):
        return "decimal"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "null"
    raise TypeError(f"unexpected JSON value {value!r}")
