"""The engine's settings and their defaults, for a project that adopts it.

Every setting the engine reads is named here (``DARAJA_*`` for the integration, ``PAYMENTS_*``
for the engine; README, "Settings"). ``PaymentsConfig.ready()`` fills in the ones a project did
not set, so ``INSTALLED_APPS += ["payments"]`` plus the secrets below is a working setup. The
demo project sets them all from the environment (project/settings.py).

A project must set, at least in production: DARAJA_BASE_URL ("sandbox", "production" or a
URL), DARAJA_CONSUMER_KEY, DARAJA_CONSUMER_SECRET, DARAJA_SHORTCODE, DARAJA_PASSKEY,
DARAJA_CALLBACK_BASE_URL (its public https origin) and PAYMENTS_CALLBACK_SECRET. Under DEBUG
they default to the bundled simulator on http://127.0.0.1:8000 and the public sandbox values.
"""

from typing import Any

from mpesa_plumbing.client_ip import parse_networks

# Public sandbox values (daraja-reference.md §8): development defaults only.
SANDBOX_SHORTCODE = "174379"
# §14.10.8: 174379 is for Lipa na M-Pesa Online only; the sandbox's C2B tests use a 600xxx
# paybill ("Short code 1" of the test credentials; 600984 in the docs, and in the simulator).
SANDBOX_C2B_SHORTCODE = "600984"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
DARAJA_HOSTS = {"sandbox": "https://sandbox.safaricom.co.ke", "production": "https://api.safaricom.co.ke"}
# daraja-reference.md §6.1 / §13.3: Safaricom's published callback addresses.
SAFARICOM_CALLBACK_IPS = [
    "196.201.214.200",
    "196.201.214.206",
    "196.201.213.114",
    "196.201.214.207",
    "196.201.214.208",
    "196.201.213.44",
    "196.201.212.127",
    "196.201.212.138",
    "196.201.212.129",
    "196.201.212.136",
    "196.201.212.74",
    "196.201.212.69",
]

ENGINE = {
    "DARAJA_TRANSACTION_TYPE": "CustomerPayBillOnline",
    "DARAJA_CONNECT_TIMEOUT": 5.0,
    "DARAJA_READ_TIMEOUT": 20.0,
    "DARAJA_TOKEN_REFRESH_MARGIN": 60,
    "DARAJA_CONFIRM_SUCCESS_WITH_QUERY": False,
    "DARAJA_QUERY_RATE": "5/60",
    "DARAJA_CALLBACK_IPS": SAFARICOM_CALLBACK_IPS,
    "TRUSTED_PROXY_COUNT": 0,
    "PAYMENTS_MIN_AMOUNT": 1,
    "PAYMENTS_MAX_AMOUNT": 250_000,
    "PAYMENTS_PIN_WINDOW_SECONDS": 60,
    "PAYMENTS_EXPIRE_AFTER_SECONDS": 180,
    "PAYMENTS_SUBSCRIBER_LOCK_SECONDS": 60,
    "PAYMENTS_RECONCILE_AFTER_SECONDS": 90,
    "PAYMENTS_RECONCILE_BACKOFF_SECONDS": 30,
    "PAYMENTS_RECONCILE_BACKOFF_MAX_SECONDS": 1800,
    "PAYMENTS_RECONCILE_MAX_AGE_SECONDS": 86_400,
    "PAYMENTS_DB_THREADS": 4,
    "PAYMENTS_RUN_JOBS_IN_PROCESS": True,
    "PAYMENTS_JOB_POLL_SECONDS": 1.0,
    "PAYMENTS_MAX_BODY_BYTES": 32_768,
    "PAYMENTS_RATE_LIMIT_PER_PHONE": "5/m",
    "PAYMENTS_RATE_LIMIT_PER_USER": "10/m",
    "PAYMENTS_WS_MAX_PER_USER": 5,
    "PAYMENTS_WS_MAX_MESSAGES": 20,
    "PAYMENTS_WS_RATE_WINDOW_SECONDS": 10.0,
    "PAYMENTS_WS_TICKET_SECONDS": 30,
    "PAYMENTS_FRONTEND_ORIGINS": [],
    "PAYMENTS_HISTORY_PAGE_SIZE": 20,
    "PAYMENTS_GC_THRESHOLDS": [10_000, 10, 10],
    # Pay Bill fallback (C2B, daraja-reference.md §14): register-urls version and the action
    # Daraja takes when our validation does not answer; how long an account number stays open.
    "DARAJA_C2B_VERSION": "v2",
    "DARAJA_C2B_RESPONSE_TYPE": "Completed",
    "PAYMENTS_PAYBILL_ACCOUNT_HOURS": 48,
    "PAYMENTS_C2B_VALIDATION_SECONDS": 4.0,
    "METRICS_TOKEN": "",
    "ACCESS_LOG": True,
    "SIMULATOR_ENABLED": False,
}
SECRETS = {  # development defaults; production must set them (payments.E014)
    "DARAJA_BASE_URL": "http://127.0.0.1:8000/simulator",
    "DARAJA_CONSUMER_KEY": "dev-consumer-key",
    "DARAJA_CONSUMER_SECRET": "dev-consumer-secret",
    "DARAJA_SHORTCODE": SANDBOX_SHORTCODE,
    "DARAJA_PASSKEY": SANDBOX_PASSKEY,
    "DARAJA_CALLBACK_BASE_URL": "http://127.0.0.1:8000",
    "PAYMENTS_CALLBACK_SECRET": "dev-callback-secret",
}


