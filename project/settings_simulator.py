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

import environ

from project.layers import channel_layer_config
from simulator.env_settings import simulator_settings

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

# --- The simulator (the same reading as project/settings.py: simulator/env_settings.py) ------
globals().update(
    simulator_settings(env, callback_base_url=DARAJA_CALLBACK_BASE_URL, read_timeout=DARAJA_READ_TIMEOUT)
)

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
        # wal_autocheckpoint: the runner checkpoints (mpesa_plumbing.db.checkpoint_sqlite_logs)
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
        ),
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
