"""What can be paid for: any model of yours, through one small protocol and a registry.

The engine knows payables only through this module. Register a model and implement the
methods below; the engine then starts its payments, shows its reference on the phone, checks
who may pay, and runs its effect exactly once, inside the transaction that settles the payment
(so a ledger credit or an escrow hold commits or rolls back with the status)::

    from payments.payables import Payable, PayableRefused, register

    @register("invoice")
    class Invoice(Payable, models.Model):
        ...
        def payable_amount(self, requested=None):     # what is owed now, integer shillings
            return self.amount
        def payable_reference(self):                  # AccountReference on the phone (<= 12)
            return self.reference
        def payable_description(self):                # TransactionDesc (<= 13)
            return f"Invoice {self.reference}"
        def payable_may_pay(self, user):              # who may pay it (and watch it)
            return self.user_id == user.pk
        def payable_is_settled(self):                 # already paid: refuse a new prompt (409)
            return self.status == "paid"
        def payable_paid(self, payment):              # the effect, in the settling transaction
            if not Invoice.objects.filter(pk=self.pk, paid_by=None).update(paid_by=payment, ...):
                raise PayableRefused("already paid by another payment: refund this one")

Side work (email, SMS, fulfilment) belongs in receivers of ``payments.signals``
(``payment_paid``, ``payment_failed``, ``payment_needs_review``), sent once, after commit.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from .prepared import row_by_pk

T = TypeVar("T", bound=type)


class PayableRefused(Exception):
    """Raised by ``payable_paid`` when the effect cannot happen (e.g. already paid by another
    payment). The money moved: the payment stays paid and is flagged with this reason for a
    person to refund or reconcile."""


class PayableError(Exception):
    """A request names no payable this user may pay. ``field`` and the message are for people."""

    def __init__(self, message: str, *, field: str = "payable", status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


class Payable:
    """The protocol, as a mixin with the defaults most payables want. Override the methods."""

    #: True when the customer chooses the amount (a wallet top-up); then ``payable_amount``
    #: receives the requested amount and returns what may be charged (or raises PayableError).
    payable_open_amount: bool = False
    #: One live M-Pesa prompt at a time for this payable (enforced by the database). False for
    #: a payable that several payments may be filling at once (a wallet, topped up by two phones).
    payable_one_prompt_at_a_time: bool = True
    #: The field a request names the payable by (an unguessable public id, never the pk).
    payable_lookup_field: str = "public_id"

    def payable_amount(self, requested: int | None = None) -> int:
        """What may be charged now, in integer shillings. Every payable says (``register``
        refuses a model that does not)."""
        raise NotImplementedError(f"{type(self).__name__} must define payable_amount")

    def payable_reference(self) -> str:
        return str(self.pk)

    def payable_description(self) -> str:
        return "Payment"

    def payable_may_pay(self, user) -> bool:
        return False

    def payable_is_settled(self) -> bool:
        return False

    def payable_paid(self, payment) -> None:
        """The effect of a successful payment. Runs inside the settling transaction."""

    def payable_summary(self) -> dict[str, Any]:
        """JSON primitives shown with the payment's status (pages, API, live frames). Called on
        an instance read just before with the payment (after the commit): use its fields."""
        return {}

    @classmethod
    def payable_sample_for(cls, user, amount: int):
        """A payable of this kind for ``user`` to try the engine with (``manage.py mpesa
        trigger``); None when the kind has none."""
        return None


_registry: dict[str, type[models.Model]] = {}


def register(kind: str) -> Callable[[T], T]:
    """Class decorator: make ``model`` payable under ``kind`` (letters, digits, dashes)."""

    def add(model: T) -> T:
        if not kind.replace("-", "").isalnum() or len(kind) > 32:
            raise ValueError(f"payable kind {kind!r}: 1-32 letters, digits and dashes")
        if getattr(model, "payable_amount", Payable.payable_amount) is Payable.payable_amount:
            raise TypeError(f"payable {model.__name__} must define payable_amount (what is owed)")
        _registry[kind] = model
        model.payable_kind = kind
        return model

    return add


def registered() -> dict[str, type[models.Model]]:
    return dict(_registry)


def kind_of(payable: models.Model) -> str:
    return type(payable).payable_kind


def lookup(kind: Any, ident: Any, *, user) -> models.Model:
    """The payable ``kind``/``ident`` that ``user`` may pay; PayableError (404) otherwise, so a
    stranger learns nothing about other people's payables."""
    model = _registry.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise PayableError(f"Unknown payable kind; one of: {', '.join(sorted(_registry)) or 'none'}.")
    field = getattr(model, "payable_lookup_field", "public_id")
    try:
        payable = model._default_manager.filter(**{field: str(ident)[:64]}).first()
    except (ValueError, TypeError, ValidationError):  # not an id of the field's type (a UUID)
        payable = None
    if payable is None or not payable.payable_may_pay(user):
        raise PayableError(_("Not found."), field="id", status=404)
    return payable


def sample_for(user, amount: int):
    """A payable for ``user`` to try the engine with: the first registered kind that offers one
    (``payable_sample_for``), or None."""
    for model in _registry.values():
        sample = model.payable_sample_for(user, amount) if hasattr(model, "payable_sample_for") else None
        if sample is not None:
            return sample
    return None


def payable_for_update(payment) -> models.Model | None:
    """The payable, locked for the settling transaction (lock order: payment, then payable)."""
    model = ContentType.objects.get_for_id(payment.payable_type_id).model_class()
    return row_by_pk(model, payment.payable_id, for_update=True) if model else None


def payable_of(payment) -> models.Model | None:
    """The payable (not locked), read with a prepared statement and kept on ``payment``
    (``payment.payable`` then costs nothing)."""
    model = ContentType.objects.get_for_id(payment.payable_type_id).model_class()
    payable = row_by_pk(model, payment.payable_id) if model else None
    if payable is not None:
        payment.payable = payable
    return payable
