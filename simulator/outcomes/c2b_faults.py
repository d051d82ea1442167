"""What goes wrong around one C2B payment, and who says so. Precedence, first match wins:
faults given with the payment (control API / ``manage.py simulator c2b-pay``), then a script
for the paying phone (``{"c2b_phone": …}``), then the C2B fault block ``25470099 01NN``.

Pure except ``take_c2b_script`` and ``c2b_script_create`` (SimScript rows).
"""

from dataclasses import dataclass, fields
from typing import Any

from ..models import SimScript
from ..wire.requests import PHONE_RE
from .rules import FAULT_BLOCK, ScriptError


@dataclass(frozen=True)
class C2BFaults:
    lost_confirmation: bool = False  # the money moves, no Confirmation is ever POSTed
    duplicates: int = 1  # the Confirmation is POSTed this many times (§13.8, §14.10 item 6)
    slow_validation: bool = False  # the validation answer arrives after M-Pesa's budget
    no_validation: bool = False  # a Confirmation without a Validation (§14.10 item 5)

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


C2B_FAULT_KEYS = tuple(f.name for f in fields(C2BFaults))
# 25470099 01NN: reachable from any client by the paying Msisdn, like STK's 25470099 00NN.
C2B_FAULT_PHONES: dict[str, tuple[str, dict[str, Any]]] = {
    "0101": ("C2B: the Confirmation is lost", {"lost_confirmation": True}),
    "0102": ("C2B: the Confirmation arrives twice", {"duplicates": 2}),
    "0103": ("C2B: the validation answer comes too late (ResponseType decides)", {"slow_validation": True}),
    "0104": ("C2B: a Confirmation without a Validation", {"no_validation": True}),
}


def parse_c2b_faults(data: dict[str, Any]) -> C2BFaults:
    """The C2B fault keys of ``data`` (other keys are the caller's business)."""
    values: dict[str, Any] = {}
    for key in ("lost_confirmation", "slow_validation", "no_validation"):
        if data.get(key) is not None:
            if not isinstance(data[key], bool):
                raise ScriptError(f"{key} must be true or false")
            values[key] = data[key]
    duplicates = data.get("duplicates")
    if duplicates is not None:
        if isinstance(duplicates, bool) or not isinstance(duplicates, int) or not 1 <= duplicates <= 20:
            raise ScriptError("duplicates must be a whole number from 1 to 20")
        values["duplicates"] = duplicates
    return C2BFaults(**values)


def phone_faults(msisdn: str) -> tuple[C2BFaults, str] | None:
    if msisdn.startswith(FAULT_BLOCK) and msisdn[-4:] in C2B_FAULT_PHONES:
        return C2BFaults(**C2B_FAULT_PHONES[msisdn[-4:]][1]), f"rule:c2b-fault-{msisdn[-4:]}"
    return None


def c2b_script_create(data: dict[str, Any]) -> SimScript:
    """``{"c2b_phone": "2547…", "times"?: n, <C2B fault keys>}`` → a script for the next C2B
    payment(s) from that phone. Raises ScriptError."""
    unknown = sorted(set(data) - {"c2b_phone", "times", *C2B_FAULT_KEYS})
    if unknown:
        raise ScriptError(f"unknown key(s) for a C2B script: {', '.join(unknown)}")
    phone = str(data.get("c2b_phone") or "")
    if not PHONE_RE.match(phone):
        raise ScriptError("c2b_phone must look like 2547XXXXXXXX or 2541XXXXXXXX")
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 1000:
        raise ScriptError("times must be a whole number from 1 to 1000")
    spec = parse_c2b_faults(data).as_json()
    return SimScript.objects.create(target=SimScript.Target.C2B, value=phone, spec=spec, remaining=times)


def resolve_c2b_faults(msisdn: str, given: C2BFaults | None) -> tuple[C2BFaults, str]:
    """The faults of a new payment from ``msisdn`` (consumes a script use)."""
    if given is not None and given != C2BFaults():
        return given, "given"
    script = SimScript.objects.filter(target=SimScript.Target.C2B, value=msisdn).take()
    if script is not None:
        return parse_c2b_faults(script.spec), f"script#{script.pk}"
    return phone_faults(msisdn) or (C2BFaults(), "")
