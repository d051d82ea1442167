"""Recorded Daraja wire captures (OAuth, STK Push, STK Query, STK callback) as JSON.

Every ``<api>_<what>.json`` here is taken only from shared/daraja-reference.md (the team's
protocol reference);
"source" names its section (§n) and source tags, "confidence" the reference's mark, and
"note" says which parts were modelled from a description rather than quoted verbatim.
Both the Django client's parser tests and the simulator's wire tests load them, so a
change here changes what both sides consider "real Daraja".

C2B captures (§14) live in ``c2b/`` beside these, in the same format, and are read with
``c2b_captures()`` (``load`` finds both): ``all_captures()`` stays the STK family, which the
product's client reads one by one.

Fields: api (oauth | stk_push | stk_query | stk_callback; C2B: c2b_register | c2b_simulate |
c2b_validation | c2b_confirmation | c2b_validation_answer | c2b_confirmation_answer),
direction ("response" = Daraja answering a client, "request" = Daraja POSTing a callback,
"reply" = what the business answers Daraja's POST), kind (success | error | pending |
failure = terminal non-zero ResultCode, or a rejecting validation answer), http_status (null
for callbacks), optional headers,
"body" (JSON) or "body_text" (exact wire text: empty bodies, HTML, callbacks with 1.00),
and "expect" (what a correct parser concludes; result codes, amounts and phones are strings,
a missing key is not asserted).
"""

import decimal
import json
from pathlib import Path

CAPTURES_DIR = Path(__file__).resolve().parent
C2B_DIR = CAPTURES_DIR / "c2b"


def load(name: str) -> dict:
    """The capture ``<name>.json`` (here or in ``c2b/``) plus a "name" key (the file stem)."""
    path = CAPTURES_DIR / f"{name}.json"
    if not path.is_file():
        path = C2B_DIR / f"{name}.json"
    capture = json.loads(path.read_text(encoding="utf-8"))
    capture["name"] = name
    return capture


def _filtered(folder: Path, api: str | None, kind: str | None) -> list[dict]:
    captures = [load(p.stem) for p in sorted(folder.glob("*.json"))]
    return [c for c in captures if (api is None or c["api"] == api) and (kind is None or c["kind"] == kind)]


def all_captures(api: str | None = None, kind: str | None = None) -> list[dict]:
    """Every STK-family capture (OAuth, push, query, callback), optionally filtered by api
    and/or kind, sorted by name."""
    return _filtered(CAPTURES_DIR, api, kind)


def c2b_captures(api: str | None = None, kind: str | None = None) -> list[dict]:
    """Every C2B capture (``c2b/``), filtered the same way."""
    return _filtered(C2B_DIR, api, kind)


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
