"""System checks that keep development conveniences out of production (payments.E/W…)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

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
    if backend.endswith("InMemoryChannelLayer"):
        issues.append(
            Error(
                "The in-memory channel layer is configured in production.",
                hint="Set REDIS_URL: the in-memory layer is per-process and O(sockets) per message.",
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
