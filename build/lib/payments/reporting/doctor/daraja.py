"""The doctor's checks that talk to Daraja: credentials (OAuth), passkey (one dry STK Query)
and clock (our clock against the ``Date`` of Daraja's last answer). daraja-reference.md is
cited as §n."""

import time
from dataclasses import replace
from datetime import timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

from payments.daraja import payloads
from payments.daraja.client import DarajaClient
from payments.daraja.errors import (
    DarajaAPIError,
    DarajaAuthError,
    DarajaError,
    DarajaTimeout,
    DarajaUnavailable,
)

from . import FAIL, PASS, WARN, Check, Issue, environment, verdict

CLOCK_WARN_SECONDS = 5.0
CLOCK_FAIL_SECONDS = 30.0
NAIROBI_OFFSET = timedelta(hours=3)  # EAT, no daylight saving (§3.6)


def _where(client: DarajaClient) -> str:
    return f"{client.config.base_url} ({environment(client.config.base_url)})"


async def check_credentials(client: DarajaClient) -> Check:
    """1. An OAuth token from DARAJA_BASE_URL with the configured key and secret (§2). A fresh
    one, stored in the shared cache like any refresh, so running servers pick it up."""
    where, started = _where(client), time.monotonic()
    try:
        await client.get_access_token(force_refresh=True)
    except DarajaAuthError:
        return await _refused(client, where)
    except DarajaUnavailable as exc:
        return Check(
            "credentials",
            FAIL,
            f"{where} unreachable ({exc.error_message})",
            "Check DARAJA_BASE_URL and that this host can reach it (DNS, firewall, outbound proxy).",
        )
    except DarajaTimeout as exc:
        return Check(
            "credentials",
            FAIL,
            f"{where} did not answer in time: {exc.error_message}",
            "Check that this host can reach DARAJA_BASE_URL, then raise DARAJA_READ_TIMEOUT if it is slow.",
        )
    except DarajaError as exc:  # an envelope (e.g. 400.008.02) or something that is not Daraja
        return Check(
            "credentials",
            FAIL,
            f"{where} answered {exc.error_code or 'something unexpected'}: {exc.error_message}",
            "DARAJA_BASE_URL must be Daraja's base URL (sandbox, production or the simulator) "
            "without a path or stray spaces (§9.2).",
        )
    elapsed = (time.monotonic() - started) * 1000
    details = {"base_url": client.config.base_url, "environment": environment(client.config.base_url)}
    return Check("credentials", PASS, f"OAuth token from {where} in {elapsed:.0f} ms", details=details)


async def _refused(client: DarajaClient, where: str) -> Check:
    """HTTP 400 with an empty body: a wrong key/secret, or keys of the other environment (§2.3).
    Against production the sandbox is asked once with the same keys to tell which."""
    found = f"{where} refused the consumer key/secret (HTTP 400, empty body)"
    kind = environment(client.config.base_url)
    if kind == "production":
        sandbox = DarajaClient(replace(client.config, base_url=settings.DARAJA_HOSTS["sandbox"]))
        try:
            await sandbox.get_access_token(force_refresh=True)
        except DarajaError:
            pass
        else:
            return Check(
                "credentials",
                FAIL,
                f"{found}; the sandbox accepts them: sandbox keys against production",
                "Use the consumer key and secret of your production app (Daraja portal, after "
                "Go-Live): sandbox keys never work on api.safaricom.co.ke (§2.4).",
            )
    fix = {
        "production": "Copy DARAJA_CONSUMER_KEY and DARAJA_CONSUMER_SECRET again from your "
        "production app (no stray spaces); sandbox keys are refused here too.",
        "sandbox": "Copy DARAJA_CONSUMER_KEY and DARAJA_CONSUMER_SECRET again from your sandbox "
        "app (no stray spaces); production keys are refused by the sandbox.",
        "the simulator": "Give this process the DARAJA_CONSUMER_KEY and DARAJA_CONSUMER_SECRET "
        "the simulator's server runs with: it accepts only those.",
    }.get(kind, "Check DARAJA_CONSUMER_KEY and DARAJA_CONSUMER_SECRET (no stray spaces).")
    return Check("credentials", FAIL, found, fix)


def probe_checkout_request_id() -> str:
    """A well-formed CheckoutRequestID no push ever had (subscriber 000000000, §1.3)."""
    return f"ws_CO_{payloads.nairobi_now():%d%m%Y%H%M%S}0000000000"


def _refusal(client: DarajaClient, answer: str) -> Check | None:
    """The two answers that condemn the STK password (§3.3), or None."""
    shortcode, lowered = client.config.shortcode, answer.lower()
    found = f"STK Query for shortcode {shortcode}: {answer}"
    if "wrong credentials" in lowered:
        return Check(
            "passkey",
            FAIL,
            found,
            f"DARAJA_PASSKEY is not the Lipa na M-Pesa passkey of shortcode {shortcode} in this "
            "environment: copy it again (production passkeys come from Safaricom after Go-Live, "
            "the sandbox's is on the portal's test credentials page).",
        )
    if "merchant does not exist" in lowered:
        return Check(
            "passkey",
            FAIL,
            found,
            f"Shortcode {shortcode} is not set up for M-Pesa Express at "
            f"{environment(client.config.base_url)}: set DARAJA_SHORTCODE to the shortcode "
            "Safaricom enabled at Go-Live (174379 on the sandbox) with its passkey.",
        )
    return None


