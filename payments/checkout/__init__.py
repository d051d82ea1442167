"""The only writers of payment state. Every transition is a conditional UPDATE that reports
who won; the payable's effect (``payable_paid``: a ledger credit, an order marked paid, a fee
held) happens in the winner's transaction; pushes to browsers and signals happen after commit.

Lock order, whenever several rows are written in one transaction: payment → payable → the
payable's own rows (ledger entry, escrow event).
"""

from .c2b import (
    C2BActionRefused,
    c2b_attach,
    c2b_mark_refunded,
    c2b_process,
    c2b_receive,
    c2b_replay,
    c2b_validate,
)
from .callbacks import callback_process, callback_receive, callback_replay, callback_store
from .initiate import (
    IdempotencyConflict,
    InitiateResult,
    InitiationRefused,
    PayableSettled,
    PromptInProgress,
    SubscriberLocked,
    payment_create,
    payment_initiate,
    payment_mark_pushed,
    payment_mark_rejected,
    payment_mark_unknown,
)
from .settle import Applied, payment_apply_result, payment_mark_reviewed
from .transitions import payment_stop_by_customer, payment_transition, payments_expire_overdue

__all__ = [
    "Applied",
    "C2BActionRefused",
    "c2b_attach",
    "c2b_mark_refunded",
    "c2b_process",
    "c2b_receive",
    "c2b_replay",
    "c2b_validate",
    "callback_process",
    "callback_receive",
    "callback_replay",
    "callback_store",
    "IdempotencyConflict",
    "InitiateResult",
    "InitiationRefused",
    "PayableSettled",
    "PromptInProgress",
    "SubscriberLocked",
    "payment_apply_result",
    "payment_create",
    "payment_initiate",
    "payment_mark_pushed",
    "payment_mark_rejected",
    "payment_mark_reviewed",
    "payment_mark_unknown",
    "payment_stop_by_customer",
    "payment_transition",
    "payments_expire_overdue",
]
