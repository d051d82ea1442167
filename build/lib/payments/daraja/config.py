"""Frozen Daraja configuration, read from settings at call time (never at import)."""

from dataclasses import dataclass
from functools import cache

from django.conf import settings


@dataclass(frozen=True)
class DarajaConfig:
    base_url: str
    consumer_key: str
    consumer_secret: str
    shortcode: str
    passkey: str
    transaction_type: str
    party_b: str
    connect_timeout: float
    read_timeout: float
    token_refresh_margin: int

    def __repr__(self) -> str:  # never print secrets
        return f"DarajaConfig(base_url={self.base_url!r}, shortcode={self.shortcode!r})"


@cache
def daraja_get_config() -> DarajaConfig:
    """The one place settings become client config. Tests call ``daraja_get_config.cache_clear()``."""
    return DarajaConfig(
        base_url=settings.DARAJA_BASE_URL.rstrip("/"),
        consumer_key=settings.DARAJA_CONSUMER_KEY,
        consumer_secret=settings.DARAJA_CONSUMER_SECRET,
        shortcode=str(settings.DARAJA_SHORTCODE),
        passkey=settings.DARAJA_PASSKEY,
        transaction_type=settings.DARAJA_TRANSACTION_TYPE,
        party_b=str(settings.DARAJA_PARTY_B),
        connect_timeout=settings.DARAJA_CONNECT_TIMEOUT,
        read_timeout=settings.DARAJA_READ_TIMEOUT,
        token_refresh_margin=settings.DARAJA_TOKEN_REFRESH_MARGIN,
    )
