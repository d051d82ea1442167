"""The simulated Daraja's C2B behaviour behind its endpoints (§14): register URLs for a
shortcode, and accept a customer's payment (simulate API, handset menu, control API), which
the scheduler turns into due Validation/Confirmation rows. Each owns its transaction."""

import logging
from dataclasses import replace

from django.db import IntegrityError, transaction
from django.utils import timezone

from mpesa_plumbing.logs import mask_phone

from ..conf import SimConfig
from ..models import SimC2BPayment, SimC2BRegistration
from ..outcomes import c2b_scheduler
from ..outcomes.c2b_faults import C2BFaults, resolve_c2b_faults
from ..wire import ids
from ..wire.c2b_bodies import TRANSACTION_TYPES, mistyped
from ..wire.c2b_errors import ALREADY_REGISTERED
from ..wire.c2b_requests import COMMAND_KIND, PayRequest, RegisterRequest, check_c2b_shortcode
from ..wire.errors import WireError

logger = logging.getLogger("simulator.c2b")


def register(request: RegisterRequest, *, version: str, config: SimConfig) -> SimC2BRegistration:
    """§14.2/§14.4: sandbox overwrites; production refuses a second registration with
    ``500.003.1001 "Urls are already registered."`` until it is deleted (control API).
    Raises C2BShortcodeError (not a C2B shortcode) or WireError."""
    check_c2b_shortcode(request.shortcode, config.c2b)
    fields = dict(
        version=version,
        response_type=request.response_type,
        confirmation_url=request.confirmation_url,
        validation_url=request.validation_url,
        originator_conversation_id=ids.merchant_request_id(),  # §14.3: the same new-style id
        registered_at=timezone.now(),
    )
    with transaction.atomic():
        current = SimC2BRegistration.objects.select_for_update().filter(shortcode=request.shortcode).first()
        if current is None:
            try:
                with transaction.atomic():
                    return SimC2BRegistration.objects.create(shortcode=request.shortcode, **fields)
            except IntegrityError:  # registered by another process meanwhile
                current = SimC2BRegistration.objects.select_for_update().get(shortcode=request.shortcode)
        if config.c2b.environment == "production":
            raise WireError(*ALREADY_REGISTERED)
        for name, value in fields.items():
            setattr(current, name, value)
        current.times_registered += 1
        current.save()
    return current


def _new_payment(request: PayRequest, *, source: str, faults: C2BFaults, plan_source: str) -> SimC2BPayment:
    registration = SimC2BRegistration.objects.filter(shortcode=request.shortcode).first()
    now = timezone.now()
    kind = COMMAND_KIND[request.command_id]
    fields = dict(
        originator_conversation_id=ids.merchant_request_id(),
        shortcode=request.shortcode,
        command_id=request.command_id,
        transaction_type=TRANSACTION_TYPES[kind],
        amount=request.amount,
        msisdn=request.msisdn,
        bill_ref_number=request.bill_ref_number,
        source=source,
        faults=faults.as_json(),
        plan_source=plan_source[:32],
        trans_time=now,
        created_at=now,
    )
    if registration is not None:
        fields |= dict(
            version=registration.version,
            response_type=registration.response_type,
            confirmation_url=registration.confirmation_url,
            validation_url=registration.validation_url,
        )
    for _ in range(5):  # the receipt is random: a clash is rare, never fatal
        try:
            with transaction.atomic():
                return SimC2BPayment.objects.create(trans_id=ids.receipt_number(now), **fields)
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free TransID")


def pay(
    request: PayRequest,
    *,
    source: str,
    config: SimConfig,
    faults: C2BFaults | None = None,
    mistype: bool = False,
    overpay: int = 0,
) -> SimC2BPayment:
    """A customer pays ``request`` (the simulate API and the handset: exactly as given; the
    control API may mistype the account or add ``overpay`` shillings first)."""
    if mistype:
        request = replace(request, bill_ref_number=mistyped(request.bill_ref_number))
    if overpay:
        request = replace(request, amount=request.amount + overpay)
    with transaction.atomic():
        resolved, plan_source = resolve_c2b_faults(request.msisdn, faults)
        payment = _new_payment(request, source=source, faults=resolved, plan_source=plan_source)
        c2b_scheduler.schedule(payment, config=config)
    logger.info(
        "simulated C2B payment %s to %s (%s)",
        payment.trans_id,
        payment.shortcode,
        payment.decided_by or "validating",
        extra={"event": "simulator.c2b", "phone": mask_phone(request.msisdn), "amount": request.amount},
    )
    return payment
