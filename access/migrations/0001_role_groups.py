"""Creates the role groups (access.roles.ROLES). Permissions are normally created after all
migrations ran (post_migrate); those that exist by now are created here first, so a fresh database
gets its groups; the post-migrate sync (access.apps) adds those of later migrations."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from access.roles import ROLES, sync_role_groups


def create_role_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_role_groups(group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission"))


def delete_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("channels", "0003_account_permissions"),
        ("orders", "0010_task_handoffs"),
        ("creditmemos", "0002_creditmemo_channel_actions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_role_groups, delete_role_groups)]
