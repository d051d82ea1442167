"""How a callback is sent: one POST per delivery row, and the job source that sends what is due.

At most once, like Daraja (§6.4): a row goes SCHEDULED → SENDING (committed before the POST)
→ SENT/FAILED and is never retried. A process that dies before SENDING leaves a leased row
whose lease runs out, so another process sends it (nothing lost); one that dies during the
POST leaves SENDING, which the sweep marks FAILED "interrupted" (nothing sent twice, and
nothing lost silently: it shows in ``tail`` and can be resent).
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.utils import timezone

from mpesa_plumbing.jobs import claim_due

from . import live_index
from .conf import SimConfig, sim_config
from .handset import presence
from .models import SimDelivery
from .outcomes import scheduler
from .wire.errors import JSON_CONTENT_TYPE
from .wire.ids import mask_checkout_request_id
from .wire.requests import callback_url_allowed

logger = logging.getLogger("simulator.delivery")
S = SimDelivery.Status
EXCERPT_CHARS = 500
BATCH = 50
INTERRUPTED = "interrupted: the sending process stopped mid-POST (not retried, §6.4)"


@dataclass(frozen=True)
class Attempt:
    status: int | None
    excerpt: str
    duration_ms: float
    error: str


def post_callback(
    *, url: str, body: str, shortcode: str | None, config: SimConfig, timeout: float | None = None
) -> Attempt:
    """One POST (§6.1): JSON with ``charset=UTF-8``, a ``BusinessShortCode`` header (STK; C2B
    passes None: none was observed there), no redirects followed, a short timeout
    (SIMULATOR_CALLBACK_TIMEOUT_SECONDS unless ``timeout``), proxies from the environment ignored."""
    if not callback_url_allowed(url, config.allowed_callback_hosts):  # settings may have changed
        return Attempt(None, "", 0.0, "callback host not in SIMULATOR_ALLOWED_CALLBACK_HOSTS")
    headers = {"Content-Type": JSON_CONTENT_TYPE}
    if shortcode is not None:
        headers["BusinessShortCode"] = shortcode
    started = time.perf_counter()
    try:
        limit = config.callback_timeout if timeout is None else timeout
        with httpx.Client(timeout=limit, follow_redirects=False, trust_env=False) as http:
            response = http.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return Attempt(None, "", _ms(started), f"{exc.__class__.__name__}: {exc}"[:255])
    return Attempt(response.status_code, response.text[:EXCERPT_CHARS], _ms(started), "")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _start(pk: int) -> SimDelivery | None:
    """SCHEDULED → SENDING, committed before the POST (one winner)."""
    now = timezone.now()
    if not SimDelivery.objects.filter(pk=pk, status=S.SCHEDULED).update(status=S.SENDING, attempted_at=now):
        return None
    return SimDelivery.objects.select_related("push").get(pk=pk)


def _finish(row: SimDelivery, attempt: Attempt) -> SimDelivery:
    row.status = S.SENT if attempt.status is not None else S.FAILED
    row.response_status = attempt.status
    row.response_excerpt = attempt.excerpt
    row.duration_ms = attempt.duration_ms
    row.error = attempt.error
    row.lease_until = None
    row.save(
        update_fields=["status", "response_status", "response_excerpt", "duration_ms", "error", "lease_until"]
    )
    live_index.announce(row.push_id)  # the attempt's answer on open index pages
    logger.info(
        "simulated callback %s #%s → %s",
        mask_checkout_request_id(row.push.checkout_request_id),
        row.pk,
        attempt.status or attempt.error,
        extra={"event": "simulator.delivery", "kind": row.kind, "ms": attempt.duration_ms},
    )
    return row


def send_delivery(pk: int, *, config: SimConfig | None = None) -> SimDelivery | None:
    """Send one row now (the runner, an inline early callback, a resend). None if another
    worker already took it."""
    config = config or sim_config()
    row = _start(pk)
    if row is None:
        return None
    attempt = post_callback(url=row.url, body=row.body, shortcode=row.push.shortcode, config=config)
    return _finish(row, attempt)


def _send_burst(pks: list[int], config: SimConfig) -> None:
    """The concurrent-duplicates fault: every POST of the burst starts together. Database
    work stays in this thread; the extra threads only do HTTP."""
    rows = [row for pk in pks if (row := _start(pk)) is not None]
    if not rows:
        return
    barrier = threading.Barrier(len(rows))

    def fire(row: SimDelivery) -> Attempt:
        barrier.wait(timeout=config.callback_timeout)
        return post_callback(url=row.url, body=row.body, shortcode=row.push.shortcode, config=config)

    with ThreadPoolExecutor(max_workers=len(rows), thread_name_prefix="sim-burst") as pool:
        attempts = list(pool.map(fire, rows))
    for row, attempt in zip(rows, attempts, strict=True):
        _finish(row, attempt)


def _sweep_interrupted(config: SimConfig) -> int:
    cutoff = timezone.now() - timedelta(seconds=config.callback_timeout + 60)
    stuck = SimDelivery.objects.filter(status=S.SENDING, attempted_at__lt=cutoff)
    if not stuck.exists():  # the usual pass: a read, not an UPDATE that takes SQLite's write lock
        return 0
    return stuck.update(status=S.FAILED, error=INTERRUPTED, lease_until=None)


def deliver_due(*, limit: int = BATCH) -> int:
    """The ``simulator.deliver`` job source: settle unanswered handset prompts (1037), then
    lease and send the due callbacks. Returns how many things it handled."""
    config = sim_config()
    settled = scheduler.settle_unanswered(config=config)
    for push in settled:
        presence.notify_closed_sync(
            push.phone,
            checkout_request_id=push.checkout_request_id,
            result_code=push.result_code,
            reason="timeout",
        )
    handled = len(settled) + _sweep_interrupted(config)
    pks = claim_due(
        SimDelivery.objects.filter(status=S.SCHEDULED),
        due_field="due_at",
        lease_field="lease_until",
        lease_seconds=config.callback_timeout + 30,
        limit=limit,
    )
    rows = list(SimDelivery.objects.filter(pk__in=pks).order_by("due_at", "pk").values_list("pk", "burst"))
    done_bursts: set[str] = set()
    for pk, burst in rows:
        if not burst:
            send_delivery(pk, config=config)
        elif burst not in done_bursts:
            done_bursts.add(burst)
            _send_burst([p for p, b in rows if b == burst], config)
    return handled + len(pks)


def deliver_push_now(checkout_request_id: str) -> int:
    """Send this push's due rows from the calling process (``manage.py simulator fire``)."""
    pks = claim_due(
        SimDelivery.objects.filter(status=S.SCHEDULED, push__checkout_request_id=checkout_request_id),
        due_field="due_at",
        lease_field="lease_until",
        lease_seconds=60,
        limit=BATCH,
    )
    config = sim_config()
    for pk in SimDelivery.objects.filter(pk__in=pks).order_by("due_at", "pk").values_list("pk", flat=True):
        send_delivery(pk, config=config)
    return len(pks)
