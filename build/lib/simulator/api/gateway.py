"""The gateway in front of the STK Query (§13.4, §13.5): before Daraja looks at a query, its
gateway may answer instead. Every query is recorded here first, as one SimApiCall row that
the view completes with its answer, so what is counted below are rows every server process
writes to the one database:

- SpikeArrest (SIMULATOR_QUERY_RATE_LIMIT, e.g. ``5/60``): at most COUNT queries per SECONDS
  per shortcode, over a sliding window; refused queries count too. Beyond it: HTTP 429 in
  Apigee's layout, with ``Retry-After`` (seconds until the window frees a slot).
- A gateway hiccup (SIMULATOR_GATEWAY_HICCUP_EVERY=N): the Nth, 2Nth, … query since the last
  reset answers the ``html`` fault (HTTP 200 with an HTML page), whatever else it would get.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ..conf import RateLimit, SimConfig
from ..models import SimApiCall
from ..wire.gateway import retry_after_seconds
from ..wire.requests import numeric_text

QUERY = SimApiCall.Api.QUERY
GATEWAY_LOCK_CLASS = 0x534947  # "SIG": PostgreSQL advisory lock namespace of the query door
HICCUP, SPIKE_ARREST = "hiccup", "spike_arrest"


@dataclass(frozen=True)
class Door:
    call_id: int  # the SimApiCall row of this query (the view records its answer there)
    refusal: str = ""  # "", HICCUP or SPIKE_ARREST: the gateway answers, Daraja never sees it
    retry_after: int | None = None  # SPIKE_ARREST: seconds until the window frees a slot


def query_keys(data: dict[str, Any]) -> tuple[str, str]:
    """The BusinessShortCode and CheckoutRequestID of a query body, "" where it has none (the
    gateway keys its count by shortcode before Daraja validates anything)."""
    shortcode = numeric_text(data.get("BusinessShortCode")) or ""
    checkout = data.get("CheckoutRequestID")
    return (shortcode if len(shortcode) <= 16 else ""), (checkout[:64] if isinstance(checkout, str) else "")


def _serialise() -> None:
    """One query door at a time across processes, so two queries cannot both take the last
    slot. SQLite needs nothing: its IMMEDIATE transactions already run one writer at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [GATEWAY_LOCK_CLASS, 0])


def _spike_arrest_wait(shortcode: str, limit: RateLimit, now: datetime) -> int | None:
    """None while the window has a free slot; else the Retry-After in seconds. This refused
    query counts as well, so a slot frees when all but COUNT-1 of the calls have left."""
    window = SimApiCall.objects.filter(
        api=QUERY, shortcode=shortcode, created_at__gt=now - timedelta(seconds=limit.period)
    )
    times = list(window.order_by("created_at", "pk").values_list("created_at", flat=True))
    if len(times) < limit.count:
        return None
    times.append(now)
    frees_at = times[len(times) - limit.count] + timedelta(seconds=limit.period)
    return retry_after_seconds((frees_at - now).total_seconds())


def query_door(*, shortcode: str, checkout: str, config: SimConfig) -> Door:
    """Record this query and decide whether the gateway answers it (see the module docstring)."""
    limit, every = config.query_rate_limit, config.gateway_hiccup_every
    with transaction.atomic():
        if limit or every:
            _serialise()
        now = timezone.now()
        refusal, retry_after = "", None
        if every and (SimApiCall.objects.filter(api=QUERY).count() + 1) % every == 0:
            refusal = HICCUP
        elif limit and (retry_after := _spike_arrest_wait(shortcode, limit, now)) is not None:
            refusal = SPIKE_ARREST
        row = SimApiCall.objects.create(
            api=QUERY,
            http_status={HICCUP: 200, SPIKE_ARREST: 429}.get(refusal, 0),  # 0: being answered
            fault=refusal,
            shortcode=shortcode,
            checkout_request_id=checkout,
            created_at=now,
        )
    return Door(call_id=row.pk, refusal=refusal, retry_after=retry_after)
