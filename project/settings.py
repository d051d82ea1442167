"""Settings: every knob is an environment variable (documented in .env.example and README).

With no environment at all the project runs on an embedded development default: SQLite (WAL),
the in-memory channel layer, the local-memory cache and the bundled Daraja simulator.
``DJANGO_DEBUG=false`` selects the production profile, which refuses to start while a secret
is missing (see ``_require``) and is policed by the ``payments.E…`` system checks.
"""

import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from mpesa_plumbing.client_ip import parse_networks
from payments.defaults import (
    DARAJA_HOSTS,
    SAFARICOM_CALLBACK_IPS,
    SANDBOX_C2B_SHORTCODE,
    SANDBOX_PASSKEY,
    SANDBOX_SHORTCODE,
)
from project.layers import channel_layer_config
from simulator.env_settings import simulator_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV", default=True) and (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=True)
PRODUCTION = not DEBUG

# Public sandbox values (daraja-reference.md §8): safe to ship as development defaults only.

_missing: list[str] = []


def _require(name: str, dev_default: str) -> str:
    """A secret: development gets a default, production must set it (collected, then raised)."""
    value = env.str(name, default="")
    if value:
        return value
    if PRODUCTION:
        _missing.append(name)
        return ""
    return dev_default


SECRET_KEY = _require("DJANGO_SECRET_KEY", "dev-insecure-" + "x" * 50)
# Rotating the secret: the new one in DJANGO_SECRET_KEY, the old one here (comma-separated), so
# sessions, checkout sockets and live tickets made under it stay valid until they expire.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    _missing.append("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Daraja -----------------------------------------------------------------------------
PORT = env.int("PORT", default=8000)
_base = env.str("DARAJA_BASE_URL", default="" if PRODUCTION else f"http://127.0.0.1:{PORT}/simulator")
DARAJA_BASE_URL = DARAJA_HOSTS.get(_base, _base).rstrip("/")
if not DARAJA_BASE_URL:
    _missing.append("DARAJA_BASE_URL")
DARAJA_CONSUMER_KEY = _require("DARAJA_CONSUMER_KEY", "dev-consumer-key")
DARAJA_CONSUMER_SECRET = _require("DARAJA_CONSUMER_SECRET", "dev-consumer-secret")
DARAJA_SHORTCODE = _require("DARAJA_SHORTCODE", SANDBOX_SHORTCODE)
DARAJA_PASSKEY = _require("DARAJA_PASSKEY", SANDBOX_PASSKEY)
DARAJA_TRANSACTION_TYPE = env.str("DARAJA_TRANSACTION_TYPE", default="CustomerPayBillOnline")
DARAJA_PARTY_B = env.str("DARAJA_PARTY_B", default="") or DARAJA_SHORTCODE
# Pay Bill fallback (README, "When the prompt never comes"): the business number customers pay
# from the M-Pesa menu (default: PartyB; in development the sandbox's C2B paybill, since 174379
# is STK-only), the register-urls version (v1/v2, whichever your Daraja app's products hold)
# and what Daraja does when our validation is unreachable.
_c2b_default = (
    SANDBOX_C2B_SHORTCODE if not PRODUCTION and DARAJA_PARTY_B == SANDBOX_SHORTCODE else DARAJA_PARTY_B
)
DARAJA_C2B_SHORTCODE = env.str("DARAJA_C2B_SHORTCODE", default="") or _c2b_default
DARAJA_C2B_VERSION = env.str("DARAJA_C2B_VERSION", default="v2")
if DARAJA_C2B_VERSION not in ("v1", "v2"):
    raise ImproperlyConfigured("DARAJA_C2B_VERSION: v1 or v2.")
DARAJA_C2B_RESPONSE_TYPE = env.str("DARAJA_C2B_RESPONSE_TYPE", default="Completed")
if DARAJA_C2B_RESPONSE_TYPE not in ("Completed", "Cancelled"):
    raise ImproperlyConfigured("DARAJA_C2B_RESPONSE_TYPE: Completed or Cancelled (sentence case).")
