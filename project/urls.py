from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from frontend.urls import auth_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("payments/", include("payments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the shop's language switch
    path("", include("mpesa_plumbing.urls")),
    path("", include("payments.reporting.urls")),
    path("", include("frontend.urls")),
    *auth_urlpatterns,
]
if settings.SIMULATOR_ENABLED:
    urlpatterns.insert(0, path("simulator/", include("simulator.urls")))
