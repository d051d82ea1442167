"""Registering our Pay Bill (C2B) Validation and Confirmation URLs with Daraja.

``registration_plan`` builds the two capability URLs for the business number and checks them
against Daraja's URL rules before anything is sent (daraja-reference.md §14.2): HTTPS and a
public host in production, none of the forbidden words (M-Pesa, Safaricom, exe, exec, cmd,
SQL, query) anywhere, no public URL testers in production. ``register`` makes the call
(``manage.py mpesa register-urls``). In the sandbox and the simulator ("register URLs before
each simulation", §14.2) ``PAYMENTS_C2B_AUTO_REGISTER`` has the job runner do it at start and
again after a failure, with a growing pause; production registers once, by hand.
"""

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from django.conf import settings

from ..daraja.c2b import REGISTER_VERSIONS, RESPONSE_TYPES, RegisterAccepted
from ..daraja.client import DarajaClient
from ..daraja.errors import DarajaError
from ..defaults import DARAJA_HOSTS
from .callback_url import c2b_url, forbidden_words_in, redact_callback_tokens

logger = logging.getLogger("payments.c2b")
URL_TESTERS = ("ngrok", "mockbin", "requestbin", "localtunnel", "loca.lt", "webhook.site")
RETRY_SECONDS = (2, 5, 15, 60, 300)


@dataclass(frozen=True)
class Plan:
    shortcode: str
    version: str
    response_type: str
    validation_url: str
    confirmation_url: str
    production: bool
    errors: tuple[str, ...] = field(default=())  # Daraja would refuse, or it cannot work
    warnings: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple:
        return (self.shortcode, self.version, self.response_type, self.validation_url, self.confirmation_url)

    def shown(self, url: str) -> str:
        return redact_callback_tokens(url)


def _public_host(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost") or host.endswith(".local"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return address.is_global


def registration_plan(*, shortcode: str = "", version: str = "", response_type: str = "") -> Plan:
    shortcode = str(shortcode or settings.DARAJA_C2B_SHORTCODE)
    version = version or settings.DARAJA_C2B_VERSION
    response_type = response_type or settings.DARAJA_C2B_RESPONSE_TYPE
    production = settings.DARAJA_BASE_URL.rstrip("/") == DARAJA_HOSTS["production"]
    errors, warnings = [], []
    if version not in REGISTER_VERSIONS:
        errors.append(f"version {version!r}: use v1 or v2 (whichever your Daraja app's API products hold)")
    if response_type not in RESPONSE_TYPES:
        errors.append(f"ResponseType {response_type!r}: exactly Completed or Cancelled (sentence case)")
    if not (shortcode.isascii() and shortcode.isdigit()):
        errors.append(f"business number {shortcode!r} is not digits (DARAJA_C2B_SHORTCODE)")
        shortcode = "0"
    validation, confirmation = c2b_url(shortcode, "validation"), c2b_url(shortcode, "confirmation")
    base = urlsplit(settings.DARAJA_CALLBACK_BASE_URL)
    if words := forbidden_words_in(settings.DARAJA_CALLBACK_BASE_URL):
        errors.append(
            f"DARAJA_CALLBACK_BASE_URL contains {', '.join(repr(w) for w in words)}: Daraja refuses URLs "
            "with M-Pesa, Safaricom, exe, exec, cmd, SQL or query in them (400.003.02)"
        )
    if production:
        if base.scheme != "https":
            errors.append("production URLs must be HTTPS (DARAJA_CALLBACK_BASE_URL)")
        if not _public_host(base.hostname or ""):
            errors.append(f"{base.hostname!r} is not a public host: Daraja must reach it from the internet")
        if any(tester in (base.hostname or "") for tester in URL_TESTERS):
            warnings.append("public URL testers (ngrok and the like) are usually blocked in production")
    elif base.scheme != "https":
        warnings.append("plain HTTP: fine for the sandbox and the simulator, refused in production")
    return Plan(
        shortcode=shortcode,
        version=version,
        response_type=response_type,
        validation_url=validation,
        confirmation_url=confirmation,
        production=production,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def register(plan: Plan) -> RegisterAccepted:
    """Send the registration (raises DarajaError with Daraja's own code and message)."""
    if plan.errors:
        raise ValueError("; ".join(plan.errors))
    return async_to_sync(DarajaClient().register_c2b_urls)(
        shortcode=plan.shortcode,
        confirmation_url=plan.confirmation_url,
        validation_url=plan.validation_url,
        response_type=plan.response_type,
        version=plan.version,
    )


class _AutoState:
    done_for: tuple | None = None
    failures = 0
    next_attempt = 0.0


def register_urls_due() -> int:
    """Job source: register (again) when the plan changed or the last attempt failed. One
    attempt per pass at most; returns 1 when it made one."""
    if not (settings.PAYMENTS_C2B_AUTO_REGISTER and settings.PAYMENTS_PAYBILL):
        return 0
    plan = registration_plan()
    if plan.key == _AutoState.done_for or time.monotonic() < _AutoState.next_attempt or plan.errors:
        return 0
    try:
        answer = register(plan)
    except DarajaError as exc:
        pause = RETRY_SECONDS[min(_AutoState.failures, len(RETRY_SECONDS) - 1)]
        _AutoState.failures += 1
        _AutoState.next_attempt = time.monotonic() + pause
        logger.log(
            logging.INFO if _AutoState.failures == 1 else logging.WARNING,
            "pay bill URLs not registered yet (%s); again in %ss",
            exc.error_message[:120],
            pause,
            extra={"event": "c2b.register_retry", "shortcode": plan.shortcode},
        )
        return 1
    _AutoState.done_for, _AutoState.failures = plan.key, 0
    logger.info(
        "pay bill URLs registered for %s (%s)",
        plan.shortcode,
        plan.version,
        extra={"event": "c2b.registered", "answer": answer.response_description},
    )
    return 1
