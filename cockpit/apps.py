from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class CockpitConfig(AppConfig):
    name = "cockpit"
    verbose_name = "Operations cockpit"
    default_auto_field = "django.db.models.BigAutoField"


class OperationsAdminConfig(AdminConfig):
    """Django's admin with the cockpit's site (cockpit.site): the index is "Today" and the cockpit's
    pages are admin pages, behind the admin's login and permissions."""

    default_site = "cockpit.site.OperationsAdminSite"
