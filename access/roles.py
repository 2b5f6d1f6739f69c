"""The roles an administrator gives people, as auth groups (README, "Roles"). Every role can read
the grid, the order detail and the logs; each adds what its holder may change. A person with two
jobs gets two groups. The data migration 0001_role_groups creates them from this table, and after
every `migrate` (or flush) their permissions are set to it again (access.apps): change roles here."""

READ_ONLY = (
    "orders.view_order",
    "orders.view_orderlog",
    "orders.view_shipment",
    "orders.view_product",
    "orders.view_bulkjob",
    "orders.view_channelaction",
    "orders.view_importproblem",
    "creditmemos.view_creditmemo",
    "channels.view_channelaccount",
    "channels.view_marketplace",
    "cockpit.view_discrepancy",  # Needs attention; Today, seller performance and charts need orders.view_order
)

SCHEDULE_MODELS = ("periodictask", "intervalschedule", "crontabschedule", "solarschedule", "clockedschedule")

ROLES: dict[str, tuple[str, ...]] = {
    "Viewer": READ_ONLY,
    # change_importproblem: dismiss an import problem the channel will never send again;
    # reconcile_account: reconcile with the channel, resync or resend from Needs attention
    "Operator": READ_ONLY + ("orders.operate_order", "channels.import_orders", "orders.change_importproblem",
                             "cockpit.reconcile_account"),
    "Refunder": READ_ONLY + ("orders.refund_order",),
    "Account admin": READ_ONLY
    + (
        "channels.add_channelaccount",
        "channels.change_channelaccount",
        "channels.change_credentials",
        "channels.add_marketplace",
        "channels.change_marketplace",
    )
    + tuple(
        f"django_celery_beat.{verb}_{model}" for model in SCHEDULE_MODELS for verb in ("view", "add", "change", "delete")
    ),
}


def sync_role_groups(*, group_model, permission_model) -> list[str]:
    """Give each role group the permissions of its row; models passed in, so the data migration can
    run it with its historical models. Returns the permissions that do not exist (yet): the data
    migration runs before later migrations create theirs, and the post-migrate sync adds them."""
    missing = []
    for name, perms in ROLES.items():
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            permission = permission_model.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is None:
                missing.append(dotted)
            else:
                wanted.append(permission)
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(wanted)
    return missing
