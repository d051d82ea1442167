"""The ASGI application of a project that uses the engine, in one call.

    # your_project/asgi.py
    import os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "your_project.settings")
    from django.core.asgi import get_asgi_application
    django_asgi_app = get_asgi_application()  # before anything imports models

    from payments.asgi import checkout_application
    from payments.live.routing import websocket_urlpatterns
    application = checkout_application(django_asgi_app, websocket_urlpatterns)

HTTP: access log → request-body cap → Daraja's callback door (ahead of Django) → Django.
WebSocket: access log → origin check (scheme, host, port) → session or ticket → your routes,
anything else refused. Starts the background job runner in this process unless
PAYMENTS_RUN_JOBS_IN_PROCESS is false (then run ``manage.py payments_worker``).
"""

import gc

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import re_path

from mpesa_plumbing.asgi import AccessLog, BodySizeLimit, OriginValidator, PathRouter, ProtocolRouter
from mpesa_plumbing.db import share_caches
from mpesa_plumbing.jobs import start_in_process_runner
from mpesa_plumbing.under_daphne import (
    daphne_with_sliced_timeout_checks,
    daphne_with_spread_pings,
    daphne_without_form_parsing,
)

from .checkout.callback_url import CALLBACK_PATH_PREFIX, redact_callback_tokens
from .http.callback import with_callbacks
from .live.consumers import AuthStack

JSON_PREFIXES = ("/payments/", "/simulator/", CALLBACK_PATH_PREFIX)


def body_cap(path: str) -> int:
    """The JSON APIs (ours and the simulator's) take small bodies; forms the Django default."""
    if path.startswith(JSON_PREFIXES):
        return settings.PAYMENTS_MAX_BODY_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 65_536


def checkout_application(django_asgi_app, websocket_urlpatterns, *, start_jobs: bool | None = None):
    """The whole ASGI application around ``django_asgi_app``. ``websocket_urlpatterns``: the
    engine's (``payments.live.routing``) plus any of yours; unknown paths are refused (403)."""
    routes = [*websocket_urlpatterns, re_path(r"", WebsocketDenier.as_asgi())]  # last: nothing matched
    application = ProtocolRouter(
        {
            "http": AccessLog(
                BodySizeLimit(with_callbacks(django_asgi_app), body_cap), redact=redact_callback_tokens
            ),
            "websocket": AccessLog(
                OriginValidator(
                    AuthStack(PathRouter(routes)), extra_origins=lambda: settings.PAYMENTS_WS_ALLOWED_ORIGINS
                ),
                redact=redact_callback_tokens,
            ),
        }
    )
    daphne_without_form_parsing()  # under Daphne: no parse of bodies nobody reads (its docstring)
    daphne_with_spread_pings()  # under Daphne: sockets opened together are not pinged together
    daphne_with_sliced_timeout_checks()  # under Daphne: its pass over every socket, <= 500 at a time
    if settings.PAYMENTS_GC_THRESHOLDS:
        gc.set_threshold(*settings.PAYMENTS_GC_THRESHOLDS)
    share_caches()  # one backend per alias for the server's tasks and the bridge (db.py)
    gc.freeze()  # everything loaded so far lives as long as the process: never scan it again
    if settings.PAYMENTS_RUN_JOBS_IN_PROCESS if start_jobs is None else start_jobs:
        start_in_process_runner(poll_seconds=settings.PAYMENTS_JOB_POLL_SECONDS)
    return application
