"""The simulated Daraja's behaviour behind its endpoints: accept a push (and ``trigger``
one without a client), answer a query, count every call. Each owns its transaction."""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from mpesa_plumbing.logs import mask_phone

from .. import live_index
from ..conf import SimConfig
from ..handset import presence
from ..models import SimApiCall, SimDelivery, SimPush
from ..outcomes import rules, scheduler, scripts
from ..wire import ids
from ..wire.bodies import PENDING_CODE, PENDING_DESC, query_result_body
from ..wire.errors import BEING_PROCESSED, LOCKED, NAMED_ERRORS, NO_TRANSACTION, TOO_EARLY, WireError
from ..wire.requests import PHONE_RE, PushRequest, QueryRequest, callback_url_allowed, parse_amount
from ..wire.requests import product_mismatch as is_product_mismatch
from . import tokens

logger = logging.getLogger("simulator")


@dataclass(frozen=True)
class PushOutcome:
    push: SimPush
    plan: rules.Plan
    early: SimDelivery | None  # send before answering (fault before_response)
    prompt: dict[str, Any] | None  # show on the open handset pages


def record_call(
    api: str,
    status: int,
    *,
    error_code: str = "",
    fault: str = "",
    checkout: str = "",
    call: int | None = None,
) -> None:
    """Every simulated API request is a row: the control API's counters count them. ``call``
    is the row the query door already wrote for this request (gateway.query_door)."""
    fields = dict(http_status=status, error_code=error_code[:16], fault=fault[:32])
    if checkout:
        fields["checkout_request_id"] = checkout[:64]
    if call is None:
        SimApiCall.objects.create(api=api, **fields)
    else:
        SimApiCall.objects.filter(pk=call).update(**fields)


SUBSCRIBER_LOCK_CLASS = 0x53494D  # "SIM": the namespace of our PostgreSQL advisory locks


