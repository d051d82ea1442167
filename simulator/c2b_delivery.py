"""How C2B callbacks are sent: one POST per SimC2BCallback row, from the job runner (source
``simulator.c2b``), at most once, like STK callbacks (delivery.py, whose POST it uses).

A Validation POST waits at most SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS (M-Pesa's ~8 s
budget, §14.9); its answer then decides the payment (outcomes/c2b_scheduler.py). An answer
that took longer than the budget counts as none, whatever it says. A process that dies during
a Validation POST leaves the row SENDING; the sweep marks it FAILED "interrupted" and the
payment is decided as if no answer came (ResponseType), so no payment waits forever.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from mpesa_plumbing.jobs import claim_due

from .conf import SimConfig, sim_config
from .delivery import EXCERPT_CHARS, INTERRUPTED, Attempt, post_callback
from .models import SimC2BCallback
from .outcomes import c2b_scheduler
from .outcomes.c2b_faults import C2BFaults
from .wire.c2b_bodies import NO_ANSWER, Verdict, read_validation_answer

logger = logging.getLogger("simulator.c2b")
CB = SimC2BCallback
S = SimC2BCallback.Status
BATCH = 50


def _timeout(row: SimC2BCallback, config: SimConfig) -> float:
    return config.c2b.validation_timeout if row.kind == CB.Kind.VALIDATION else config.callback_timeout


def _start(pk: int) -> SimC2BCallback | None:
    """SCHEDULED → SENDING, committed before the POST (one winner)."""
    if not CB.objects.filter(pk=pk, status=S.SCHEDULED).update(status=S.SENDING, attempted_at=timezone.now()):
        return None
    return CB.objects.select_related("payment").get(pk=pk)


def _verdict(row: SimC2BCallback, attempt: Attempt, config: SimConfig) -> Verdict:
    budget = config.c2b.validation_timeout
    verdict = read_validation_answer(attempt.status, attempt.excerpt, error=attempt.error)
    if attempt.status is None and "Timeout" in attempt.error:
        return Verdict(NO_ANSWER, f"no answer within {budget:g} s")
    if attempt.status is not None and C2BFaults(**row.payment.faults).slow_validation:
        return Verdict(NO_ANSWER, f"answered after the {budget:g} s budget (fault slow_validation)")
    if attempt.status is not None and attempt.duration_ms > budget * 1000:
        return Verdict(NO_ANSWER, f"answered after {attempt.duration_ms / 1000:.1f} s, past the budget")
    return verdict


def send_c2b(pk: int, *, config: SimConfig | None = None) -> SimC2BCallback | None:
    """Send one row now (the runner, a resend). None if another worker already took it."""
    config = config or sim_config()
    row = _start(pk)
    if row is None:
        return None
    attempt = post_callback(
        url=row.url, body=row.body, shortcode=None, config=config, timeout=_timeout(row, config)
    )
    verdict = _verdict(row, attempt, config) if row.kind == CB.Kind.VALIDATION else None
    row.status = S.SENT if attempt.status is not None else S.FAILED
    row.response_status = attempt.status
    row.response_excerpt = attempt.excerpt[:EXCERPT_CHARS]
    row.duration_ms = attempt.duration_ms
    row.error = attempt.error
    row.lease_until = None
    row.verdict = f"{verdict.outcome}: {verdict.reason}"[:64] if verdict else ""
    row.save()
    logger.info(
        "simulated C2B %s for %s → %s",
        row.kind,
        row.payment.trans_id,
        attempt.status or attempt.error,
        extra={"event": "simulator.c2b.delivery", "kind": row.kind, "ms": attempt.duration_ms},
    )
    if verdict is not None:
        c2b_scheduler.after_validation(row, verdict, config=config)
    else:
        c2b_scheduler.announce_after_attempt(row.payment)
    return row


def _sweep_interrupted(config: SimConfig) -> int:
    cutoff = timezone.now() - timedelta(
        seconds=max(config.callback_timeout, config.c2b.validation_timeout) + 60
    )
    stuck = list(CB.objects.filter(status=S.SENDING, attempted_at__lt=cutoff).select_related("payment"))
    for row in stuck:
        if CB.objects.filter(pk=row.pk, status=S.SENDING).update(
            status=S.FAILED, error=INTERRUPTED, lease_until=None
        ):
            if row.kind == CB.Kind.VALIDATION:
                c2b_scheduler.after_validation(row, Verdict(NO_ANSWER, "interrupted"), config=config)
    return len(stuck)


def c2b_deliver_due(*, limit: int = BATCH) -> int:
    """The ``simulator.c2b`` job source: sweep interrupted POSTs, then lease and send the due
    rows in due order. Returns how many it handled."""
    config = sim_config()
    handled = _sweep_interrupted(config)
    pks = claim_due(
        CB.objects.filter(status=S.SCHEDULED),
        due_field="due_at",
        lease_field="lease_until",
        lease_seconds=max(config.callback_timeout, config.c2b.validation_timeout) + 30,
        limit=limit,
    )
    for pk in CB.objects.filter(pk__in=pks).order_by("due_at", "pk").values_list("pk", flat=True):
        send_c2b(pk, config=config)
    return handled + len(pks)


def deliver_payment_now(trans_id: str) -> int:
    """Move this payment's scheduled rows to now and send them, and what they lead to (a
    Confirmation after an accepted Validation), from the calling process."""
    config = sim_config()
    sent = 0
    for _ in range(25):  # bounded: a validation, then at most 20 confirmations
        rows = CB.objects.filter(status=S.SCHEDULED, payment__trans_id=trans_id)
        if not rows.exists():
            break
        rows.update(due_at=timezone.now(), lease_until=None)
        pks = claim_due(rows, due_field="due_at", lease_field="lease_until", lease_seconds=60, limit=BATCH)
        for pk in CB.objects.filter(pk__in=pks).order_by("due_at", "pk").values_list("pk", flat=True):
            send_c2b(pk, config=config)
            sent += 1
    return sent