PAYMENTS_PAYBILL = env.bool("PAYMENTS_PAYBILL", default=DARAJA_TRANSACTION_TYPE == "CustomerPayBillOnline")
PAYMENTS_PAYBILL_ACCOUNT_HOURS = env.int("PAYMENTS_PAYBILL_ACCOUNT_HOURS", default=48)
PAYMENTS_C2B_VALIDATION_SECONDS = env.float("PAYMENTS_C2B_VALIDATION_SECONDS", default=4.0)
# Register the C2B URLs by itself at start (sandbox and simulator; production: run
# ``manage.py mpesa register-urls`` once, Daraja allows one registration per shortcode).
PAYMENTS_C2B_AUTO_REGISTER = env.bool("PAYMENTS_C2B_AUTO_REGISTER", default=not PRODUCTION)
DARAJA_CALLBACK_BASE_URL = _require("DARAJA_CALLBACK_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
DARAJA_CONNECT_TIMEOUT = env.float("DARAJA_CONNECT_TIMEOUT", default=5.0)
DARAJA_READ_TIMEOUT = env.float("DARAJA_READ_TIMEOUT", default=20.0)
DARAJA_TOKEN_REFRESH_MARGIN = env.int("DARAJA_TOKEN_REFRESH_MARGIN", default=60)
DARAJA_CONFIRM_SUCCESS_WITH_QUERY = env.bool("DARAJA_CONFIRM_SUCCESS_WITH_QUERY", default=False)
# STK Queries sent at most this often per shortcode, across processes (daraja-reference.md
# §13.4: HTTP 429 past about 5 per 60 s in the sandbox). "count/seconds"; empty = unlimited.
DARAJA_QUERY_RATE = env.str("DARAJA_QUERY_RATE", default="5/60")
if DARAJA_QUERY_RATE and not re.fullmatch(r"[1-9]\d*/[1-9]\d*", DARAJA_QUERY_RATE):
    raise ImproperlyConfigured("DARAJA_QUERY_RATE: count/seconds such as 5/60, or empty.")
# daraja-reference.md §6.1: the widely circulated list; both observed sandbox IPs are in it.
DARAJA_CALLBACK_IPS = env.list("DARAJA_CALLBACK_IPS", default=SAFARICOM_CALLBACK_IPS)
try:  # addresses or CIDR ranges; a typo stops the process here instead of refusing callbacks
    DARAJA_CALLBACK_NETWORKS = parse_networks(DARAJA_CALLBACK_IPS)
except ValueError as exc:
    raise ImproperlyConfigured(f"DARAJA_CALLBACK_IPS: {exc}") from None
DARAJA_CALLBACK_IP_MODE = env.str("DARAJA_CALLBACK_IP_MODE", default="log" if PRODUCTION else "off")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Payments ---------------------------------------------------------------------------
PAYMENTS_CALLBACK_SECRET = _require("PAYMENTS_CALLBACK_SECRET", "dev-callback-secret")
PAYMENTS_MIN_AMOUNT = env.int("PAYMENTS_MIN_AMOUNT", default=1)
PAYMENTS_MAX_AMOUNT = env.int("PAYMENTS_MAX_AMOUNT", default=250_000)
PAYMENTS_PIN_WINDOW_SECONDS = env.int("PAYMENTS_PIN_WINDOW_SECONDS", default=60)
PAYMENTS_EXPIRE_AFTER_SECONDS = env.int("PAYMENTS_EXPIRE_AFTER_SECONDS", default=180)
PAYMENTS_SUBSCRIBER_LOCK_SECONDS = env.int("PAYMENTS_SUBSCRIBER_LOCK_SECONDS", default=60)
PAYMENTS_RECONCILE_AFTER_SECONDS = env.int("PAYMENTS_RECONCILE_AFTER_SECONDS", default=90)
PAYMENTS_RECONCILE_BACKOFF_SECONDS = env.int("PAYMENTS_RECONCILE_BACKOFF_SECONDS", default=30)
PAYMENTS_RECONCILE_BACKOFF_MAX_SECONDS = env.int("PAYMENTS_RECONCILE_BACKOFF_MAX_SECONDS", default=1800)
PAYMENTS_RECONCILE_MAX_AGE_SECONDS = env.int("PAYMENTS_RECONCILE_MAX_AGE_SECONDS", default=86_400)
PAYMENTS_DB_THREADS = env.int("PAYMENTS_DB_THREADS", default=4)
# Python's collector thresholds for server processes (applied in project/asgi.py). With
# thousands of open sockets a full collection takes 100-300 ms; the default gen-0 threshold
# (700) promotes in-flight request objects into the old generation and sets one off every few
# seconds under load. 10,000 lets most of them die young: 3x fewer full collections (README,
# Performance). Higher (50,000) cut the tail further but let garbage pile up between full
# collections (+50 MB in the 60 s soak test against +8 MB). Empty: Python's 700,10,10.
PAYMENTS_GC_THRESHOLDS = env.list("PAYMENTS_GC_THRESHOLDS", cast=int, default=[10_000, 10, 10])
if PAYMENTS_GC_THRESHOLDS and (len(PAYMENTS_GC_THRESHOLDS) != 3 or min(PAYMENTS_GC_THRESHOLDS) < 1):
    raise ImproperlyConfigured("PAYMENTS_GC_THRESHOLDS: three positive integers (gen0,gen1,gen2) or empty.")
PAYMENTS_RUN_JOBS_IN_PROCESS = env.bool("PAYMENTS_RUN_JOBS_IN_PROCESS", default=True)
PAYMENTS_JOB_POLL_SECONDS = env.float("PAYMENTS_JOB_POLL_SECONDS", default=1.0)
PAYMENTS_MAX_BODY_BYTES = env.int("PAYMENTS_MAX_BODY_BYTES", default=32_768)
PAYMENTS_RATE_LIMIT_PER_PHONE = env.str("PAYMENTS_RATE_LIMIT_PER_PHONE", default="5/m")
PAYMENTS_RATE_LIMIT_PER_USER = env.str("PAYMENTS_RATE_LIMIT_PER_USER", default="10/m")
PAYMENTS_WS_MAX_PER_USER = env.int("PAYMENTS_WS_MAX_PER_USER", default=5)
# Front ends on other origins (scheme://host[:port]): they call the JSON API with a token
# (CORS, django-cors-headers) and open sockets with a ticket. Empty: same-origin pages only.
PAYMENTS_FRONTEND_ORIGINS = env.list("PAYMENTS_FRONTEND_ORIGINS", default=[])
# Origins besides the socket's own that may open WebSockets (default: the front ends above).
PAYMENTS_WS_ALLOWED_ORIGINS = env.list("PAYMENTS_WS_ALLOWED_ORIGINS", default=PAYMENTS_FRONTEND_ORIGINS)
PAYMENTS_WS_TICKET_SECONDS = env.int("PAYMENTS_WS_TICKET_SECONDS", default=30)
CORS_ALLOWED_ORIGINS = PAYMENTS_FRONTEND_ORIGINS
CORS_URLS_REGEX = r"^/payments/(?!callbacks/).*$"  # the JSON API only; never callbacks or pages
CORS_ALLOW_CREDENTIALS = False  # other origins authenticate with a token, not the session cookie
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "idempotency-key")
CORS_EXPOSE_HEADERS = ("idempotent-replayed", "retry-after")
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": [], "DEFAULT_PERMISSION_CLASSES": []}
PAYMENTS_WS_MAX_MESSAGES = env.int("PAYMENTS_WS_MAX_MESSAGES", default=20)
PAYMENTS_WS_RATE_WINDOW_SECONDS = env.float("PAYMENTS_WS_RATE_WINDOW_SECONDS", default=10.0)
PAYMENTS_HISTORY_PAGE_SIZE = env.int("PAYMENTS_HISTORY_PAGE_SIZE", default=20)
# /metrics: a bearer token for Prometheus (empty = open; keep /metrics off the public proxy)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- The demo shop (frontend/) -----------------------------------------------------------
# Where customers turn when a payment needs a person (pages' footer, history, receipts).
SHOP_CUSTOMER_CARE = env.str("SHOP_CUSTOMER_CARE", default="care@duka.example")