def apply(settings) -> list[str]:
    """Fill in every engine setting the project left out; returns the secrets that production
    still lacks (reported by a system check). Derived settings follow the others."""
    missing = [name for name in SECRETS if not hasattr(settings, name)]
    defaults: dict[str, Any] = dict(ENGINE)
    if settings.DEBUG:
        defaults.update(SECRETS)
    for name, value in defaults.items():
        if not hasattr(settings, name):
            setattr(settings, name, value)
    base = getattr(settings, "DARAJA_BASE_URL", "")
    settings.DARAJA_BASE_URL = DARAJA_HOSTS.get(base, base).rstrip("/")
    if not hasattr(settings, "DARAJA_PARTY_B") or not settings.DARAJA_PARTY_B:
        settings.DARAJA_PARTY_B = getattr(settings, "DARAJA_SHORTCODE", "")
    if not getattr(settings, "DARAJA_C2B_SHORTCODE", ""):  # customers pay the paybill PartyB names
        sandbox = settings.DEBUG and str(settings.DARAJA_PARTY_B) == SANDBOX_SHORTCODE
        settings.DARAJA_C2B_SHORTCODE = SANDBOX_C2B_SHORTCODE if sandbox else str(settings.DARAJA_PARTY_B)
    if not hasattr(settings, "PAYMENTS_PAYBILL"):  # a till (Buy Goods) has no account number
        settings.PAYMENTS_PAYBILL = settings.DARAJA_TRANSACTION_TYPE == "CustomerPayBillOnline"
    if not hasattr(settings, "PAYMENTS_C2B_AUTO_REGISTER"):  # sandbox: "register before each simulation"
        settings.PAYMENTS_C2B_AUTO_REGISTER = bool(settings.DEBUG)
    if not hasattr(settings, "PAYMENTS_WS_ALLOWED_ORIGINS"):
        settings.PAYMENTS_WS_ALLOWED_ORIGINS = list(settings.PAYMENTS_FRONTEND_ORIGINS)
    if not hasattr(settings, "DARAJA_CALLBACK_IP_MODE"):
        settings.DARAJA_CALLBACK_IP_MODE = "off" if settings.DEBUG else "log"
    if not hasattr(settings, "DARAJA_CALLBACK_NETWORKS"):
        settings.DARAJA_CALLBACK_NETWORKS = parse_networks(settings.DARAJA_CALLBACK_IPS)
    return [] if settings.DEBUG else missing
