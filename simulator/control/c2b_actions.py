"""The control API's and ``manage.py simulator``'s C2B operations: a customer pays (as typed,
mistyped, or overpaying), payments are delivered now, a callback is replayed, a registration
is deleted (Daraja's URL management tab). Shared by control/c2b_views.py and the command."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..api import c2b
from ..conf import BUY_GOODS, PAYBILL, TILL_KIND, SimConfig
from ..models import SimC2BCallback, SimC2BPayment, SimC2BRegistration
from ..outcomes.c2b_faults import C2B_FAULT_KEYS, parse_c2b_faults
from ..outcomes.rules import TEST_MSISDN, ScriptError
from ..wire.c2b_requests import validate_pay
from ..wire.errors import WireError

PAY_KEYS = {"phone", "account", "amount", "shortcode", "mistype", "overpay", *C2B_FAULT_KEYS}


def c2b_pay(data: dict[str, Any], *, config: SimConfig, source: str = "control") -> SimC2BPayment:
    """``{"phone"?, "account", "amount"?, "shortcode"?, "mistype"?, "overpay"?, faults…}``:
    the payment goes the simulate API's way (same checks, same rows). ``shortcode`` defaults
    to the first paybill of SIMULATOR_C2B_SHORTCODES; a till needs no account. Raises
    ScriptError with Daraja's words for anything the simulate API would refuse."""
    unknown = sorted(set(data) - PAY_KEYS)
    if unknown:
        raise ScriptError(f"unknown key(s): {', '.join(unknown)}")
    shortcodes = config.c2b.shortcodes
    paybills = [code for code, kind in shortcodes.items() if kind != TILL_KIND]
    shortcode = str(data.get("shortcode") or (paybills[0] if paybills else next(iter(shortcodes), "")))
    till = shortcodes.get(shortcode) == TILL_KIND
    overpay = data.get("overpay", 0)
    if isinstance(overpay, bool) or not isinstance(overpay, int) or not 0 <= overpay <= 1_000_000:
        raise ScriptError("overpay must be a whole number of shillings, 0 or more")
    mistype = data.get("mistype", False)
    if not isinstance(mistype, bool):
        raise ScriptError("mistype must be true or false")
    request = {
        "ShortCode": shortcode,
        "CommandID": BUY_GOODS if till else PAYBILL,
        "Amount": data.get("amount", 1),
        "Msisdn": str(data.get("phone") or TEST_MSISDN),
    }
    if not till:
        request["BillRefNumber"] = data.get("account")
    faults = parse_c2b_faults(data)
    try:
        wanted = validate_pay(request, config=config.c2b, max_amount=config.max_amount)
    except WireError as exc:
        raise ScriptError(f"{exc.message} ({exc.error_code})") from None
    return c2b.pay(wanted, source=source, config=config, faults=faults, mistype=mistype, overpay=overpay)


def callback_resend(callback_id: int, *, config: SimConfig) -> SimC2BCallback:
    """A new row replaying ``callback_id``'s exact body to the same URL, due now, leased to
    the caller (who sends it inline). Raises SimC2BCallback.DoesNotExist."""
    original = SimC2BCallback.objects.get(pk=callback_id)
    return SimC2BCallback.objects.create(
        payment_id=original.payment_id,
        kind=SimC2BCallback.Kind.RESEND,
        due_at=timezone.now(),
        url=original.url,
        body=original.body,
        resend_of=original,
        lease_until=timezone.now() + timedelta(seconds=config.callback_timeout + 30),
    )


def registration_delete(shortcode: str) -> None:
    """Daraja's URL management: the shortcode's URLs are gone (production may register again)."""
    deleted, _ = SimC2BRegistration.objects.filter(shortcode=shortcode).delete()
    if not deleted:
        raise SimC2BRegistration.DoesNotExist(shortcode)
