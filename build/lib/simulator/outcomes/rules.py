"""Which outcome a push gets: the ONE rules table (documented in README.md, "The Daraja simulator").

Precedence, first match wins:
1. a script set at runtime (for the CheckoutRequestID, or the next push to a phone);
2. Daraja's own rules: Amount above the maximum → 3, product mismatch → 2028 (§3.1, §3.5);
3. an open handset page for the phone: the person on the page decides;
4. a built-in phone rule (the test MSISDN, the ``2547000CCCCC`` code block, the
   ``25470099FFFF`` fault block);
5. the default: 0 (success).

Pure: no database, no settings (the caller passes ``SimConfig``).
"""

from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..conf import SimConfig
from ..wire.codes import CALLBACK_DESC, CodeError
from ..wire.codes import parse_result_code as _parse_code

TEST_MSISDN = "254708374149"  # §8: Daraja's sandbox test MSISDN
CODE_BLOCK = "2547000"  # + the result code padded to five digits: 254700001032 → 1032
FAULT_BLOCK = "25470099"  # + a four-digit fault number: 254700990001 → lost callback

PIN_WINDOW_CODES = frozenset({"1037", "1019"})  # the prompt waited the whole PIN window
PUSH_ERRORS = ("busy", "spike", "quota", "internal", "lock")
# API faults (scripts with "api"): refusals in Daraja's envelope, a slow answer, a truncated
# body, and answers that are not what the status says (§13.5): an HTML gateway page under 200
# or 502, an error envelope under 200.
API_FAULTS = (
    "error",
    "busy",
    "spike",
    "quota",
    "slow",
    "malformed",
    "invalid_token",
    "html",
    "html_502",
    "error_200",
)
DEFAULT = "default"  # in FAULT_PHONES: "use the SIMULATOR_* setting"


@dataclass(frozen=True)
class Faults:
    """What goes wrong around one push (reliability-catalogue.md §5.7)."""

    lost: bool = False  # no callback ever; the query still answers (§6.4: at-most-once)
    duplicates: int = 1  # the callback is sent this many times
    concurrent: bool = False  # ... all at once instead of one after another
    before_response: bool = False  # callback POSTed before the push's HTTP answer (§9.10)
    late_seconds: float | None = None  # callback this long after the query turned final
    conflict_first: str | None = None  # a callback with this code first, then the real one
    amount_delta: int = 0  # success callback Amount = pushed Amount + delta
    no_metadata: bool = False  # success without CallbackMetadata
    string_code: bool = False  # "ResultCode": "0" instead of 0 (§6.3)
    query_pending_seconds: float | None = None  # query says pending this long after the push
    push_error: str | None = None  # synchronous refusal: one of PUSH_ERRORS (§3.3)
    push_timeout: bool = False  # accepted + scheduled, then the HTTP answer comes too late
    expire_token: bool = False  # the push's token is revoked: next call gets 404.001.03

    def as_json(self) -> dict[str, Any]:
        """Only what differs from the defaults (for storage and display)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


@dataclass(frozen=True)
class Plan:
    """An outcome: ``result_code`` None means "wait for the handset"."""

    result_code: str | None
    source: str
    delay: float | None = None  # None: the setting for this code
    result_desc: str | None = None  # None: wire.codes.callback_desc
    faults: Faults = field(default_factory=Faults)


# Fault block 25470099FFFF: every fault a test needs, reachable from any client by phone.
FAULT_PHONES: dict[str, tuple[str, dict[str, Any]]] = {
    "0001": ("no callback ever (lost); the query still answers 0", {"lost": True}),
    "0002": ("the same callback 3 times, one after another", {"duplicates": 3}),
    "0003": ("the same callback 3 times, concurrently", {"duplicates": 3, "concurrent": True}),
    "0004": ("the callback arrives before the push response", {"before_response": True}),
    "0005": ("late callback: the query turns final first", {"late_seconds": DEFAULT}),
    "0006": ("conflicting callbacks: 1032, then 0 (the query says 0)", {"conflict_first": "1032"}),
    "0007": ("success with Amount + 1", {"amount_delta": 1}),
    "0008": ("success without CallbackMetadata", {"no_metadata": True}),
    "0009": ('ResultCode as a string ("0")', {"string_code": True}),
    "0010": ("the query stays pending for a while", {"query_pending_seconds": DEFAULT}),
    "0011": ('push refused: 500.003.02 "System is busy"', {"push_error": "busy"}),
    "0012": ('push refused: 500.003.02 "Spike Arrest Violation"', {"push_error": "spike"}),
    "0013": ("push accepted, but the HTTP answer comes after the client's timeout", {"push_timeout": True}),
    "0014": ("push accepted, then its token expires (next call: 404.001.03)", {"expire_token": True}),
    "0015": ('push refused: "Unable to lock subscriber"', {"push_error": "lock"}),
    "0016": ('push refused: 500.003.03 "Quota Violation"', {"push_error": "quota"}),
    "0017": ('push refused: 500.003.1001 "Internal Server Error"', {"push_error": "internal"}),
}


def code_phone(code: str) -> str:
    """The built-in phone whose pushes end with ``code``: ``2547000`` + five digits."""
    return f"{CODE_BLOCK}{int(code):05d}"


def fault_phone(number: str) -> str:
    """The built-in phone of fault ``number`` (FAULT_PHONES): ``25470099`` + four digits."""
    return f"{FAULT_BLOCK}{number}"


# Named scenarios: one phone rule each, for people and tools (``manage.py mpesa trigger``
# reads them from ``control/scenarios/``; the simulator owns its phone numbers).
SCENARIOS: dict[str, tuple[str, str]] = {
    "success": (TEST_MSISDN, "the customer enters the PIN: paid"),
    "insufficient-funds": (code_phone("1"), "ResultCode 1: not enough money"),
    "cancelled": (code_phone("1032"), "ResultCode 1032: the customer cancels"),
    "timeout": (code_phone("1037"), "ResultCode 1037: no answer within the PIN window"),
    "wrong-pin": (code_phone("2001"), "ResultCode 2001: wrong PIN"),
    "expired": (code_phone("1019"), "ResultCode 1019: the prompt expired"),
    "push-failed": (code_phone("1025"), "ResultCode 1025: the prompt could not be sent"),
    "subscriber-busy": (code_phone("1001"), "ResultCode 1001: another transaction on the phone"),
    "lost-callback": (fault_phone("0001"), "no callback ever: the reconciler asks Daraja"),
    "duplicate-callbacks": (fault_phone("0002"), "the same callback three times"),
    "callback-first": (fault_phone("0004"), "the callback arrives before the push response"),
    "conflicting-callbacks": (fault_phone("0006"), "1032, then 0: success wins, flagged"),
    "amount-mismatch": (fault_phone("0007"), "success with the wrong amount: needs review"),
    "no-metadata": (fault_phone("0008"), "success without receipt: needs review"),
    "daraja-busy": (fault_phone("0011"), "Daraja refuses the push: System is busy"),
    "push-timeout": (fault_phone("0013"), "the push answer comes too late: unknown, then settled"),
}


def delay_for(plan: Plan, config: SimConfig) -> float:
    """Seconds from the push to its outcome: 1037/1019 wait out the PIN window."""
    if plan.delay is not None:
        return plan.delay
    return config.pin_window if plan.result_code in PIN_WINDOW_CODES else config.callback_delay


def _resolve_defaults(faults: Faults, config: SimConfig) -> Faults:
    changes: dict[str, Any] = {}
    if faults.late_seconds == DEFAULT:
        changes["late_seconds"] = config.late_callback_seconds
    if faults.query_pending_seconds == DEFAULT:
        changes["query_pending_seconds"] = config.query_pending_fault_seconds
    return replace(faults, **changes) if changes else faults


def phone_rule(phone: str, config: SimConfig) -> Plan | None:
    """The built-in phone rules (step 4), or None."""
    if phone == TEST_MSISDN:
        return Plan("0", "rule:test-msisdn")
    if phone.startswith(FAULT_BLOCK) and phone[-4:] in FAULT_PHONES:
        _, spec = FAULT_PHONES[phone[-4:]]
        return Plan("0", f"rule:fault-{phone[-4:]}", faults=_resolve_defaults(Faults(**spec), config))
    if phone.startswith(CODE_BLOCK) and len(phone) == 12:
        code = str(int(phone[len(CODE_BLOCK) :]))
        if code in CALLBACK_DESC:
            return Plan(code, "rule:code-block")
    return None


def resolve_plan(
    *,
    phone: str,
    amount: int,
    config: SimConfig,
    script: Plan | None = None,
    product_mismatch: bool = False,
    handset_open: bool = False,
) -> Plan:
    """The outcome for a new push, by the precedence in this module's docstring."""
    if script is not None:
        return replace(script, faults=_resolve_defaults(script.faults, config))
    if amount > config.max_amount:
        return Plan("3", "rule:amount-limit")  # §3.5: accepted, then fails asynchronously
    if product_mismatch:
        return Plan("2028", "rule:product-assignment")  # §3.1: till/paybill mix-up
    if handset_open:
        return Plan(None, "handset")
    return phone_rule(phone, config) or Plan("0", DEFAULT)


