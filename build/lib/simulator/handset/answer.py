"""The person on a handset page answers a prompt: Pay, Wrong PIN or Cancel."""

from functools import partial

from django.db import transaction
from django.utils import timezone

from ..conf import SimConfig
from ..models import SimPush
from ..outcomes import rules, scheduler
from . import presence


def handset_answer(
    *, checkout_request_id: str, msisdn: str, answer: str, config: SimConfig
) -> SimPush | None:
    """The person on the handset page answered (pay / wrong_pin / cancel). Returns None when
    the prompt is no longer open (answered elsewhere, timed out, scripted)."""
    code = presence.ANSWERS[answer]
    with transaction.atomic():
        push = (
            SimPush.objects.select_for_update()
            .filter(
                checkout_request_id=checkout_request_id,
                phone=msisdn,
                result_code="",
                answer_by__gt=timezone.now(),
            )
            .first()
        )
        if push is None:
            return None
        plan = rules.Plan(code, f"handset:{answer}", delay=0)
        decision = scheduler.decide(push, plan, start=timezone.now(), config=config)
        scheduler.wake_after_commit(decision.deliveries)
        closed = partial(
            presence.notify_closed_sync,
            msisdn,
            result_code=code,
            reason=answer,
            checkout_request_id=push.checkout_request_id,
        )
        transaction.on_commit(closed)
    return push
