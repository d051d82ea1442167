"""Receipts that stay: what a paid payment's receipt says (page and PDF), from the payment
alone, so it reads the same after a reload, a day later or from the history.

The paying number is the callback's (``paid_phone``), else the prompted one: the settlement
stores the prompted number when Daraja masks, hashes or leaves out PhoneNumber (§13.1). A
payment settled by STK Query has no receipt code yet: "Confirmed by M-Pesa (receipt to
follow)" until its late callback completes it.
"""

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from django.utils import dateformat
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from mpesa_plumbing.logs import mask_phone
from payments.models import Payment
from payments.money import format_kes

from .models import Booking, Order, Wallet

NAIROBI = ZoneInfo("Africa/Nairobi")
SHOP = "Duka"


def paid_for(payment: Payment) -> str:
    """What the payment was for, in the customer's words."""
    payable = payment.payable
    if isinstance(payable, Order):
        return _("%(description)s (order %(reference)s)") % {
            "description": payable.description,
            "reference": payable.reference,
        }
    if isinstance(payable, Booking):
        return _("Booking fee: %(service)s (booking %(reference)s)") % {
            "service": payable.service,
            "reference": payable.reference,
        }
    if isinstance(payable, Wallet):
        return _("Deposit to your Duka wallet")
    return payment.transaction_desc


def receipt_to_follow() -> str:
    return _("Confirmed by M-Pesa (receipt to follow)")


@dataclass(frozen=True)
class Receipt:
    payment: Payment
    code: str | None  # the M-Pesa receipt; None while a query-settled payment waits for it
    paid_at: datetime  # in Nairobi time
    amount: str  # KES 2,400
    phone: str  # masked: 2547****5678
    paid_for: str
    reference: str  # the account reference shown on the customer's phone

    @property
    def code_text(self) -> str:
        return self.code or receipt_to_follow()

    @property
    def file_name(self) -> str:
        return f"duka-receipt-{self.code or self.payment.public_id.hex[:10]}.pdf"


def receipt_for(payment: Payment) -> Receipt:
    """The receipt of a paid payment (the caller checks that it is paid and the viewer's)."""
    moment = payment.transaction_date or payment.settled_at or payment.updated_at
    return Receipt(
        payment=payment,
        code=payment.receipt_number or None,
        paid_at=moment.astimezone(NAIROBI),
        amount=format_kes(payment.amount),
        phone=mask_phone(payment.paid_phone or payment.phone),
        paid_for=paid_for(payment),
        reference=payment.account_reference,
    )


def nairobi_text(moment: datetime) -> str:
    """``2 Dec 2026, 14:03 EAT`` (Kiswahili ``2 Dis 2026, 14:03 EAT``): as the page shows it
    (Django's ``j M Y, H:i T``, months in the active language)."""
    return dateformat.format(moment.astimezone(NAIROBI), "j M Y, H:i T")


def receipt_rows(receipt: Receipt) -> list[tuple[str, str]]:
    """The receipt's lines, in order, for the page and the PDF alike."""
    return [
        (_("M-Pesa receipt"), receipt.code_text),
        (_("Date and time"), nairobi_text(receipt.paid_at)),
        (_("Amount"), receipt.amount),
        (_("Paid from"), receipt.phone),
        (_("Paid for"), receipt.paid_for),
        (_("Account reference"), receipt.reference),
    ]


def receipt_pdf(receipt: Receipt) -> bytes:
    """One A5 page, black on white, drawn with ReportLab's built-in Helvetica."""
    buffer = BytesIO()
    width, height = A5
    pdf = canvas.Canvas(buffer, pagesize=A5, pageCompression=1)
    title = _("M-Pesa payment receipt")
    pdf.setTitle(f"{SHOP} · {title} {receipt.code or ''}".strip())
    pdf.setAuthor(SHOP)
    pdf.setSubject(receipt.paid_for)
    margin, y = 16 * mm, height - 22 * mm
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(margin, y, SHOP)
    y -= 9 * mm
    pdf.setFont("Helvetica", 13)
    pdf.drawString(margin, y, title)
    y -= 5 * mm
    pdf.setLineWidth(0.6)
    pdf.line(margin, y, width - margin, y)
    y -= 10 * mm
    for label, value in receipt_rows(receipt):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(margin, y, label)
        y -= 5.5 * mm
        pdf.setFont("Helvetica-Bold", 12)
        for line in _wrap(pdf, value, width - 2 * margin):
            pdf.drawString(margin, y, line)
            y -= 6 * mm
        y -= 3 * mm
    pdf.setFont("Helvetica", 8)
    pdf.drawString(margin, 14 * mm, _("Payment %(id)s") % {"id": receipt.payment.public_id})
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrap(pdf: canvas.Canvas, text: str, room: float) -> list[str]:
    """Greedy word wrap at 12 pt bold (long descriptions stay on the page)."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and pdf.stringWidth(candidate, "Helvetica-Bold", 12) > room:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines
