"""The only writers of payment state. Every transition is a conditional UPDATE that reports
who won; effects (ledger credit, order paid) happen in the winner's transaction; pushes to
browsers happen after commit.

Lock order, whenever several rows are written in one transaction: payment → order/wallet →
ledger entry.
"""

from .callbacks import callback_process, callback_receive, callback_replay, callback_store
from .initiate import (
    IdempotencyConflict,
    InitiateResult,
    InitiationRefused,
    OrderAlreadyPaid,
    PromptInProgress,
    SubscriberLocked,
    payment_create,
    payment_initiate,
    payment_mark_pushed,
    payment_mark_rejected,
    payment_mark_unknown,
)
from .settle import Applied, payment_apply_result, payment_mark_reviewed
from .transitions import payment_transition, payments_expire_overdue

__all__ = [
    "Applied",
    "callback_process",
    "callback_receive",
    "callback_replay",
    "callback_store",
    "IdempotencyConflict",
    "InitiateResult",
    "InitiationRefused",
    "OrderAlreadyPaid",
    "PromptInProgress",
    "SubscriberLocked",
    "payment_apply_result",
    "payment_create",
    "payment_initiate",
    "payment_mark_pushed",
    "payment_mark_rejected",
    "payment_mark_reviewed",
    "payment_mark_unknown",
    "payment_transition",
    "payments_expire_overdue",
]