# --- scripts (JSON from the control API / manage.py simulator script) ---------------------
_FAULT_TYPES: dict[str, type] = {
    "lost": bool,
    "duplicates": int,
    "concurrent": bool,
    "before_response": bool,
    "late_seconds": float,
    "conflict_first": str,
    "amount_delta": int,
    "no_metadata": bool,
    "string_code": bool,
    "query_pending_seconds": float,
    "push_error": str,
    "push_timeout": bool,
    "expire_token": bool,
}


class ScriptError(ValueError):
    """A script that cannot be used; the message says which key and why."""


def parse_result_code(value: Any) -> str:
    """A script's code: 0, "0", 1032 or "SFC_IC0003" → the code as text (ScriptError)."""
    try:
        return _parse_code(value)
    except CodeError as exc:
        raise ScriptError(str(exc)) from None


def _coerce(key: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ScriptError(f"{key} must be true or false")
        return value
    if kind is str:
        return parse_result_code(value) if key == "conflict_first" else str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScriptError(f"{key} must be a number")
    if kind is int and value != int(value):
        raise ScriptError(f"{key} must be a whole number")
    return kind(value)


def parse_faults(data: dict[str, Any]) -> Faults:
    """The fault keys of a script (unknown keys are the caller's business)."""
    values = {
        k: _coerce(k, v, _FAULT_TYPES[k]) for k, v in data.items() if k in _FAULT_TYPES and v is not None
    }
    if not 1 <= values.get("duplicates", 1) <= 20:
        raise ScriptError("duplicates must be from 1 to 20")
    if values.get("push_error") not in (None, *PUSH_ERRORS):
        raise ScriptError(f"push_error must be one of {', '.join(PUSH_ERRORS)}")
    for key in ("late_seconds", "query_pending_seconds"):
        if values.get(key, 0) < 0:
            raise ScriptError(f"{key} must not be negative")
    return Faults(**values)


def parse_script_plan(data: dict[str, Any], *, source: str) -> Plan:
    """A script's outcome: ``result_code`` (default 0), ``result_desc``, ``delay`` and faults."""
    allowed = {"phone", "checkout_request_id", "times", "result_code", "result_desc", "delay", *_FAULT_TYPES}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScriptError(f"unknown key(s): {', '.join(unknown)}")
    delay = data.get("delay")
    if delay is not None:
        delay = _coerce("delay", delay, float)
        if not 0 <= delay <= 86_400:
            raise ScriptError("delay must be from 0 to 86400 seconds")
    desc = data.get("result_desc")
    if desc is not None and (not isinstance(desc, str) or len(desc) > 255):
        raise ScriptError("result_desc must be a string of at most 255 characters")
    return Plan(
        result_code=parse_result_code(data.get("result_code", 0)),
        source=source,
        delay=delay,
        result_desc=desc,
        faults=parse_faults(data),
    )
