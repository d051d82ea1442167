from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def check_simulator_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """simulator.E001: a SIMULATOR_* value conf.py cannot read (a typo in a mode, a rate that
    is not COUNT/SECONDS) fails ``manage.py check``/``migrate`` instead of every request."""
    from .conf import sim_config

    try:
        sim_config()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="simulator.E001")]
    return []


class SimulatorConfig(AppConfig):
    name = "simulator"
    verbose_name = "Daraja simulator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the callback deliveries (STK and C2B) with the shared job runner
        (mpesa_plumbing.jobs) and the settings check."""
        from mpesa_plumbing.jobs import register_source

        from .c2b_delivery import c2b_deliver_due
        from .delivery import deliver_due

        register_source("simulator.deliver", deliver_due)
        register_source("simulator.c2b", c2b_deliver_due)
        checks.register(check_simulator_settings)
