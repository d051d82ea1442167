"""Runtime scripts: store, consume (atomically, across processes) and list them."""

from typing import Any

from django.utils import timezone

from ..conf import SimConfig
from ..models import SimPush, SimScript
from ..wire.requests import PHONE_RE
from . import rules, scheduler
from .c2b_faults import c2b_script_create

T = SimScript.Target
API_TARGETS = {"oauth": T.OAUTH, "stkpush": T.STKPUSH, "query": T.QUERY}


def _times(data: dict[str, Any]) -> int:
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 1000:
        raise rules.ScriptError("times must be a whole number from 1 to 1000")
    return times


def parse_api_fault(data: dict[str, Any]) -> dict[str, Any]:
    """``{"api": "oauth"|"stkpush"|"query", "fault": <one of rules.API_FAULTS>, "seconds"?}``."""
    unknown = sorted(set(data) - {"api", "fault", "seconds", "times"})
    if unknown:
        raise rules.ScriptError(f"unknown key(s) for an API fault: {', '.join(unknown)}")
    if not isinstance(data.get("api"), str) or data["api"] not in API_TARGETS:  # a list is not hashable
        raise rules.ScriptError("api must be oauth, stkpush or query")
    if data.get("fault") not in rules.API_FAULTS:
        raise rules.ScriptError(f"fault must be one of {', '.join(rules.API_FAULTS)}")
    seconds = data.get("seconds")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 600
    ):
        raise rules.ScriptError("seconds must be from 0 to 600")
    return {"fault": data["fault"], "seconds": seconds}


def script_create(data: dict[str, Any]) -> SimScript:
    """Validate and store a phone or API script (CheckoutRequestID scripts are applied to
    their push at once: see services.push_replan). Raises rules.ScriptError."""
    if not isinstance(data, dict):
        raise rules.ScriptError("a script is a JSON object")
    if "c2b_phone" in data:
        return c2b_script_create(data)
    times = _times(data)
    if "api" in data:
        spec = parse_api_fault(data)
        return SimScript.objects.create(target=API_TARGETS[data["api"]], spec=spec, remaining=times)
    phone = str(data.get("phone") or "")
    if not PHONE_RE.match(phone):
        raise rules.ScriptError("phone must look like 2547XXXXXXXX or 2541XXXXXXXX")
    rules.parse_script_plan(data, source="script")  # validate now, not at push time
    spec = {k: v for k, v in data.items() if k not in ("phone", "times")}
    return SimScript.objects.create(target=T.PHONE, value=phone, spec=spec, remaining=times)


PUSH_TIME_FAULTS = ("push_error", "push_timeout", "before_response", "expire_token")


def script_for_checkout(
    checkout_request_id: str, data: dict[str, Any], *, config: SimConfig
) -> tuple[SimScript, scheduler.Decision]:
    """A new outcome for a push that is still pending: its scheduled callbacks are cancelled
    and it is decided again from now. Raises ScriptError, SimPush.DoesNotExist, ScheduleConflict."""
    if any(data.get(key) for key in PUSH_TIME_FAULTS):
        raise rules.ScriptError(f"{', '.join(PUSH_TIME_FAULTS)} happen at push time: script the phone")
    spec = {k: v for k, v in data.items() if k != "checkout_request_id"}
    plan = rules.parse_script_plan(spec, source="script")
    if not SimPush.objects.filter(checkout_request_id=checkout_request_id).exists():
        raise SimPush.DoesNotExist(checkout_request_id)
    script = SimScript.objects.create(
        target=T.CHECKOUT, value=checkout_request_id, spec=spec, remaining=0, used=1
    )
    plan = rules.Plan(plan.result_code, f"script#{script.pk}", plan.delay, plan.result_desc, plan.faults)
    return script, scheduler.push_replan(checkout_request_id, plan, config=config)


def take_phone_plan(phone: str) -> rules.Plan | None:
    """The next scripted outcome for a push to ``phone`` (consumes it), or None."""
    script = SimScript.objects.filter(target=T.PHONE, value=phone).take()
    if script is None:
        return None
    return rules.parse_script_plan(script.spec, source=f"script#{script.pk}")


def take_api_fault(api: str) -> dict[str, Any] | None:
    """The next scripted fault for this API (``oauth``/``stkpush``/``query``), or None."""
    script = SimScript.objects.filter(target=API_TARGETS[api]).take()
    return None if script is None else {**script.spec, "script": script.pk}


def script_as_json(script: SimScript) -> dict[str, Any]:
    """A script as JSON primitives (control API and ``--json``)."""
    return {
        "id": script.pk,
        "target": script.target,
        "value": script.value,
        "spec": script.spec,
        "remaining": script.remaining,
        "used": script.used,
        "created_at": timezone.localtime(script.created_at).isoformat(),
    }
