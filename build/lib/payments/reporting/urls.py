"""``/metrics`` (Prometheus), mounted at the site root by ``project/urls.py``."""

from django.urls import path

from . import metrics

urlpatterns = [path("metrics", metrics.metrics, name="metrics")]
