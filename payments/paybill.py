"""Paying from the M-Pesa menu: each payment's own Pay Bill account number, when a payment may
still be paid that way, and the instructions a checkout shows (Lipa na M-Pesa → Pay Bill →
business number → **account number** → amount).

Seven characters from an alphabet without look-alikes (no 0/O, 1/I/L, no U/V pair), the last
one a check character: one mistyped character or two swapped neighbours never name another
payment, they name none (and the payment goes to review instead of to a stranger). Unique
for every payment, enforced by the database. What the customer typed is read back
forgivingly: case, spaces, dashes and a leading ``#`` do not matter (§14.10.3: BillRefNumber
arrives exactly as typed).
"""

import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import Payment
from .money import format_kes

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"  # 29 symbols, a prime: the check catches every swap
BODY_LENGTH = 6
LENGTH = BODY_LENGTH + 1
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_SEPARATORS = re.compile(r"[\s\-_.#]+")


def _check_character(body: str) -> str:
    """Weighted sum mod 29 (weights 1..6, all non-zero mod a prime): a single substitution
    changes the sum; swapping neighbours a, b changes it by (a - b), never 0 mod 29."""
    total = sum((position + 1) * _INDEX[ch] for position, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_paybill_account() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + _check_character(body)


def read_paybill_account(typed: str) -> str | None:
    """The account number the customer meant, or None when what they typed cannot be one of
    ours (wrong length, a foreign character, a failed check)."""
    text = _SEPARATORS.sub("", typed or "").upper()
    if len(text) != LENGTH or any(ch not in _INDEX for ch in text):
        return None
    body, check = text[:BODY_LENGTH], text[BODY_LENGTH:]
    return text if _check_character(body) == check else None


def spaced(account: str) -> str:
    """For reading aloud and copying: ``K7M 4Q9X``-style groups (typing either form works)."""
    return f"{account[:3]} {account[3:]}" if len(account) == LENGTH else account


# Outcomes after which the prompt is unlikely to work again soon: the menu comes first
# (phone unreachable 1037/1036, expired 1019, another transaction open 1001, SIM toolkit 1025/9999).
PAYBILL_FIRST_CODES = frozenset({"1037", "1036", "1019", "1001", "1025", "9999"})


def paybill_open(payment: Payment) -> bool:
    """May this payment still be paid from the menu? Not paid, not under review, its account
    within ``PAYMENTS_PAYBILL_ACCOUNT_HOURS``. (A failed or timed-out prompt does not close
    it: that is exactly when the menu is the way forward.)"""
    if not settings.PAYMENTS_PAYBILL or not payment.paybill_account:
        return False
    if payment.status in (Payment.Status.PAID, Payment.Status.NEEDS_REVIEW):
        return False
    if payment.settled_by == Payment.Source.CUSTOMER:  # stopped: a wrong number, started again
        return False
    window = timedelta(hours=settings.PAYMENTS_PAYBILL_ACCOUNT_HOURS)
    return payment.created_at + window > timezone.now()


def paybill_instructions(payment: Payment) -> dict[str, Any] | None:
    """What the checkout shows under "Didn't get the prompt? Pay from the M-Pesa menu", as JSON
    primitives; None when the menu cannot pay this payment. ``primary``: the prompt failed in
    a way the menu gets round, so it is the next step rather than Try again."""
    if not paybill_open(payment):
        return None
    return {
        "business_number": str(settings.DARAJA_C2B_SHORTCODE),
        "account": payment.paybill_account,
        "account_display": spaced(payment.paybill_account),
        "amount": int(payment.amount),
        "amount_display": format_kes(payment.amount),
        "primary": payment.result_code in PAYBILL_FIRST_CODES or payment.status == Payment.Status.EXPIRED,
        "closes_at": (
            payment.created_at + timedelta(hours=settings.PAYMENTS_PAYBILL_ACCOUNT_HOURS)
        ).isoformat(),
    }
