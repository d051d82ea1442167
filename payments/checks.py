"""System checks that keep development conveniences out of production (payments.E/W…)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import load_backend

from mpesa_plumbing.layers import is_in_process

from .checkout.callback_url import forbidden_words_in

LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


@register(Tags.security, deploy=False)
def check_payments_settings(app_configs=None, **kwargs):
    issues = []
    callback_base = settings.DARAJA_CALLBACK_BASE_URL
    if words := forbidden_words_in(callback_base):
        issues.append(
            Error(
                f"DARAJA_CALLBACK_BASE_URL contains {', '.join(words)!s}: Daraja refuses such URLs.",
                hint="Use a host/path without mpesa, safaricom, exe, cmd, sql or query (§9.6).",
                id="payments.E004",
            )
        )
    if settings.DARAJA_CALLBACK_IP_MODE not in ("off", "log", "enforce"):
        issues.append(Error("DARAJA_CALLBACK_IP_MODE must be off, log or enforce.", id="payments.E007"))
    if settings.DEBUG:
        return issues
    base = urlsplit(settings.DARAJA_BASE_URL)
    if "/simulator" in base.path or (base.hostname or "") in LOOPBACK:
        issues.append(
            Error(
                "DARAJA_BASE_URL points at the simulator in production.",
                hint="Set DARAJA_BASE_URL=sandbox or production (or the full Safaricom URL).",
                id="payments.E001",
            )
        )
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    if is_in_process(backend):
        issues.append(
            Error(
                "The in-memory channel layer is configured in production.",
                hint="Set REDIS_URL: the in-memory layer is per process: other processes' pages miss it.",
                id="payments.E002",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        issues.append(
            Error(
                "ALLOWED_HOSTS contains '*' in production.",
                hint="The WebSocket origin check trusts ALLOWED_HOSTS; list your real hosts.",
                id="payments.E003",
            )
        )
    if urlsplit(callback_base).scheme != "https":
        issues.append(Error("DARAJA_CALLBACK_BASE_URL must be https in production (§8).", id="payments.E005"))
    if settings.SIMULATOR_ENABLED:
        issues.append(
            Error(
                "The Daraja simulator is enabled in production.",
                hint="Unset SIMULATOR_ENABLED.",
                id="payments.E006",
            )
        )
    if settings.DARAJA_CALLBACK_IP_MODE == "off":
        issues.append(
            Warning(
                "Callback IP allowlist is off in production.",
                hint="DARAJA_CALLBACK_IP_MODE=log (or enforce once you trust the list).",
                id="payments.W001",
            )
        )
    return issues


@register(deploy=False)
def check_integration(app_configs=None, **kwargs):
    """A project that adopted the engine wrongly (README, "Add M-Pesa checkout to your Django
    project"): these catch each missing step at start-up instead of at the first payment."""
    from django.apps import apps

    from .payables import registered

    issues = []
    if missing := getattr(apps.get_app_config("payments"), "missing_secrets", []):
        issues.append(
            Error(
                f"Production settings without a value: {', '.join(missing)}.",
                hint="Set them (payments/defaults.py lists every engine setting).",
                id="payments.E014",
            )
        )
    if not registered():
        issues.append(
            Warning(
                "No payable is registered: nothing can be paid for yet.",
                hint="Decorate a model with @payments.payables.register('<kind>') (README: payables).",
                id="payments.W010",
            )
        )
    if not getattr(settings, "CHANNEL_LAYERS", {}).get("default"):
        issues.append(
            Error(
                "No channel layer is configured: pages would never hear their payment's status.",
                hint="Set CHANNEL_LAYERS (Redis with channels-redis; the in-memory layer in development).",
                id="payments.E010",
            )
        )
    scheme = urlsplit(getattr(settings, "DARAJA_CALLBACK_BASE_URL", "")).scheme
    if scheme not in ("http", "https"):
        issues.append(
            Error(
                "DARAJA_CALLBACK_BASE_URL is not an http(s) URL: Daraja could never call it back.",
                hint="Set it to your public origin, e.g. https://shop.example.co.ke.",
                id="payments.E011",
            )
        )
    if deferred := _sqlite_without_immediate_writes(settings.DATABASES):
        issues.append(
            Warning(
                f"SQLite database {', '.join(deferred)} without transaction_mode IMMEDIATE: a write that "
                "meets another fails at once with 'database is locked' (a 500) instead of waiting its turn.",
                hint='Add OPTIONS {"transaction_mode": "IMMEDIATE"} (README, '
                '"Add M-Pesa checkout to your Django project", step 2).',
                id="payments.W012",
            )
        )
    origins = getattr(settings, "PAYMENTS_FRONTEND_ORIGINS", [])
    if origins:
        for app, why in (("corsheaders", "CORS"), ("rest_framework.authtoken", "API tokens")):
            if not apps.is_installed(app):
                issues.append(
                    Error(
                        f"PAYMENTS_FRONTEND_ORIGINS is set but {app} ({why}) is not installed.",
                        hint=f"Add {app!r} to INSTALLED_APPS.",
                        id="payments.E012",
                    )
                )
        sockets = set(getattr(settings, "PAYMENTS_WS_ALLOWED_ORIGINS", []))
        if missing := sorted(set(origins) - sockets):
            issues.append(
                Warning(
                    f"Front-end origins without WebSocket access: {', '.join(missing)}.",
                    hint="Leave PAYMENTS_WS_ALLOWED_ORIGINS unset (it defaults to PAYMENTS_FRONTEND_ORIGINS) "
                    "or list them there: their pages would fall back to polling.",
                    id="payments.W011",
                )
            )
        if getattr(settings, "PAYMENTS_WS_TICKET_SECONDS", 0) <= 0:
            issues.append(
                Error(
                    "PAYMENTS_WS_TICKET_SECONDS must be positive when front ends on other origins are set.",
                    id="payments.E013",
                )
            )
    return issues


def _sqlite_without_immediate_writes(databases: dict) -> list[str]:
    """The SQLite aliases (any backend of SQLite's vendor: spatialite, a subclass) whose
    transactions start DEFERRED (Django's default): a transaction that reads before it writes
    (the engine's settle, the simulator's push) cannot wait for the write lock another
    connection holds, and SQLite refuses it at once whatever the timeout. IMMEDIATE and
    EXCLUSIVE take the lock at BEGIN, so writers wait their turn."""
    return [
        alias
        for alias, database in databases.items()
        if _vendor(database.get("ENGINE", "")) == "sqlite"
        and str(database.get("OPTIONS", {}).get("transaction_mode") or "").upper()
        not in ("IMMEDIATE", "EXCLUSIVE")
    ]


def _vendor(engine: str) -> str | None:
    try:
        return load_backend(engine).DatabaseWrapper.vendor
    except (ImproperlyConfigured, ImportError):  # Django's own error to report (a bad ENGINE, no driver)
        return None
