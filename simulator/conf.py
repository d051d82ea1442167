"""Every simulator setting, read at call time (never at import) in this one module.

Every ``SIMULATOR_*`` setting is an environment variable defined in ``project/settings.py``
(documented in README.md, "The Daraja simulator"); the ``getattr`` defaults here repeat them
for settings modules that leave some out. The simulator accepts the credentials our own client is configured
with (``DARAJA_CONSUMER_KEY``/``SECRET``, ``DARAJA_SHORTCODE``/``PASSKEY``), so one set of
environment variables drives both sides.

``SIMULATOR_PROFILE`` is resolved here too: a profile supplies values for the settings it
names that are left unset (``None`` or empty), so every part of the simulator reads one
resolved ``SimConfig`` and none of them knows profiles exist.
"""

import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PAYBILL = "CustomerPayBillOnline"
BUY_GOODS = "CustomerBuyGoodsOnline"

CALLBACK_PHONE_MODES = ("full", "masked", "hashed", "absent")  # §13.1
C2B_MSISDN_MODES = ("full", "masked", "hashed", "masked_hash", "by_version")  # §14.8
C2B_VERSIONS = ("v1", "v2")  # §14.1
C2B_ENVIRONMENTS = ("sandbox", "production")  # §14.2: re-registration, simulate
C2B_NAME_MODES = ("first", "full")  # §14.6: FirstName only (keys absent), or all three
PAYBILL_KIND, TILL_KIND = "paybill", "till"
_C2B_SHORTCODE_RE = re.compile(r"^\d{5,7}$")
# A profile fills in the settings left unset; an explicit value always wins.
PROFILES: dict[str, dict[str, object]] = {
    "2026": {  # §13.1, §13.4, §13.5: what integrators reported from Daraja in 2026
        "SIMULATOR_CALLBACK_PHONE": "masked",
        "SIMULATOR_QUERY_TOO_EARLY_SECONDS": 5,
        "SIMULATOR_QUERY_RATE_LIMIT": "5/60",
        "SIMULATOR_GATEWAY_HICCUP_EVERY": 10,
    },
}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*$")
_OFF = ("off", "0", "none", "false")


