"""The JSON API under ``payments/`` (include it with ``path("payments/", include("payments.urls"))``).

Daraja's callbacks are not here: they have their own door ahead of Django
(``payments.http.callback.with_callbacks`` in your ``asgi.py``).
"""

from django.urls import path, re_path

from .http import views

app_name = "payments"

urlpatterns = [
    path("", views.payment_history, name="history"),
    path("initiate/", views.initiate, name="initiate"),
    path("<uuid:public_id>/", views.payment_status, name="status"),
    path("<uuid:public_id>/ticket/", views.payment_ticket, name="ticket"),
    path("<uuid:public_id>/stop/", views.payment_stop, name="stop"),
    # Anything else under the API (an id that is not a UUID, a path that does not exist) is the
    # API's JSON 404, not the project's HTML page; slash-less paths still get APPEND_SLASH. Not
    # the callbacks' prefix: no slash-appending redirect may echo a callback path (its token).
    re_path(r"^(?!callbacks/).+/$", views.api_not_found, name="not-found"),
]
