from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "simulator"
    verbose_name = "Daraja simulator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the callback deliveries with the shared job runner (mpesa_plumbing.jobs)."""
        from mpesa_plumbing.jobs import register_source

        from .delivery import deliver_due

        register_source("simulator.deliver", deliver_due)