# --- Simulator --------------------------------------------------------------------------
SIMULATOR_ENABLED = env.bool("SIMULATOR_ENABLED", default=not PRODUCTION)
globals().update(
    simulator_settings(env, callback_base_url=DARAJA_CALLBACK_BASE_URL, read_timeout=DARAJA_READ_TIMEOUT)
)
if _missing:
    raise ImproperlyConfigured(
        "Production profile (DJANGO_DEBUG=false) needs these environment variables: " + ", ".join(_missing)
    )

# --- Django -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "payments",
    "frontend",
]
if SIMULATOR_ENABLED:
    INSTALLED_APPS.append("simulator")

MIDDLEWARE = [
    # Every middleware here is async-capable (servestatic's is async-only), so async views
    # run without a sync hop.
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The customer's language: the django_language cookie (the shop's switch), else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context.shop",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE: writers queue on the busy timeout instead of failing on lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=10.0),
        # The job runner checkpoints the write-ahead log (mpesa_plumbing.db.checkpoint_sqlite_logs);
        # a request commit does only past 10,000 pages (40 MB), when no runner runs.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
        ),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request runs in a fresh thread context, so persistent connections are
    # never reused (performance-notes.md §4); a psycopg pool does the reuse instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Never wait forever on a lock: a callback then answers 503 and Daraja's record is kept
    # by the reconciler instead (reliability-catalogue F5).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c lock_timeout={env.int('DATABASE_LOCK_TIMEOUT_MS', default=5000)}"
    )
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }

