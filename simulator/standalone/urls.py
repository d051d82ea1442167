"""URLconf of the standalone simulator: everything under ``/simulator/`` exactly as when it is
mounted in a project (so a client's base URL is ``http://host:9100/simulator``), health checks,
and ``/`` sends people to the index."""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("simulator/", include("simulator.urls")),
    path("", include("mpesa_plumbing.urls")),
    path("", RedirectView.as_view(url="/simulator/", permanent=False)),
]
