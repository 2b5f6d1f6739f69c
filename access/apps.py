from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _keep_role_groups(sender, using="default", **kwargs) -> None:
    """After every migrate (this app comes last, after every app's permissions were created), the
    role groups get exactly their permissions in access.roles — unless the roles migration is
    unapplied (`migrate access zero` removes the groups and they stay removed)."""
    from django.contrib.auth.models import Group, Permission
    from django.db.migrations.recorder import MigrationRecorder

    from .roles import sync_role_groups

    if ("access", "0001_role_groups") not in MigrationRecorder(connections[using]).applied_migrations():
        return
    missing = sync_role_groups(group_model=Group, permission_model=Permission)
    if missing:
        raise LookupError(f"access.roles names permissions that do not exist: {', '.join(missing)}")


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        post_migrate.connect(_keep_role_groups, sender=self)
