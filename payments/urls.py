from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("", views.payment_history, name="history"),
    path("initiate/", views.initiate, name="initiate"),
    path("<uuid:public_id>/", views.payment_status, name="status"),
    # Hex only (public id + HMAC): none of Daraja's forbidden URL words can appear (§9.6).
    path(
        "callbacks/<str:public_id_hex>/<str:token>/",
        views.stk_callback,
        name="stk-callback",
    ),
]
