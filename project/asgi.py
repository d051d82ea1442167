"""ASGI entry point: HTTP (Django, body-size guarded; Daraja callbacks answered before Django by
``CallbackEndpoint``) and WebSockets (Channels).

WebSockets pass the Origin check against ALLOWED_HOSTS, then session authentication.
The background job runner (simulator deliveries, reconciliation) starts here unless
PAYMENTS_RUN_JOBS_IN_PROCESS=false (then run ``manage.py payments_worker``).
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from payments.asgi_middleware import AccessLog, BodySizeLimit, StaticFiles  # noqa: E402
from payments.callback_http import CallbackEndpoint  # noqa: E402
from payments.consumers import AuthStack  # noqa: E402
from payments.jobs import start_in_process_runner  # noqa: E402
from project.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": AccessLog(StaticFiles(BodySizeLimit(CallbackEndpoint(django_asgi_app)))),
        "websocket": AccessLog(AllowedHostsOriginValidator(AuthStack(URLRouter(websocket_urlpatterns)))),
    }
)

if settings.PAYMENTS_GC_THRESHOLDS:
    gc.set_threshold(*settings.PAYMENTS_GC_THRESHOLDS)
gc.freeze()  # everything loaded so far lives as long as the process: never scan it again

if settings.PAYMENTS_RUN_JOBS_IN_PROCESS:
    start_in_process_runner(poll_seconds=settings.PAYMENTS_JOB_POLL_SECONDS)
