from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "frontend"

urlpatterns = [
    path("", views.orders, name="orders"),
    path("checkout/<uuid:public_id>/", views.checkout, name="checkout"),
    path("wallet/", views.wallet, name="wallet"),
    path("bookings/<uuid:public_id>/", views.booking, name="booking"),
    path("history/", views.history, name="history"),
]

# Django auth, at the names settings.LOGIN_URL / LOGOUT_REDIRECT_URL expect.
auth_urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="frontend/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
