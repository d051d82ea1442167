"""Mounted at ``/simulator/`` when SIMULATOR_ENABLED. Below it, Daraja's exact paths (§1.1),
so any Daraja client works by changing only its base URL. Every name is in the
``simulator`` namespace (the product's "one CSRF-exempt view" test excludes it)."""

from django.urls import path, re_path

from . import pages
from .api import c2b_views, views
from .control import c2b_views as control_c2b
from .control import views as control

app_name = "simulator"

urlpatterns = [
    # Daraja (§1.1)
    path("oauth/v1/generate", views.oauth_generate, name="oauth"),
    path("mpesa/stkpush/v1/processrequest", views.stk_push, name="stk-push"),
    path("mpesa/stkpushquery/v1/query", views.stk_query, name="stk-query"),
    re_path(r"^mpesa/c2b/(?P<version>v[12])/registerurl$", c2b_views.register_url, name="c2b-register"),
    re_path(r"^mpesa/c2b/(?P<version>v[12])/simulate$", c2b_views.simulate, name="c2b-simulate"),
    re_path(r"^(?P<rest>c2b/.*)$", c2b_views.no_proxy, name="c2b-no-proxy"),
    re_path(r"^(?P<rest>(?i:oauth|mpesa)/.*)$", views.not_found, name="daraja-not-found"),
    # Control API
    path("control/counters/", control.counters, name="control-counters"),
    path("control/scenarios/", control.scenarios, name="control-scenarios"),
    path("control/reset/", control.reset, name="control-reset"),
    path("control/pushes/", control.pushes, name="control-pushes"),
    path("control/pushes/<str:checkout_request_id>/", control.push_detail, name="control-push"),
    path("control/pushes/<str:checkout_request_id>/fire/", control.push_fire, name="control-fire"),
    path("control/scripts/", control.script_list, name="control-scripts"),
    path("control/scripts/<int:script_id>/delete/", control.script_delete, name="control-script-delete"),
    path("control/deliveries/<int:delivery_id>/resend/", control.delivery_resend, name="control-resend"),
    path("control/tokens/expire/", control.tokens_expire, name="control-tokens-expire"),
    path("control/trigger/", control.trigger, name="control-trigger"),
    path("control/deliver/", control.deliver, name="control-deliver"),
    path("control/c2b/pay/", control_c2b.pay, name="control-c2b-pay"),
    path("control/c2b/payments/", control_c2b.payments, name="control-c2b-payments"),
    path("control/c2b/payments/<str:trans_id>/", control_c2b.payment_detail, name="control-c2b-payment"),
    path(
        "control/c2b/payments/<str:trans_id>/deliver/",
        control_c2b.payment_deliver,
        name="control-c2b-deliver",
    ),
    path(
        "control/c2b/callbacks/<int:callback_id>/resend/",
        control_c2b.callback_resend,
        name="control-c2b-resend",
    ),
    path("control/c2b/registrations/", control_c2b.registrations, name="control-c2b-registrations"),
    path(
        "control/c2b/registrations/<str:shortcode>/delete/",
        control_c2b.registration_delete,
        name="control-c2b-registration-delete",
    ),
    re_path(r"^control/(?P<rest>.*)$", control.not_found, name="control-not-found"),  # JSON, not HTML
    # Pages
    path("", pages.index, name="index"),
    path("phone/<str:msisdn>/", pages.phone, name="phone"),
]
