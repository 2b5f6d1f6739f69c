from django.apps import AppConfig


class CreditMemosConfig(AppConfig):
    name = "creditmemos"
    verbose_name = "Credit memos"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the outbox listener that follows memo actions)
