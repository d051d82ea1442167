from django.apps import AppConfig
from django.core.signals import setting_changed


def _clear_config_cache(**kwargs) -> None:
    from .daraja.config import daraja_get_config

    daraja_get_config.cache_clear()


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "M-Pesa payments"

    def ready(self) -> None:
        from django.conf import settings

        from mpesa_plumbing.jobs import register_source

        from . import defaults

        self.missing_secrets = defaults.apply(settings)  # the project's own settings win

        from . import checks  # noqa: F401  (registers the system checks)
        from .checkout.reconcile import payments_reconcile_due
        from .checkout.register_urls import register_urls_due
        from .checkout.transitions import payments_expire_overdue

        register_source("payments.expire", payments_expire_overdue)
        register_source("payments.reconcile", payments_reconcile_due)
        register_source("payments.register_urls", register_urls_due)
        setting_changed.connect(_clear_config_cache, dispatch_uid="payments-config-cache")