REDIS_URL = env.str("REDIS_URL", default="")
CHANNEL_LAYER = env.str("CHANNEL_LAYER", default="redis" if REDIS_URL else "memory")
CHANNEL_LAYERS = channel_layer_config(
    REDIS_URL, kind=CHANNEL_LAYER, max_connections=env.int("REDIS_MAX_CONNECTIONS", default=500)
)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mpx"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATELIMIT_USE_CACHE = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "frontend:orders"
LOGOUT_REDIRECT_URL = "login"

# Customer-facing text in English and Kiswahili: each app's locale/ (payments/locale,
# frontend/locale, found by Django as app folders); the admin, simulator and commands stay English.
# The switch (set_language) keeps the choice in the django_language cookie for a year.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("sw", "Kiswahili")]
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "Africa/Nairobi"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
SERVESTATIC_USE_FINDERS = DEBUG  # development: files come from the apps' static/ folders
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)
CSRF_FAILURE_VIEW = "payments.http.views.csrf_failure"

# --- Production hardening (checked by `manage.py check --deploy`) -------------------------
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False) else None
)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
ACCESS_LOG = env.bool("ACCESS_LOG", default=True)
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
# One line per event. Django's own defaults (django.utils.log.DEFAULT_LOGGING, applied before
# this) give the "django" logger a bare console handler of its own, so with DEBUG every
# django.* record was printed twice: bare, then formatted by root. Naming "django" here drops
# that handler (and the unused mail_admins); its records reach root's handler once. Its level
# is INFO (Django's) unless LOG_LEVEL asks for less.
_DJANGO_LOG_LEVEL = LOG_LEVEL if LOG_LEVEL.upper() in ("WARNING", "ERROR", "CRITICAL") else "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask": {"()": "mpesa_plumbing.logs.MaskSensitiveFilter"},
        "simulated_faults": {"()": "mpesa_plumbing.logs.SimulatedFaultFilter"},
        "refused_host": {"()": "mpesa_plumbing.logs.RefusedHostFilter"},
    },
    "formatters": {
        "json": {"()": "mpesa_plumbing.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["mask"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": _DJANGO_LOG_LEVEL, "propagate": True},
        # 4xx/5xx the simulator answered on purpose: "simulated Daraja fault", INFO.
        "django.request": {"handlers": [], "filters": ["simulated_faults"], "propagate": True},
        # A Host we do not serve: the client's doing, one WARNING line without a traceback.
        "django.security.DisallowedHost": {"handlers": [], "filters": ["refused_host"], "propagate": True},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
