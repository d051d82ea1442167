"""Liveness and readiness for load balancers and orchestrators: ``/healthz``, ``/readyz``."""

from django.urls import path

from . import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
