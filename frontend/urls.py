from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "frontend"

urlpatterns = [
    path("", views.orders, name="orders"),
    path("checkout/<uuid:public_id>/", views.checkout, name="checkout"),
    path("wallet/", views.wallet, name="wallet"),
    path("bookings/<uuid:public_id>/", views.booking, name="booking"),
    path("history/", views.history, name="history"),
    path("receipts/<uuid:public_id>/", views.receipt, name="receipt"),
    path("receipts/<uuid:public_id>/pdf/", views.receipt_download, name="receipt-pdf"),
    # Browsers that ignore the <link rel="icon"> ask here: no 404 in the logs for it.
    path("favicon.ico", RedirectView.as_view(url=static("frontend/favicon.svg"), permanent=True)),
]

# Django auth, at the names settings.LOGIN_URL / LOGOUT_REDIRECT_URL expect.
auth_urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="frontend/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
