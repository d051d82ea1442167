"""The control API's operations on the simulator's state: resend a delivery, reset
everything, count what happened."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ..conf import SimConfig, sim_config
from ..models import (
    SimApiCall,
    SimC2BCallback,
    SimC2BPayment,
    SimC2BRegistration,
    SimDelivery,
    SimHandsetSession,
    SimPush,
    SimScript,
    SimToken,
)


def delivery_resend(delivery_id: int, *, config: SimConfig) -> SimDelivery:
    """A new delivery row replaying ``delivery_id``'s exact body to the same URL, due now,
    leased to the caller (who sends it inline). Raises SimDelivery.DoesNotExist."""
    original = SimDelivery.objects.select_related("push").get(pk=delivery_id)
    return SimDelivery.objects.create(
        push=original.push,
        kind=SimDelivery.Kind.RESEND,
        due_at=timezone.now(),
        url=original.url,
        body=original.body,
        resend_of=original,
        lease_until=timezone.now() + timedelta(seconds=config.callback_timeout + 30),
    )


def reset_state() -> dict[str, int]:
    """Forget every push, delivery, C2B registration and payment, script, token and API call
    (handset sessions stay)."""
    with transaction.atomic():
        counts = {
            "deliveries": SimDelivery.objects.all().delete()[0],
            "pushes": SimPush.objects.all().delete()[0],
            "c2b_callbacks": SimC2BCallback.objects.all().delete()[0],
            "c2b_payments": SimC2BPayment.objects.all().delete()[0],
            "c2b_registrations": SimC2BRegistration.objects.all().delete()[0],
            "scripts": SimScript.objects.all().delete()[0],
            "tokens": SimToken.objects.all().delete()[0],
            "api_calls": SimApiCall.objects.all().delete()[0],
        }
    return counts


def counters() -> dict[str, int]:
    """Requests per API and callback deliveries (the scale-out tests read these)."""
    calls = dict(SimApiCall.objects.values_list("api").annotate(n=Count("id")).values_list("api", "n"))
    deliveries = dict(
        SimDelivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    S = SimDelivery.Status
    fresh = timezone.now() - timedelta(seconds=sim_config().handset_ttl)
    return {
        "token_requests": calls.get(SimApiCall.Api.OAUTH, 0),
        "tokens_issued": SimToken.objects.count(),
        "push_requests": calls.get(SimApiCall.Api.STKPUSH, 0),
        "pushes": SimPush.objects.count(),
        "queries": calls.get(SimApiCall.Api.QUERY, 0),
        "deliveries": deliveries.get(S.SENT, 0) + deliveries.get(S.FAILED, 0),
        "deliveries_failed": deliveries.get(S.FAILED, 0),
        "deliveries_scheduled": deliveries.get(S.SCHEDULED, 0) + deliveries.get(S.SENDING, 0),
        "c2b_register_requests": calls.get(SimApiCall.Api.C2B_REGISTER, 0),
        "c2b_simulate_requests": calls.get(SimApiCall.Api.C2B_SIMULATE, 0),
        "c2b_registrations": SimC2BRegistration.objects.count(),
        "c2b_payments": SimC2BPayment.objects.count(),
        "c2b_callbacks": SimC2BCallback.objects.exclude(
            status__in=["scheduled", "sending", "cancelled"]
        ).count(),
        "handsets_open": SimHandsetSession.objects.filter(last_seen__gt=fresh)
        .values("msisdn")
        .distinct()
        .count(),
    }
