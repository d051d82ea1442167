"""Settings of the standalone Daraja simulator (``make simulator``, compose service
``simulator``): the simulator app alone (no payments, no frontend), its own URLconf and ASGI
application (simulator/standalone/), its own SQLite file, the job runner for its deliveries.

    DJANGO_SETTINGS_MODULE=project.settings_simulator daphne simulator.standalone.asgi:application

Every knob is an environment variable. The simulator's own (``SIMULATOR_*``) are read exactly
as in project/settings.py (tests/simulator/test_standalone.py checks that the two agree);
the ``DARAJA_*`` credentials it accepts default to the public sandbox values, so a client
configured for the sandbox works by changing its base URL alone. This module imports nothing
of the shop (project/settings.py imports the engine's defaults).
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ

from project.layers import channel_layer_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV", default=True) and (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# A development tool: debug pages on by default, a fixed key (it keeps no sessions).
DEBUG = env.bool("SIMULATOR_DEBUG", default=True)
SECRET_KEY = env.str("SIMULATOR_SECRET_KEY", default="simulator-insecure-" + "x" * 40)
ALLOWED_HOSTS = env.list("SIMULATOR_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# --- What the simulated Daraja accepts (the same variables the shop's client reads) -------
PORT = env.int("SIM_PORT", default=9100)
DARAJA_CONSUMER_KEY = env.str("DARAJA_CONSUMER_KEY", default="dev-consumer-key")
DARAJA_CONSUMER_SECRET = env.str("DARAJA_CONSUMER_SECRET", default="dev-consumer-secret")
DARAJA_SHORTCODE = env.str("DARAJA_SHORTCODE", default="174379")  # public sandbox values (§8)
DARAJA_PASSKEY = env.str(
    "DARAJA_PASSKEY", default="bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
)
DARAJA_TRANSACTION_TYPE = env.str("DARAJA_TRANSACTION_TYPE", default="CustomerPayBillOnline")
DARAJA_PARTY_B = env.str("DARAJA_PARTY_B", default="") or DARAJA_SHORTCODE
# Only its host matters here: callbacks may go there by default (and to loopback).
DARAJA_CALLBACK_BASE_URL = env.str("DARAJA_CALLBACK_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
DARAJA_READ_TIMEOUT = env.float("DARAJA_READ_TIMEOUT", default=20.0)  # the push-timeout fault's hold

# --- The simulator (this block is project/settings.py's, line for line) -------------------
SIMULATOR_CALLBACK_DELAY_SECONDS = env.float("SIMULATOR_CALLBACK_DELAY_SECONDS", default=3.0)
SIMULATOR_PIN_WINDOW_SECONDS = env.float("SIMULATOR_PIN_WINDOW_SECONDS", default=60.0)
SIMULATOR_CALLBACK_TIMEOUT_SECONDS = env.float("SIMULATOR_CALLBACK_TIMEOUT_SECONDS", default=5.0)
SIMULATOR_ALLOWED_CALLBACK_HOSTS = env.list(
    "SIMULATOR_ALLOWED_CALLBACK_HOSTS",
    default=sorted({"127.0.0.1", "localhost", urlsplit(DARAJA_CALLBACK_BASE_URL).hostname or ""} - {""}),
)
SIMULATOR_TOKEN_INVALIDATES_PREVIOUS = env.bool("SIMULATOR_TOKEN_INVALIDATES_PREVIOUS", default=True)
SIMULATOR_CHECK_TIMESTAMP_FRESHNESS = env.bool("SIMULATOR_CHECK_TIMESTAMP_FRESHNESS", default=False)
SIMULATOR_QUERY_PENDING_SHAPE = env.str("SIMULATOR_QUERY_PENDING_SHAPE", default="4999")
SIMULATOR_INCLUDE_BALANCE_ITEM = env.bool("SIMULATOR_INCLUDE_BALANCE_ITEM", default=True)
SIMULATOR_TOKEN_LIFETIME_SECONDS = env.int("SIMULATOR_TOKEN_LIFETIME_SECONDS", default=3599)
SIMULATOR_TIMESTAMP_MAX_SKEW_SECONDS = env.float("SIMULATOR_TIMESTAMP_MAX_SKEW_SECONDS", default=3600)
SIMULATOR_MAX_AMOUNT = env.int("SIMULATOR_MAX_AMOUNT", default=250_000)
SIMULATOR_PUSH_TIMEOUT_DELAY_SECONDS = env.float(
    "SIMULATOR_PUSH_TIMEOUT_DELAY_SECONDS", default=DARAJA_READ_TIMEOUT + 5
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
SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS = env.float("SIMULATOR_C2B_VALIDATION_TIMEOUT_SECONDS", default=8.0)
SIMULATOR_C2B_DELAY_SECONDS = env.float("SIMULATOR_C2B_DELAY_SECONDS", default=1.0)
SIMULATOR_C2B_MSISDN = env.str("SIMULATOR_C2B_MSISDN", default="hashed")
SIMULATOR_C2B_NAMES = env.str("SIMULATOR_C2B_NAMES", default="first")
SIMULATOR_C2B_ECHO_THIRD_PARTY_TRANS_ID = env.bool("SIMULATOR_C2B_ECHO_THIRD_PARTY_TRANS_ID", default=True)

SIMULATOR_JOB_POLL_SECONDS = env.float("SIMULATOR_JOB_POLL_SECONDS", default=0.5)
SIMULATOR_MAX_BODY_BYTES = env.int("SIMULATOR_MAX_BODY_BYTES", default=32_768)
SIMULATOR_ENABLED = True  # this process is the simulator, whatever the environment says

# --- Django -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.contenttypes",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "simulator",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "simulator.standalone.urls"
ASGI_APPLICATION = "simulator.standalone.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]
DATABASES = {
    "default": env.db("SIMULATOR_DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'simulator.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=10.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# One process: the in-memory layer. Several (behind one database): SIMULATOR_REDIS_URL.
_redis = env.str("SIMULATOR_REDIS_URL", default="")
CHANNEL_LAYERS = channel_layer_config(_redis, kind="redis" if _redis else "memory")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Africa/Nairobi"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
SERVESTATIC_USE_FINDERS = True  # no collectstatic step: files come from the app's static/
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ACCESS_LOG = env.bool("ACCESS_LOG", default=True)
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask": {"()": "mpesa_plumbing.logs.MaskSensitiveFilter"}},
    "formatters": {
        "json": {"()": "mpesa_plumbing.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["mask"]}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
