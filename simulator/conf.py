"""Every simulator setting, read at call time (never at import) in this one module.

Every ``SIMULATOR_*`` setting is an environment variable defined in ``project/settings.py``
(documented in README.md, "The Daraja simulator"); the ``getattr`` defaults here repeat them
for settings modules that leave some out. The simulator accepts the credentials our own client is configured
with (``DARAJA_CONSUMER_KEY``/``SECRET``, ``DARAJA_SHORTCODE``/``PASSKEY``), so one set of
environment variables drives both sides.
"""

from dataclasses import dataclass

from django.conf import settings

PAYBILL = "CustomerPayBillOnline"
BUY_GOODS = "CustomerBuyGoodsOnline"


def _get(name: str, default):
    return getattr(settings, name, default)


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

    def __repr__(self) -> str:  # consumer secret and passkey stay out of logs
        return f"SimConfig(shortcode={self.merchant.shortcode!r})"


def sim_config() -> SimConfig:
    """A fresh snapshot of the settings (cheap; tests override settings freely)."""
    shortcode = str(_get("DARAJA_SHORTCODE", "174379"))
    transaction_type = str(_get("DARAJA_TRANSACTION_TYPE", PAYBILL))
    party_b = str(_get("DARAJA_PARTY_B", "") or shortcode)
    shape = str(_get("SIMULATOR_QUERY_PENDING_SHAPE", "4999"))
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
            h.strip().lower().strip("[]") for h in _get("SIMULATOR_ALLOWED_CALLBACK_HOSTS", []) if h.strip()
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
    )
