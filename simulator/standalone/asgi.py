"""ASGI application of the standalone simulator:

    DJANGO_SETTINGS_MODULE=project.settings_simulator daphne simulator.standalone.asgi:application

HTTP: access log → request-body cap → Django. WebSocket: access log → origin check (scheme,
host, port) → the handset and index sockets, anything else refused. The job runner (callback
deliveries, STK and C2B) runs in this process.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings_simulator")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from mpesa_plumbing.asgi import AccessLog, BodySizeLimit, OriginValidator, PathRouter, ProtocolRouter  # noqa: E402
from mpesa_plumbing.jobs import start_in_process_runner  # noqa: E402
from simulator.routing import websocket_urlpatterns  # noqa: E402


def body_cap(path: str) -> int:
    """Daraja's and the control API's bodies are small JSON."""
    return int(getattr(settings, "SIMULATOR_MAX_BODY_BYTES", 32_768))


def simulator_application(django_app, *, start_jobs: bool = True):
    routes = [*websocket_urlpatterns, re_path(r"", WebsocketDenier.as_asgi())]
    app = ProtocolRouter(
        {
            "http": AccessLog(BodySizeLimit(django_app, body_cap)),
            "websocket": AccessLog(OriginValidator(PathRouter(routes))),
        }
    )
    if start_jobs:
        start_in_process_runner(poll_seconds=float(getattr(settings, "SIMULATOR_JOB_POLL_SECONDS", 0.5)))
    return app


application = simulator_application(django_asgi_app)
