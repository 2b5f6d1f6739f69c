from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_imports(sender, apps=None, **kwargs) -> None:
    """After `migrate`, give every account its import schedule — unless the tables it needs were just
    unapplied (`migrate channels zero` and the like): `apps` is the state the migration left."""
    from .schedules import sync_import_schedules

    if apps is not None:
        try:
            apps.get_model("channels", "ChannelAccount")
            apps.get_model("django_celery_beat", "PeriodicTask")
        except LookupError:
            return
    sync_import_schedules()


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Sales"  # as in Magento: Sales › Orders, not Orders › Orders

    def ready(self) -> None:
        post_migrate.connect(_schedule_imports, sender=self)
