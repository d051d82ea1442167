from django.apps import AppConfig
from django.core.signals import setting_changed


def _clear_config_cache(**kwargs) -> None:
    from .daraja.config import daraja_get_config

    daraja_get_config.cache_clear()


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "M-Pesa payments"

    def ready(self) -> None:
        from . import checks, jobs  # noqa: F401  (registers system checks and job sources)

        setting_changed.connect(_clear_config_cache, dispatch_uid="payments-config-cache")
