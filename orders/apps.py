from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_imports(sender, **kwargs) -> None:
    from .schedules import sync_import_schedules

    sync_import_schedules()


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        post_migrate.connect(_schedule_imports, sender=self)
