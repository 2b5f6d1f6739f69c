from django.apps import AppConfig


class CreditMemosConfig(AppConfig):
    name = "creditmemos"
    verbose_name = "Credit memos"
