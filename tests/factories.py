"""Build payments through the real services (never by writing status fields directly)."""

import itertools
import json
from decimal import Decimal

from frontend.models import Order, Wallet
from payments import checkout
from payments.daraja.payloads import StkPushAccepted, StkResult, parse_stk_callback
from payments.models import Payment

_seq = itertools.count(1)


def next_phone() -> str:
    return f"2547{next(_seq):08d}"


def make_payment(
    user,
    *,
    amount: int = 100,
    phone: str | None = None,
    order: Order | None = None,
    pushed: bool = True,
    key: str | None = None,
) -> Payment:
    """A payment as ``payment_initiate`` leaves it after Daraja accepted the push: for
    ``order``, or else a deposit of ``amount`` into the user's wallet."""
    payment, _ = checkout.payment_create(
        user=user,
        phone=phone or next_phone(),
        payable=order or wallet_of(user),
        amount=None if order else amount,
        idempotency_key=key,
    )
    if pushed:
        payment = checkout.payment_mark_pushed(payment, accepted_for(payment))
    return payment


def wallet_of(user) -> Wallet:
    return Wallet.objects.get_or_create(user=user)[0]


def deposit_body(user, amount, phone) -> dict:
    """The initiate body for a deposit into ``user``'s wallet (what the wallet page sends)."""
    return {"payable": "wallet", "id": str(wallet_of(user).public_id), "amount": amount, "phone": phone}


def order_body(order: Order, phone) -> dict:
    return {"payable": "order", "id": str(order.public_id), "phone": phone}


def accepted_for(payment: Payment) -> StkPushAccepted:
    return StkPushAccepted(
        merchant_request_id=f"5220-40e9-bb16-c78ea8203{payment.pk:03d}",
        checkout_request_id=f"ws_CO_23112026120000{payment.pk:03d}{payment.phone[3:]}",
        response_code="0",
        response_description="Success. Request accepted for processing",
        customer_message="Success. Request accepted for processing",
    )


def callback_body(
    payment: Payment,
    *,
    code=0,
    amount=None,
    receipt: str | None = None,
    metadata: bool = True,
    checkout_id: str | None = None,
    phone: str | None = None,
) -> dict:
    checkout = checkout_id or payment.checkout_request_id or accepted_for(payment).checkout_request_id
    cb = {
        "MerchantRequestID": "5220-40e9-bb16-c78ea820338d11816350",
        "CheckoutRequestID": checkout,
        "ResultCode": code,
        "ResultDesc": "The service request is processed successfully." if code in (0, "0") else "Failed",
    }
    if code in (0, "0") and metadata:
        cb["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": Decimal(payment.amount if amount is None else amount)},
                {"Name": "MpesaReceiptNumber", "Value": receipt or f"SKN{payment.pk:07d}"},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": 20261123120105},
                {"Name": "PhoneNumber", "Value": int(phone or payment.phone)},
            ]
        }
    return {"Body": {"stkCallback": cb}}


def dumps(data: dict) -> str:
    return json.dumps(data, default=lambda d: float(d) if d != int(d) else int(d))


def callback_result(payment: Payment, **kwargs) -> StkResult:
    return parse_stk_callback(dumps(callback_body(payment, **kwargs)))


def query_result(payment: Payment, code: str) -> StkResult:
    return StkResult(
        checkout_request_id=payment.checkout_request_id or "", result_code=code, result_desc="query answer"
    )


def c2b_notice(
    account: str,
    amount,
    *,
    receipt: str | None = None,
    shortcode: str | None = None,
    msisdn: str = "2547 ***** 126",
    validation: bool = False,
) -> dict:
    """A C2B Validation/Confirmation body as Daraja sends it in 2025-26 (daraja-reference.md
    §14.6-14.8): every value a string, TransAmount with two decimals, names mostly absent."""
    from django.conf import settings

    return {
        "TransactionType": "Pay Bill",
        "TransID": receipt or f"TK{next(_seq):08d}",
        "TransTime": "20261201143012",
        "TransAmount": amount if isinstance(amount, str) else f"{amount}.00",
        "BusinessShortCode": shortcode or str(settings.DARAJA_C2B_SHORTCODE),
        "BillRefNumber": account,
        "InvoiceNumber": "",
        "OrgAccountBalance": "" if validation else "41880.00",
        "ThirdPartyTransID": "",
        "MSISDN": msisdn,
        "FirstName": "JOSEPH",
    }