def _lock_subscriber(phone: str) -> None:
    """Serialise pushes to one phone until the transaction ends, so two concurrent pushes
    cannot both pass the open-prompt check (§3.3 "Unable to lock subscriber"). SQLite needs
    nothing: its IMMEDIATE transactions already run one writer at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SUBSCRIBER_LOCK_CLASS, int(phone[-9:])])


def _open_prompt(phone: str) -> bool:
    now = timezone.now()
    return (
        SimPush.objects.filter(phone=phone)
        .filter(Q(result_code="", answer_by__gt=now) | Q(completes_at__gt=now))
        .exists()
    )


def _create_push(request: PushRequest, *, now) -> SimPush:
    fields = dict(
        merchant_request_id=ids.merchant_request_id(),
        shortcode=request.shortcode,
        transaction_type=request.transaction_type,
        party_a=request.party_a,
        party_b=request.party_b,
        phone=request.phone,
        amount=request.amount,
        account_reference=request.account_reference,
        transaction_desc=request.transaction_desc,
        callback_url=request.callback_url,
        created_at=now,
    )
    for attempt in range(5):
        counter = None if attempt == 0 else secrets.randbelow(1000)
        checkout_id = ids.checkout_request_id(phone=request.phone, moment=now, counter=counter)
        try:
            with transaction.atomic():  # savepoint: a clash leaves the outer transaction usable
                return SimPush.objects.create(checkout_request_id=checkout_id, plan_source="", **fields)
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free CheckoutRequestID")


def push_accept(
    request: PushRequest, *, token: str, config: SimConfig, plan: rules.Plan | None = None
) -> PushOutcome:
    """Record an accepted push and schedule its outcome (§3.2). Raises WireError for the
    synchronous refusals decided here: an open prompt on the phone (§3.3 "Unable to lock
    subscriber") and scripted push errors. ``plan`` overrides the rules (trigger)."""
    now = timezone.now()
    early, prompt, push = None, None, None
    with transaction.atomic():
        _lock_subscriber(request.phone)
        if _open_prompt(request.phone):
            raise WireError(*LOCKED)
        plan = rules.resolve_plan(
            phone=request.phone,
            amount=request.amount,
            config=config,
            script=plan or scripts.take_phone_plan(request.phone),
            product_mismatch=is_product_mismatch(request, config.merchant),
            handset_open=presence.handset_open(request.phone, config=config),
        )
        if not plan.faults.push_error:
            push = _create_push(request, now=now)
            live_index.announce(push.pk)  # after commit: the new row on open index pages
            if plan.result_code is None:
                push.plan_source = plan.source
                push.answer_by = now + timedelta(seconds=config.pin_window)
                push.save(update_fields=["plan_source", "answer_by"])
                prompt = presence.prompt_payload(push, config=config)
            else:
                decision = scheduler.decide(push, plan, start=now, config=config)
                early = decision.early
                scheduler.wake_after_commit([d for d in decision.deliveries if d is not early])
            if plan.faults.expire_token:
                tokens.token_revoke(token, reason="fault:expire_token")
    if push is None:  # raised after the commit: the script's use stays consumed
        raise WireError(*NAMED_ERRORS[plan.faults.push_error])
    logger.info(
        "simulated push accepted (%s, %s)",
        ids.mask_checkout_request_id(push.checkout_request_id),
        plan.source,
        extra={"event": "simulator.push", "phone": mask_phone(request.phone), "amount": request.amount},
    )
    return PushOutcome(push=push, plan=plan, early=early, prompt=prompt)


def push_trigger(data: dict[str, Any], *, config: SimConfig) -> PushOutcome:
    """Like Stripe CLI's ``trigger``: a push with a scripted outcome (default 0) whose callback
    goes to ``callback_url``, no Daraja client needed. Raises rules.ScriptError/WireError."""
    phone = str(data.get("phone") or rules.TEST_MSISDN)
    if not PHONE_RE.match(phone):
        raise rules.ScriptError("phone must look like 2547XXXXXXXX or 2541XXXXXXXX")
    amount = parse_amount(data.get("amount", 1))
    if amount is None:
        raise rules.ScriptError("amount must be a whole number of shillings")
    if not callback_url_allowed(data.get("callback_url"), config.allowed_callback_hosts):
        raise rules.ScriptError("callback_url must be http(s) on a host in SIMULATOR_ALLOWED_CALLBACK_HOSTS")
    own = ("phone", "amount", "callback_url", "account_reference")
    plan = rules.parse_script_plan({k: v for k, v in data.items() if k not in own}, source="trigger")
    merchant = config.merchant
    request = PushRequest(
        shortcode=merchant.shortcode,
        password="",
        timestamp=ids.daraja_timestamp(timezone.now()),
        transaction_type=merchant.transaction_type,
        amount=amount,
        party_a=phone,
        party_b=merchant.party_b,
        phone=phone,
        callback_url=data["callback_url"],
        transaction_desc="Trigger",
        account_reference=str(data.get("account_reference") or "TRIGGER"),
    )
    return push_accept(request, token="", config=config, plan=plan)


def query_answer(request: QueryRequest, *, config: SimConfig) -> dict[str, str]:
    """§4: "Invalid CheckoutRequestID" within SIMULATOR_QUERY_TOO_EARLY_SECONDS of the push
    (§13.4), then pending (shape by SIMULATOR_QUERY_PENDING_SHAPE) until the outcome is final,
    then the same code the callback carries. Raises WireError (unknown id, too early, "being
    processed")."""
    push = SimPush.objects.filter(
        checkout_request_id=request.checkout_request_id, shortcode=request.shortcode
    ).first()
    if push is None:
        raise WireError(*NO_TRANSACTION)
    now = timezone.now()
    if (now - push.created_at).total_seconds() < config.query_too_early_seconds:
        raise WireError(*TOO_EARLY)
    if not push.decided and push.answer_by and push.answer_by <= now:
        scheduler.settle_unanswered(config=config)  # the query must not see a stale prompt
        push.refresh_from_db()
    pending = (
        not push.decided
        or push.completes_at > now
        or (push.query_pending_until is not None and push.query_pending_until > now)
    )
    if pending and config.query_pending_shape == "500":
        raise WireError(*BEING_PROCESSED)
    return query_result_body(
        merchant_request_id=push.merchant_request_id,
        checkout_request_id=push.checkout_request_id,
        result_code=PENDING_CODE if pending else push.result_code,
        result_desc=PENDING_DESC if pending else push.query_result_desc,
    )
