"""ASGI entry point: HTTP (Django, body-size guarded, Daraja's callbacks answered by their own
door ahead of Django) and WebSockets (Channels).

WebSockets pass the Origin check (scheme, host and port: the socket's own origin or one of
PAYMENTS_WS_ALLOWED_ORIGINS), then session authentication; unknown paths are refused (403).
The background job runner (simulator deliveries, reconciliation) starts here unless
PAYMENTS_RUN_JOBS_IN_PROCESS=false (then run ``manage.py payments_worker``).
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from mpesa_plumbing.asgi import AccessLog, BodySizeLimit, OriginValidator  # noqa: E402
from mpesa_plumbing.jobs import start_in_process_runner  # noqa: E402
from payments.checkout.callback_url import redact_callback_tokens  # noqa: E402
from payments.http.callback import with_callbacks  # noqa: E402
from payments.live.consumers import AuthStack  # noqa: E402
from project.routing import websocket_urlpatterns  # noqa: E402

JSON_PREFIXES = ("/payments/", "/simulator/")


def body_cap(path: str) -> int:
    """The JSON APIs (ours and the simulator's) take small bodies; forms the Django default."""
    if path.startswith(JSON_PREFIXES):
        return settings.PAYMENTS_MAX_BODY_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 65_536


application = ProtocolTypeRouter(
    {
        "http": AccessLog(
            BodySizeLimit(with_callbacks(django_asgi_app), body_cap),
            redact=redact_callback_tokens,
        ),
        "websocket": AccessLog(
            OriginValidator(
                AuthStack(URLRouter(websocket_urlpatterns)),
                extra_origins=lambda: settings.PAYMENTS_WS_ALLOWED_ORIGINS,
            ),
            redact=redact_callback_tokens,
        ),
    }
)

if settings.PAYMENTS_GC_THRESHOLDS:
    gc.set_threshold(*settings.PAYMENTS_GC_THRESHOLDS)
gc.freeze()  # everything loaded so far lives as long as the process: never scan it again

if settings.PAYMENTS_RUN_JOBS_IN_PROCESS:
    start_in_process_runner(poll_seconds=settings.PAYMENTS_JOB_POLL_SECONDS)
