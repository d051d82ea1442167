"""Confirm by query: ask Daraja (STK Query) what happened to a push.

One place for the question, used by the reconciler (an open payment with no answer yet) and
by callback processing (``DARAJA_CONFIRM_SUCCESS_WITH_QUERY``: an unsigned success callback is
believed only once the query agrees). Answers settle through ``payment_apply_result``.
"""

from asgiref.sync import async_to_sync

from ..daraja.client import DarajaClient
from ..daraja.errors import DarajaError
from ..daraja.payloads import StkResult
from ..models import Payment
from .settle import payment_apply_result


def stk_query(checkout_request_id: str) -> StkResult:
    """The query, from sync code. Under the database bridge the call runs on the caller's
    event loop (its pooled HTTP client); elsewhere on a short-lived loop. Raises DarajaError;
    a pending answer comes back as ``result.pending``."""
    return async_to_sync(DarajaClient().stk_query)(checkout_request_id=checkout_request_id)


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
