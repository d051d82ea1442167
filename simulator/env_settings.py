"""The simulator's ``SIMULATOR_*`` settings, read from the environment in one place for both
settings modules: the shop's (project/settings.py) and the standalone simulator's
(project/settings_simulator.py, which imports nothing of the shop). README, "Settings", says
what each one does.

    globals().update(simulator_settings(env, callback_base_url=..., read_timeout=...))
"""

from typing import Any
from urllib.parse import urlsplit

import environ


def simulator_settings(env: environ.Env, *, callback_base_url: str, read_timeout: float) -> dict[str, Any]:
    """Every ``SIMULATOR_*`` setting but ``SIMULATOR_ENABLED`` (each settings module decides that
    one). ``callback_base_url``: where the shop's callbacks go (always an allowed callback host);
    ``read_timeout``: the shop's Daraja read timeout (the push-timeout fault outlasts it)."""
    SIMULATOR_CALLBACK_DELAY_SECONDS = env.float("SIMULATOR_CALLBACK_DELAY_SECONDS", default=3.0)
    SIMULATOR_PIN_WINDOW_SECONDS = env.float("SIMULATOR_PIN_WINDOW_SECONDS", default=60.0)
    SIMULATOR_CALLBACK_TIMEOUT_SECONDS = env.float("SIMULATOR_CALLBACK_TIMEOUT_SECONDS", default=5.0)
    SIMULATOR_ALLOWED_CALLBACK_HOSTS = env.list(
        "SIMULATOR_ALLOWED_CALLBACK_HOSTS",
        default=sorted({"127.0.0.1", "localhost", urlsplit(callback_base_url).hostname or ""} - {""}),
    )
    SIMULATOR_TOKEN_INVALIDATES_PREVIOUS = env.bool("SIMULATOR_TOKEN_INVALIDATES_PREVIOUS", default=True)
    SIMULATOR_CHECK_TIMESTAMP_FRESHNESS = env.bool("SIMULATOR_CHECK_TIMESTAMP_FRESHNESS", default=False)
    SIMULATOR_QUERY_PENDING_SHAPE = env.str("SIMULATOR_QUERY_PENDING_SHAPE", default="4999")
    SIMULATOR_INCLUDE_BALANCE_ITEM = env.bool("SIMULATOR_INCLUDE_BALANCE_ITEM", default=True)
    SIMULATOR_TOKEN_LIFETIME_SECONDS = env.int("SIMULATOR_TOKEN_LIFETIME_SECONDS", default=3599)
    SIMULATOR_TIMESTAMP_MAX_SKEW_SECONDS = env.float("SIMULATOR_TIMESTAMP_MAX_SKEW_SECONDS", default=3600)
    SIMULATOR_MAX_AMOUNT = env.int("SIMULATOR_MAX_AMOUNT", default=250_000)
    SIMULATOR_PUSH_TIMEOUT_DELAY_SECONDS = env.float(
        "SIMULATOR_PUSH_TIMEOUT_DELAY_SECONDS", default=read_timeout + 5
    )
    SIMULATOR_LATE_CALLBACK_SECONDS = env.float("SIMULATOR_LATE_CALLBACK_SECONDS", default=30)
    SIMULATOR_QUERY_PENDING_FAULT_SECONDS = env.float("SIMULATOR_QUERY_PENDING_FAULT_SECONDS", default=30)
    SIMULATOR_DUPLICATE_GAP_SECONDS = env.float("SIMULATOR_DUPLICATE_GAP_SECONDS", default=1.0)
    SIMULATOR_SLOW_SECONDS = env.float("SIMULATOR_SLOW_SECONDS", default=10)
    SIMULATOR_HANDSET_TTL_SECONDS = env.float("SIMULATOR_HANDSET_TTL_SECONDS", default=30)
    SIMULATOR_MERCHANT_NAME = env.str("SIMULATOR_MERCHANT_NAME", default="Duka Demo Shop")
    # Daraja as reported in 2026 (README, "Daraja 2026 profile"). SIMULATOR_PROFILE=2026 fills in
    # the four below while they are unset (empty); an explicit value wins. Read by simulator/conf.py.
    SIMULATOR_PROFILE = env.str("SIMULATOR_PROFILE", default="")
    SIMULATOR_CALLBACK_PHONE = env.str("SIMULATOR_CALLBACK_PHONE", default="")  # full (profile: masked)
    SIMULATOR_QUERY_TOO_EARLY_SECONDS = env.str("SIMULATOR_QUERY_TOO_EARLY_SECONDS", default="")  # 0 (5)
    SIMULATOR_QUERY_RATE_LIMIT = env.str("SIMULATOR_QUERY_RATE_LIMIT", default="")  # off (5/60)
    SIMULATOR_GATEWAY_HICCUP_EVERY = env.str("SIMULATOR_GATEWAY_HICCUP_EVERY", default="")  # 0 (10)
    # C2B (daraja-reference.md §14; README, "C2B"): shortcodes (paybill, or NNNNNN:till), the URL
    # versions the simulated app's API products include, sandbox or production behaviour, external
    # validation, its budget, the MSISDN as confirmations write it, and the payer's names.
    SIMULATOR_C2B_SHORTCODES = env.str("SIMULATOR_C2B_SHORTCODES", default="600984,600000:till")
    SIMULATOR_C2B_URL_VERSIONS = env.str("SIMULATOR_C2B_URL_VERSIONS", default="v1,v2")
    SIMULATOR_C2B_ENVIRONMENT = env.str("SIMULATOR_C2B_ENVIRONMENT", default="sandbox")
    SIMULATOR_C2B_VALIDATION = env.str("SIMULATOR_C2B_VALIDATION", default="on")
    SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS = env.float(
        "SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS", default=8.0
    )
    SIMULATOR_C2B_DELAY_SECONDS = env.float("SIMULATOR_C2B_DELAY_SECONDS", default=1.0)
    SIMULATOR_C2B_MSISDN = env.str("SIMULATOR_C2B_MSISDN", default="hashed")
    SIMULATOR_C2B_NAMES = env.str("SIMULATOR_C2B_NAMES", default="first")
    SIMULATOR_C2B_ECHO_THIRD_PARTY_TRANS_ID = env.bool(
        "SIMULATOR_C2B_ECHO_THIRD_PARTY_TRANS_ID", default=True
    )
    return {name: value for name, value in locals().items() if name.startswith("SIMULATOR_")}
