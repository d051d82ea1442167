"""The state machine on one screen: ResultCode → status, and what we tell the customer.

Logic branches on ResultCode only; ResultDesc is stored verbatim but never interpreted
(daraja-reference.md §7, §9.15).
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Payment

S = Payment.Status

# §7: 1032/1031 cancelled; 1037/1019 timed out; 0 paid; everything else failed (reason kept).
_STATUS_BY_CODE: dict[str, str] = {
    "0": S.PAID,
    "1032": S.CANCELLED,
    "1031": S.CANCELLED,
    "1037": S.TIMED_OUT,
    "1019": S.TIMED_OUT,
    "1036": S.TIMED_OUT,
}


def status_for_result_code(code: str) -> str:
    """Final status for a (non-pending) ResultCode; unknown codes are failures."""
    return _STATUS_BY_CODE.get(code, S.FAILED)


@dataclass(frozen=True)
class CustomerMessage:
    title: str  # in the active language (str() of a lazy text)
    detail: str
    retry: bool  # offer "Try again"


_BY_CODE: dict[str, CustomerMessage] = {
    "1": CustomerMessage(
        gettext_lazy("Insufficient funds"),
        gettext_lazy("Your M-Pesa balance was not enough. Top up M-Pesa (or enable Fuliza) and try again."),
        True,
    ),
    "2001": CustomerMessage(
        gettext_lazy("Wrong PIN"),
        gettext_lazy("The M-Pesa PIN entered was not correct. Try again and enter your PIN."),
        True,
    ),
    "1032": CustomerMessage(
        gettext_lazy("Cancelled"),
        gettext_lazy("You cancelled the M-Pesa prompt. Nothing was charged; you can try again."),
        True,
    ),
    "1031": CustomerMessage(
        gettext_lazy("Cancelled"),
        gettext_lazy("The M-Pesa prompt was cancelled. Nothing was charged; you can try again."),
        True,
    ),
    "1037": CustomerMessage(
        gettext_lazy("Timed out"),
        gettext_lazy(
            "We could not reach your phone or you did not answer in time. Make sure it is on and "
            "unlocked, then try again."
        ),
        True,
    ),
    "1019": CustomerMessage(
        gettext_lazy("Timed out"),
        gettext_lazy("The prompt expired before it was completed. Try again when ready."),
        True,
    ),
    "1036": CustomerMessage(
        gettext_lazy("Timed out"),
        gettext_lazy("Your phone did not acknowledge the prompt. Check your signal and try again."),
        True,
    ),
    "1001": CustomerMessage(
        gettext_lazy("Phone busy"),
        gettext_lazy(
            "Another M-Pesa transaction is in progress on your phone. Wait a minute, then try again."
        ),
        True,
    ),
    "1025": CustomerMessage(
        gettext_lazy("Prompt not delivered"),
        gettext_lazy("M-Pesa could not send the prompt to your phone. Try again."),
        True,
    ),
    "9999": CustomerMessage(
        gettext_lazy("Prompt not delivered"),
        gettext_lazy("M-Pesa could not send the prompt to your phone. Try again."),
        True,
    ),
    "17": CustomerMessage(
        gettext_lazy("Please wait"),
        gettext_lazy(
            "M-Pesa blocks the same amount to the same number within two minutes. Try again shortly."
        ),
        True,
    ),
    "8006": CustomerMessage(
        gettext_lazy("PIN locked"),
        gettext_lazy("Your M-Pesa PIN is locked. Contact Safaricom to unlock it."),
        False,
    ),
    "2028": CustomerMessage(
        gettext_lazy("Merchant problem"),
        gettext_lazy("This shop cannot take M-Pesa payments right now. Please contact us."),
        False,
    ),
    "SFC_IC0003": CustomerMessage(
        gettext_lazy("Merchant problem"),
        gettext_lazy("This shop cannot take M-Pesa payments right now. Please contact us."),
        False,
    ),
}

_BY_STATUS: dict[str, CustomerMessage] = {
    S.INITIATING: CustomerMessage(
        gettext_lazy("Sending prompt"), gettext_lazy("We are sending an M-Pesa prompt to your phone."), False
    ),
    S.PENDING: CustomerMessage(
        gettext_lazy("Check your phone"),
        gettext_lazy("Enter your M-Pesa PIN on the prompt to complete the payment."),
        False,
    ),
    S.UNKNOWN: CustomerMessage(
        gettext_lazy("Check your phone"),
        gettext_lazy(
            "We could not confirm the prompt was sent. If it reached your phone, complete it and this "
            "page will update. If money left your M-Pesa and nothing changes here, contact the shop's "
            "customer care with your M-Pesa message."
        ),
        False,
    ),
    S.EXPIRED: CustomerMessage(
        gettext_lazy("Still waiting for M-Pesa"),
        gettext_lazy(
            "We have not heard back from M-Pesa yet. If money left your account it will show here once "
            "M-Pesa confirms; you will not be charged twice. Still like this tomorrow? Contact the shop's "
            "customer care with your M-Pesa message."
        ),
        False,
    ),
    S.PAID: CustomerMessage(gettext_lazy("Paid"), gettext_lazy("Payment received. Thank you!"), False),
    S.CANCELLED: _BY_CODE["1032"],
    S.TIMED_OUT: _BY_CODE["1037"],
    S.FAILED: CustomerMessage(
        gettext_lazy("Payment failed"),
        gettext_lazy("M-Pesa could not complete the payment. Try again."),
        True,
    ),
    S.REJECTED: CustomerMessage(
        gettext_lazy("Could not start payment"),
        gettext_lazy("M-Pesa did not accept the request. Please try again shortly."),
        True,
    ),
    S.NEEDS_REVIEW: CustomerMessage(
        gettext_lazy("We are checking this payment"),
        gettext_lazy(
            "Something did not match, so we are checking it by hand. You will not be charged twice; "
            "we will contact you. Questions meanwhile? Contact the shop's customer care with your M-Pesa "
            "message."
        ),
        False,
    ),
}

# Daraja's synchronous errors (§3.3) in customer words; the raw error stays on the payment.
_BY_ERROR_CODE: dict[str, CustomerMessage] = {
    "500.003.02": CustomerMessage(
        gettext_lazy("M-Pesa is busy"),
        gettext_lazy("M-Pesa is busy right now. Please try again in a few minutes."),
        True,
    ),
    "500.003.03": CustomerMessage(
        gettext_lazy("M-Pesa is busy"),
        gettext_lazy("M-Pesa is busy right now. Please try again in a few minutes."),
        True,
    ),
    "lock": CustomerMessage(
        gettext_lazy("Prompt already on your phone"),
        gettext_lazy(
            "Another M-Pesa prompt is already open on this phone. Finish or cancel it, wait a minute, "
            "then try again."
        ),
        True,
    ),
    "unavailable": CustomerMessage(
        gettext_lazy("M-Pesa unreachable"),
        gettext_lazy("We could not reach M-Pesa. Nothing was charged; try again shortly."),
        True,
    ),
}


def phone_shown(phone: str) -> str:
    """The prompted number as the customer knows it, masked: ``254708374149`` → ``0708 ••• 149``."""
    if len(phone) != 12 or not phone.startswith("254"):
        return ""
    local = "0" + phone[3:]
    return f"{local[:4]} ••• {local[-3:]}"


STOPPED = CustomerMessage(
    gettext_lazy("Stopped"),
    gettext_lazy(
        "You stopped this attempt. Start again with the right number. If someone enters the PIN on "
        "the other phone anyway, we will see it and refund them."
    ),
    True,
)


def customer_message(payment: Payment) -> CustomerMessage:
    """What the customer sees for this payment (title, plain-language next step, retry?), as
    plain text in the active language (``translation.override`` to choose another)."""
    message = _message(payment)
    return CustomerMessage(str(message.title), str(message.detail), message.retry)


def _message(payment: Payment) -> CustomerMessage:
    if payment.status == S.CANCELLED and payment.settled_by == Payment.Source.CUSTOMER:
        return STOPPED
    if payment.status in (S.CANCELLED, S.TIMED_OUT, S.FAILED) and payment.result_code in _BY_CODE:
        return _BY_CODE[payment.result_code]
    if payment.status == S.REJECTED:
        key = payment.error_code
        if "unable to lock subscriber" in payment.error_message.lower():
            key = "lock"
        elif key.startswith("http.5"):
            key = "unavailable"
        if key in _BY_ERROR_CODE:
            return _BY_ERROR_CODE[key]
    if payment.status == S.PAID and payment.settled_by == Payment.Source.C2B:
        detail = _("Paid from the M-Pesa menu. M-Pesa receipt %(receipt)s. Thank you!")
        return CustomerMessage(_("Paid"), detail % {"receipt": payment.receipt_number}, False)
    if payment.status == S.PAID and payment.receipt_number:
        detail = _("Payment received. M-Pesa receipt %(receipt)s.")
        return CustomerMessage(_("Paid"), detail % {"receipt": payment.receipt_number}, False)
    return _BY_STATUS[payment.status]