def _get(name: str, default):
    return getattr(settings, name, default)


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` calls per ``period`` seconds (SIMULATOR_QUERY_RATE_LIMIT)."""

    count: int
    period: float

    def __str__(self) -> str:
        return f"{self.count}/{self.period:g}"


def parse_rate_limit(value: object) -> RateLimit | None:
    """``"5/60"`` → RateLimit(5, 60.0); ``"off"``/``"0"`` → None. ImproperlyConfigured otherwise."""
    text = str(value).strip().lower()
    if text in _OFF:
        return None
    match = _RATE_RE.match(text)
    if not match or int(match[1]) < 1 or not 0 < float(match[2]) <= 86_400:
        raise ImproperlyConfigured(
            f"SIMULATOR_QUERY_RATE_LIMIT={value!r}: use COUNT/SECONDS (e.g. 5/60), or off"
        )
    return RateLimit(int(match[1]), float(match[2]))


def _profile() -> dict[str, object]:
    name = str(_get("SIMULATOR_PROFILE", "") or "").strip()
    if name and name not in PROFILES:
        raise ImproperlyConfigured(f"SIMULATOR_PROFILE={name!r}: use one of {', '.join(PROFILES)}, or empty")
    return PROFILES.get(name, {})


def _resolved(name: str, profile: dict[str, object], default: object) -> object:
    """The setting when set explicitly, else the profile's value, else the default."""
    value = _get(name, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        return profile.get(name, default)
    return value


def _number(name: str, profile: dict[str, object], *, whole: bool = False) -> float:
    """A non-negative number setting (0 = off), resolved against the profile."""
    value = _resolved(name, profile, 0)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not math.isfinite(number) or number < 0 or (whole and number % 1):
        raise ImproperlyConfigured(f"{name}={value!r}: a {'whole ' if whole else ''}number, 0 = off")
    return number


def _callback_phone(profile: dict[str, object]) -> str:
    mode = str(_resolved("SIMULATOR_CALLBACK_PHONE", profile, "full")).strip().lower()
    if mode not in CALLBACK_PHONE_MODES:
        raise ImproperlyConfigured(
            f"SIMULATOR_CALLBACK_PHONE={mode!r}: use one of {', '.join(CALLBACK_PHONE_MODES)}"
        )
    return mode


@dataclass(frozen=True)
class Merchant:
    """The one shortcode the simulator knows (§3.1: paybill, or till behind a store number)."""

    shortcode: str
    passkey: str
    transaction_type: str  # PAYBILL or BUY_GOODS: what this shortcode is set up for
    party_b: str  # paybill: the shortcode itself; till: the till number
    name: str

    def __repr__(self) -> str:  # the passkey is a secret
        return f"Merchant({self.shortcode!r}, {self.transaction_type!r})"


@dataclass(frozen=True)
class SimConfig:
    consumer_key: str
    consumer_secret: str
    merchant: Merchant
    callback_delay: float
    pin_window: float
    callback_timeout: float
    allowed_callback_hosts: tuple[str, ...]
    token_invalidates_previous: bool
    token_lifetime: int
    check_timestamp_freshness: bool
    timestamp_max_skew: float
    query_pending_shape: str
    include_balance_item: bool
    max_amount: int
    push_timeout_delay: float
    late_callback_seconds: float
    query_pending_fault_seconds: float
    duplicate_gap: float
    slow_seconds: float
    handset_ttl: float
    callback_phone: str = "full"  # CALLBACK_PHONE_MODES (§13.1)
    query_too_early_seconds: float = 0.0  # 0 = off (§13.4)
    query_rate_limit: RateLimit | None = None  # None = off (§13.4 SpikeArrest)
    gateway_hiccup_every: int = 0  # 0 = off; else every Nth query answers the html fault (§13.5)

    c2b: "C2BConfig" = None  # type: ignore[assignment]  # sim_config() always fills it in

    def __repr__(self) -> str:  # consumer secret and passkey stay out of logs
        return f"SimConfig(shortcode={self.merchant.shortcode!r})"


@dataclass(frozen=True)
class C2BConfig:
    """The C2B side of the simulated app and its shortcodes (§14; SIMULATOR_C2B_*)."""

    shortcodes: dict[str, str]  # shortcode → PAYBILL_KIND | TILL_KIND
    url_versions: frozenset[str]  # the API products of the simulated app (§13.6, §14.1)
    environment: str  # sandbox: re-registration overwrites, simulate works; production: neither
    validation: bool  # external validation activated on the shortcodes (§14.9)
    validation_timeout: float  # M-Pesa's budget for the validation answer (§14.9: ~8 s)
    delay: float  # from the payment to its first POST
    msisdn_mode: str  # C2B_MSISDN_MODES
    names: str  # C2B_NAME_MODES
    echo_third_party_trans_id: bool  # §14.9: the validation answer's ThirdPartyTransID returns


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = str(_get(name, default) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: use one of {', '.join(choices)}")
    return value


def parse_c2b_shortcodes(value: object) -> dict[str, str]:
    """``"600984,600000:till"`` → {"600984": "paybill", "600000": "till"}."""
    codes: dict[str, str] = {}
    for item in str(value).split(","):
        code, _, kind = item.strip().partition(":")
        kind = (kind or PAYBILL_KIND).strip().lower()
        if not item.strip():
            continue
        if not _C2B_SHORTCODE_RE.match(code.strip()) or kind not in (PAYBILL_KIND, TILL_KIND):
            raise ImproperlyConfigured(
                f"SIMULATOR_C2B_SHORTCODES={value!r}: comma-separated 5-7 digit shortcodes, each "
                "optionally :paybill or :till (e.g. 600984,600000:till)"
            )
        codes[code.strip()] = kind
    return codes


def parse_c2b_versions(value: object) -> frozenset[str]:
    """``"v1,v2"`` → {"v1", "v2"}; at least one."""
    versions = frozenset(v.strip().lower() for v in str(value).split(",") if v.strip())
    if not versions or not versions <= set(C2B_VERSIONS):
        raise ImproperlyConfigured(f"SIMULATOR_C2B_URL_VERSIONS={value!r}: v1, v2 or v1,v2")
    return versions


def c2b_config() -> C2BConfig:
    validation = str(_get("SIMULATOR_C2B_VALIDATION", "on")).strip().lower()
    if validation not in ("on", "off"):
        raise ImproperlyConfigured(f"SIMULATOR_C2B_VALIDATION={validation!r}: on or off")
    return C2BConfig(
        shortcodes=parse_c2b_shortcodes(_get("SIMULATOR_C2B_SHORTCODES", "600984,600000:till")),
        url_versions=parse_c2b_versions(_get("SIMULATOR_C2B_URL_VERSIONS", "v1,v2")),
        environment=_choice("SIMULATOR_C2B_ENVIRONMENT", C2B_ENVIRONMENTS, "sandbox"),
        validation=validation == "on",
        validation_timeout=float(_get("SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS", 8.0)),
        delay=float(_get("SIMULATOR_C2B_DELAY_SECONDS", 1.0)),
        msisdn_mode=_choice("SIMULATOR_C2B_MSISDN", C2B_MSISDN_MODES, "hashed"),
        names=_choice("SIMULATOR_C2B_NAMES", C2B_NAME_MODES, "first"),
        echo_third_party_trans_id=bool(_get("SIMULATOR_C2B_ECHO_THIRD_PARTY_TRANS_ID", True)),
    )


def _loopback() -> list[str]:
    """By default callbacks may go to this machine and to the host the shop says it is on."""
    host = urlsplit(str(_get("DARAJA_CALLBACK_BASE_URL", ""))).hostname or ""
    return sorted({"127.0.0.1", "localhost", host} - {""})


def sim_config() -> SimConfig:
    """A fresh snapshot of the settings (cheap; tests override settings freely)."""
    shortcode = str(_get("DARAJA_SHORTCODE", "174379"))
    transaction_type = str(_get("DARAJA_TRANSACTION_TYPE", PAYBILL))
    party_b = str(_get("DARAJA_PARTY_B", "") or shortcode)
    shape = str(_get("SIMULATOR_QUERY_PENDING_SHAPE", "4999"))
    profile = _profile()
    return SimConfig(
        consumer_key=str(_get("DARAJA_CONSUMER_KEY", "")),
        consumer_secret=str(_get("DARAJA_CONSUMER_SECRET", "")),
        merchant=Merchant(
            shortcode=shortcode,
            passkey=str(_get("DARAJA_PASSKEY", "")),
            transaction_type=transaction_type if transaction_type == BUY_GOODS else PAYBILL,
            party_b=party_b if transaction_type == BUY_GOODS else shortcode,
            name=str(_get("SIMULATOR_MERCHANT_NAME", "Duka Demo Shop")),
        ),
        callback_delay=float(_get("SIMULATOR_CALLBACK_DELAY_SECONDS", 3.0)),
        pin_window=float(_get("SIMULATOR_PIN_WINDOW_SECONDS", 60.0)),
        callback_timeout=float(_get("SIMULATOR_CALLBACK_TIMEOUT_SECONDS", 5.0)),
        allowed_callback_hosts=tuple(
            h.strip().lower().strip("[]")
            for h in _get("SIMULATOR_ALLOWED_CALLBACK_HOSTS", _loopback())
            if h.strip()
        ),
        token_invalidates_previous=bool(_get("SIMULATOR_TOKEN_INVALIDATES_PREVIOUS", True)),
        token_lifetime=int(_get("SIMULATOR_TOKEN_LIFETIME_SECONDS", 3599)),
        check_timestamp_freshness=bool(_get("SIMULATOR_CHECK_TIMESTAMP_FRESHNESS", False)),
        timestamp_max_skew=float(_get("SIMULATOR_TIMESTAMP_MAX_SKEW_SECONDS", 3600)),
        query_pending_shape="500" if shape == "500" else "4999",
        include_balance_item=bool(_get("SIMULATOR_INCLUDE_BALANCE_ITEM", True)),
        max_amount=int(_get("SIMULATOR_MAX_AMOUNT", 250_000)),
        push_timeout_delay=float(
            _get("SIMULATOR_PUSH_TIMEOUT_DELAY_SECONDS", float(_get("DARAJA_READ_TIMEOUT", 20.0)) + 5)
        ),
        late_callback_seconds=float(_get("SIMULATOR_LATE_CALLBACK_SECONDS", 30.0)),
        query_pending_fault_seconds=float(_get("SIMULATOR_QUERY_PENDING_FAULT_SECONDS", 30.0)),
        duplicate_gap=float(_get("SIMULATOR_DUPLICATE_GAP_SECONDS", 1.0)),
        slow_seconds=float(_get("SIMULATOR_SLOW_SECONDS", 10.0)),
        handset_ttl=float(_get("SIMULATOR_HANDSET_TTL_SECONDS", 30.0)),
        callback_phone=_callback_phone(profile),
        query_too_early_seconds=_number("SIMULATOR_QUERY_TOO_EARLY_SECONDS", profile),
        query_rate_limit=parse_rate_limit(_resolved("SIMULATOR_QUERY_RATE_LIMIT", profile, "off")),
        gateway_hiccup_every=int(_number("SIMULATOR_GATEWAY_HICCUP_EVERY", profile, whole=True)),
        c2b=c2b_config(),
    )