async def check_passkey(client: DarajaClient, credentials: Check) -> Check:
    """3. One dry STK Query of an unknown CheckoutRequestID: Daraja checks the Password
    (shortcode + passkey + timestamp) before it looks the id up (§3.3, §4.4). "Wrong
    credentials" and "Merchant does not exist" fail; every "not yet" answer passes."""
    if credentials.status == FAIL:
        return Check(
            "passkey",
            WARN,
            "not checked: no OAuth token (see credentials)",
            "Fix the credentials, then run the doctor again.",
        )
    try:
        result = await client.stk_query(checkout_request_id=probe_checkout_request_id())
    except DarajaAPIError as exc:
        answer = f"{exc.error_code} {exc.error_message}"
        return _refusal(client, answer) or Check(
            "passkey",
            WARN,
            f"STK Query answered {answer}: passkey not confirmed",
            "Run the doctor again in a minute; if the answer stays, look it up in §3.3 of the "
            "Daraja reference.",
        )
    except DarajaError as exc:
        return Check(
            "passkey",
            WARN,
            f"STK Query got no usable answer ({exc.error_message}): passkey not confirmed",
            "Run the doctor again; if it persists, check that this host reaches DARAJA_BASE_URL.",
        )
    # The client reads 500.001.1001 "... does not exist" as "not yet" (§4.4), which takes in
    # "Merchant does not exist" too: judged here by its text.
    answer = result.result_desc or result.result_code
    return _refusal(client, f"500.001.1001 {answer}") or Check(
        "passkey",
        PASS,
        f"dry STK Query for shortcode {client.config.shortcode}: password accepted (Daraja: {answer})",
    )


def _skew_seconds(client: DarajaClient) -> tuple[float | None, str]:
    """Our clock minus Daraja's, from the last answer's ``Date`` header (whole seconds, so its
    middle is taken), or None and why it could not be compared."""
    if client.last_answer_date is None:
        return None, "no answer from Daraja"
    header, received_at = client.last_answer_date
    if not header:
        return None, "no Date header in Daraja's answer"
    try:
        theirs = parsedate_to_datetime(header).timestamp() + 0.5
    except (TypeError, ValueError):
        return None, f"unreadable Date header {header[:40]!r}"
    return received_at - theirs, ""


def check_clock(client: DarajaClient) -> Check:
    """6. Our clock within seconds of Daraja's, and Daraja's timestamps in Nairobi time."""
    sample = payloads.nairobi_now()
    offset = sample.utcoffset()
    zone = settings.TIME_ZONE
    found = (
        f"Timestamp {payloads.daraja_timestamp(sample)} (Africa/Nairobi, UTC{sample:%z}), TIME_ZONE {zone}"
    )
    issues = []
    if offset != NAIROBI_OFFSET:
        issues.append(
            Issue(
                FAIL,
                f"Africa/Nairobi is UTC{sample:%z} here, not +0300",
                "Install or update the tzdata package: Daraja's Timestamp is Nairobi time (§3.6).",
            )
        )
    if zone != "Africa/Nairobi" or not settings.USE_TZ:
        issues.append(
            Issue(
                WARN,
                f"TIME_ZONE {zone}, USE_TZ {settings.USE_TZ}",
                "Keep TIME_ZONE = 'Africa/Nairobi' and USE_TZ = True: M-Pesa's dates (receipts, "
                "TransactionDate) are Nairobi time (§3.6, §9.20).",
            )
        )
    skew, why = _skew_seconds(client)
    details: dict = {"skew_seconds": None if skew is None else round(skew, 1)}
    if skew is None:
        fix = "Check that NTP keeps this host's clock right (timedatectl status)."
        issues.append(Issue(WARN, "clock not compared", fix))
        return verdict("clock", f"{why}; {found}", issues, **details)
    direction = "ahead of" if skew > 0 else "behind"
    found = f"{abs(skew):.1f} s {direction} Daraja's Date header; {found}"
    if abs(skew) > CLOCK_WARN_SECONDS:
        limit = CLOCK_FAIL_SECONDS if abs(skew) > CLOCK_FAIL_SECONDS else CLOCK_WARN_SECONDS
        issues.append(
            Issue(
                FAIL if limit == CLOCK_FAIL_SECONDS else WARN,
                f"more than {limit:.0f} s",
                "Synchronise this host's clock with NTP (timedatectl set-ntp true, or chrony): "
                "timestamps, deadlines and the reconciler's backoff all read it.",
            )
        )
    return verdict("clock", found, issues, **details)
