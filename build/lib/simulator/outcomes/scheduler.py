"""When callbacks happen: deciding a push's outcome turns it into due delivery rows.

A decided push has ``completes_at`` (the query turns final) and zero or more SimDelivery
rows with a ``due_at``; the job source in delivery.py sends them. Callers hold a
transaction; nothing here sends anything.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from mpesa_plumbing import jobs

from .. import live_index
from ..conf import SimConfig
from ..handset import presence
from ..models import SimDelivery, SimPush
from ..wire import ids
from ..wire.bodies import stk_callback_body
from ..wire.codes import callback_desc, query_desc
from . import rules

D = SimDelivery


class ScheduleConflict(Exception):
    """The push is already final, or a callback for it is on the wire right now."""


@dataclass(frozen=True)
class Decision:
    push: SimPush
    deliveries: list[SimDelivery]

    @property
    def early(self) -> SimDelivery | None:
        """The delivery to POST before the push response (fault ``before_response``)."""
        return next((d for d in self.deliveries if d.lease_until and d.status == D.Status.SCHEDULED), None)


def _body(push: SimPush, *, code: str, desc: str, faults: rules.Faults, config: SimConfig) -> str:
    return stk_callback_body(
        merchant_request_id=push.merchant_request_id,
        checkout_request_id=push.checkout_request_id,
        result_code=code,
        result_desc=desc,
        amount=max(1, push.amount + faults.amount_delta),
        receipt_number=push.receipt_number,
        transaction_date=push.completes_at,
        phone=push.phone,
        include_balance=config.include_balance_item,
        with_metadata=not faults.no_metadata,
        code_as_string=faults.string_code,
        phone_mode=config.callback_phone,
    )


def decide(push: SimPush, plan: rules.Plan, *, start: datetime, config: SimConfig) -> Decision:
    """Fix the outcome of ``push`` (saved) and create its delivery rows.

    The query agrees with the last callback by construction: both read ``result_code``.
    Faults only change *how* that truth is delivered (§5.7 of the reliability catalogue).
    """
    assert plan.result_code is not None
    faults = plan.faults
    code = plan.result_code
    delay = 0.0 if faults.before_response else rules.delay_for(plan, config)
    push.plan_source = plan.source[:32]
    push.faults = faults.as_json()
    push.result_code = code
    push.result_desc = plan.result_desc or callback_desc(code)
    push.query_result_desc = plan.result_desc or query_desc(code)
    push.decided_at = timezone.now()
    push.completes_at = start + timedelta(seconds=delay)
    push.receipt_number = ids.receipt_number(push.completes_at) if code == "0" else ""
    if faults.query_pending_seconds is not None:
        push.query_pending_until = push.created_at + timedelta(seconds=faults.query_pending_seconds)
    push.save()
    live_index.announce(push.pk)  # after commit: the outcome and its scheduled deliveries
    if faults.lost:
        return Decision(push, [])

    gap = timedelta(seconds=config.duplicate_gap)
    due = push.completes_at + timedelta(seconds=faults.late_seconds or 0)
    planned: list[tuple[str, datetime, str]] = []
    if faults.conflict_first:
        other = faults.conflict_first
        planned.append(
            (
                D.Kind.CONFLICT,
                due,
                _body(push, code=other, desc=callback_desc(other), faults=faults, config=config),
            )
        )
        due += gap
    body = _body(push, code=code, desc=push.result_desc, faults=faults, config=config)
    for n in range(faults.duplicates):
        at = due if faults.concurrent else due + n * gap
        planned.append((D.Kind.CALLBACK if n == 0 else D.Kind.DUPLICATE, at, body))
    burst = uuid.uuid4().hex if faults.concurrent and faults.duplicates > 1 else ""
    rows = [
        D(
            push=push,
            kind=kind,
            due_at=at,
            url=push.callback_url,
            body=text,
            burst=burst if kind != D.Kind.CONFLICT else "",
        )
        for kind, at, text in planned
    ]
    if faults.before_response:
        # Leased to the push view, which sends it inline; the runner takes it only if that
        # process dies first (the lease runs out), so it is never lost.
        rows[0].lease_until = timezone.now() + timedelta(seconds=config.callback_timeout + 30)
    return Decision(push, D.objects.bulk_create(rows))


def wake_after_commit(deliveries: list[SimDelivery]) -> None:
    """Tell the job runner (if it runs in this process) that something may be due now."""
    if any(d.due_at <= timezone.now() + timedelta(seconds=1) for d in deliveries):
        transaction.on_commit(jobs.wake)


def _close_prompt_after_commit(push: SimPush, *, was_waiting: bool) -> None:
    """A handset page still showing this prompt learns it is gone (decided by control)."""
    if was_waiting:
        transaction.on_commit(
            partial(
                presence.notify_closed_sync,
                push.phone,
                reason="control",
                checkout_request_id=push.checkout_request_id,
                result_code=push.result_code,
            )
        )


def settle_unanswered(*, config: SimConfig, limit: int = 50) -> list[SimPush]:
    """Handset prompts nobody answered within the PIN window become 1037 (§6.5, §7)."""
    now = timezone.now()
    settled = []
    for pk in SimPush.objects.filter(result_code="", answer_by__lte=now).values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            push = SimPush.objects.select_for_update().filter(pk=pk, result_code="").first()
            if push is None:
                continue
            decide(push, rules.Plan("1037", "handset:timeout", delay=0), start=push.answer_by, config=config)
            settled.append(push)
    return settled


def _locked_open_push(checkout_request_id: str) -> SimPush:
    push = SimPush.objects.select_for_update().filter(checkout_request_id=checkout_request_id).first()
    if push is None:
        raise SimPush.DoesNotExist(checkout_request_id)
    now = timezone.now()
    if (
        push.decided
        and push.completes_at <= now
        and not push.deliveries.filter(status=D.Status.SCHEDULED).exists()
    ):
        raise ScheduleConflict("this transaction is already final and its callbacks are done")
    if push.deliveries.filter(status=D.Status.SENDING).exists():
        raise ScheduleConflict("a callback for this push is being delivered right now")
    return push


def push_replan(checkout_request_id: str, plan: rules.Plan, *, config: SimConfig) -> Decision:
    """A CheckoutRequestID script: cancel what is still scheduled and decide again from now.
    Raises SimPush.DoesNotExist or ScheduleConflict."""
    with transaction.atomic():
        push = _locked_open_push(checkout_request_id)
        if push.decided and push.completes_at <= timezone.now():
            raise ScheduleConflict("this transaction is already final; resend a delivery instead")
        push.deliveries.filter(status=D.Status.SCHEDULED).update(
            status=D.Status.CANCELLED, error="replaced by a script"
        )
        push.query_pending_until = None
        was_waiting = not push.decided
        decision = decide(push, plan, start=timezone.now(), config=config)
        wake_after_commit(decision.deliveries)
        _close_prompt_after_commit(push, was_waiting=was_waiting)
    return decision


def push_fire(checkout_request_id: str, *, result_code: str | None, config: SimConfig) -> Decision:
    """Make a pending outcome happen now: an undecided handset push is decided with
    ``result_code`` (default 0); a decided one has its scheduled callbacks moved to now."""
    with transaction.atomic():
        push = _locked_open_push(checkout_request_id)
        now = timezone.now()
        if not push.decided:
            decision = decide(
                push, rules.Plan(result_code or "0", "control:fire", delay=0), start=now, config=config
            )
            _close_prompt_after_commit(push, was_waiting=True)
        else:
            rows = list(push.deliveries.filter(status=D.Status.SCHEDULED).order_by("due_at", "pk"))
            shift = max(timedelta(0), rows[0].due_at - now) if rows else timedelta(0)
            for row in rows:
                row.due_at -= shift
                row.save(update_fields=["due_at"])
            push.completes_at = min(push.completes_at, now)
            push.query_pending_until = None
            push.save(update_fields=["completes_at", "query_pending_until"])
            decision = Decision(push, rows)
        wake_after_commit(decision.deliveries)
    return decision
