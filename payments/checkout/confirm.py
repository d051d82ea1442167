"""Confirm by query: ask Daraja (STK Query) what happened to a push.

One place for the question, used by the reconciler (an open payment with no answer yet) and
by callback processing (``DARAJA_CONFIRM_SUCCESS_WITH_QUERY``: an unsigned success callback is
believed only once the query agrees). Answers settle through ``payment_apply_result``.

Daraja rate-limits STK Query per shortcode (HTTP 429 at about 5 per 60 s in the sandbox,
§13.4), so every query first takes a slot of ``DARAJA_QUERY_RATE`` (``5/60``: five per 60 s)
counted in the shared cache, i.e. across every process. Without a slot the query is not sent:
the answer is "not yet, ask again in N seconds", like Daraja's own pending answers. When
Daraja answers 429 anyway, its Retry-After pauses every query for that shortcode, in every
process (the queries of other payments would otherwise keep its window full).
"""

import time

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache

from ..daraja.answers import RATE_LIMITED
from ..daraja.client import DarajaClient
from ..daraja.errors import DarajaError
from ..daraja.payloads import PENDING_RESULT_CODE, StkResult
from ..models import Payment
from .settle import payment_apply_result

NOT_ASKED = "not asked: our STK Query rate (DARAJA_QUERY_RATE) is used up for now"


def _pause_key(shortcode: str) -> str:
    return f"daraja:query-pause:{shortcode}"


def _query_slot(shortcode: str) -> float:
    """0 when a query may be sent now (its slot is taken); else seconds until one may be:
    while Daraja's last 429 asked everyone to wait, or until the next window of our rate."""
    paused_until = cache.get(_pause_key(shortcode))
    if paused_until and (left := paused_until - time.time()) > 0:
        return left
    rate = settings.DARAJA_QUERY_RATE
    if not rate:
        return 0.0
    count, _, period = rate.partition("/")
    limit, seconds = int(count), float(period or 60)
    window = int(time.time() // seconds)
    key = f"daraja:query-rate:{shortcode}:{window}"
    cache.add(key, 0, timeout=int(seconds) + 5)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr: a fresh window
        cache.add(key, 1, timeout=int(seconds) + 5)
        used = 1
    return 0.0 if used <= limit else (window + 1) * seconds - time.time() + 0.5


def stk_query(checkout_request_id: str) -> StkResult:
    """The query, from sync code, within the query rate. Under the database bridge the call
    runs on the caller's event loop (its pooled HTTP client); elsewhere on a short-lived loop.
    Raises DarajaError; every "not yet" (Daraja's, or no slot: ``NOT_ASKED``) comes back as
    ``result.pending`` with ``retry_after`` when known."""
    client = DarajaClient()
    wait = _query_slot(client.config.shortcode)
    if wait:
        return StkResult(
            checkout_request_id=checkout_request_id,
            result_code=PENDING_RESULT_CODE,
            result_desc=NOT_ASKED,
            retry_after=wait,
        )
    answer = async_to_sync(client.stk_query)(checkout_request_id=checkout_request_id)
    if answer.pending and answer.retry_after and answer.result_desc.startswith(RATE_LIMITED):
        # A 429 is about the shortcode, not this payment: every process waits it out, or the
        # queries of the others keep Daraja's window full and none gets through (§13.4).
        cache.set(
            _pause_key(client.config.shortcode),
            time.time() + answer.retry_after,
            timeout=answer.retry_after + 1,
        )
    return answer


def success_confirmed_by_query(payment: Payment, result: StkResult) -> str | None:
    """None when Daraja's query confirms the success ``result``; otherwise why not. A final
    non-success answer is applied at once (a forged success then settles as what really
    happened)."""
    try:
        answer = stk_query(result.checkout_request_id)
    except DarajaError as exc:
        return f"confirmation query failed: {exc.error_code} {exc.error_message}"
    if answer.pending:
        return "confirmation query: still processing"
    if answer.is_success:
        return None
    payment_apply_result(payment=payment, result=answer, source=Payment.Source.QUERY)
    return f"confirmation query says {answer.result_code}: success not trusted"
