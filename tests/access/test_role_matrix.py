"""The permission model, proven door by door (issue 11 §1, SPEC §9 "admin permissions separate
viewing, operating and refunding").

Every URL of the admin site is taken from the site itself (admin.site.get_urls()), so a new page
cannot escape this matrix: an unclassified URL name or an unregistered model fails the test. Each
URL is requested as each role (the groups the data migration made) and must answer 200 for the
roles in its row and 403 (or the login redirect, for anonymous) for everyone else. Every admin
action is checked the same way, both offered (get_actions) and refused when posted anyway.
"""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from access.roles import ROLES
from cockpit.models import Discrepancy, ReconciliationRun, SavedView
from orders.actions import ACTIONS
from orders.admin_shipping import UPLOAD_SALT
from orders.models import ChannelAction, CsvExport, ImportProblem, OrderStatus, Shipment, TaskHandoff
from tests.factories import (
    BulkJobFactory,
    ChannelAccountFactory,
    ChannelActionFactory,
    CreditMemoFactory,
    MarketplaceFactory,
    OrderLogFactory,
    ProductFactory,
    ShipmentFactory,
    create_order,
)
from tests.helpers import ups_tracking

pytestmark = pytest.mark.django_db

ANONYMOUS, STAFF, SUPERUSER = "anonymous", "staff without a role", "superuser"
VIEWER, OPERATOR, REFUNDER, ACCOUNT_ADMIN = "Viewer", "Operator", "Refunder", "Account admin"
PEOPLE = [ANONYMOUS, STAFF, VIEWER, OPERATOR, REFUNDER, ACCOUNT_ADMIN, SUPERUSER]

EVERY_ROLE = frozenset({VIEWER, OPERATOR, REFUNDER, ACCOUNT_ADMIN, SUPERUSER})
ACCOUNTS = frozenset({ACCOUNT_ADMIN, SUPERUSER})
OPERATORS = frozenset({OPERATOR, SUPERUSER})
REFUNDERS = frozenset({REFUNDER, SUPERUSER})
ONLY_SUPERUSER = frozenset({SUPERUSER})
NOBODY = frozenset()


def _access(view, add=NOBODY, change=NOBODY, delete=NOBODY):
    return {"view": view, "add": add, "change": change, "delete": delete}


# Who may do what to each registered model. "change" is checked on the change page's own answer
# (a viewer gets the page read-only); history is readable with view.
MODELS = {
    "orders.order": _access(EVERY_ROLE),
    "orders.orderlog": _access(EVERY_ROLE),
    "orders.shipment": _access(EVERY_ROLE),  # corrections go through their own logged path
    "orders.channelaction": _access(EVERY_ROLE),
    "orders.bulkjob": _access(EVERY_ROLE),
    "orders.importproblem": _access(EVERY_ROLE),
    "orders.csvexport": _access(EVERY_ROLE),
    "orders.product": _access(EVERY_ROLE, ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER),
    "creditmemos.creditmemo": _access(EVERY_ROLE),
    "cockpit.discrepancy": _access(EVERY_ROLE),  # Needs attention: resolved by a reconciliation, never edited
    "channels.channelaccount": _access(EVERY_ROLE, ACCOUNTS, ACCOUNTS, ONLY_SUPERUSER),
    "channels.marketplace": _access(EVERY_ROLE, ACCOUNTS, ACCOUNTS, ONLY_SUPERUSER),
    **{
        f"django_celery_beat.{model}": _access(ACCOUNTS, ACCOUNTS, ACCOUNTS, ACCOUNTS)
        for model in ("periodictask", "intervalschedule", "crontabschedule", "solarschedule", "clockedschedule")
    },
    "auth.user": _access(ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER),
    "auth.group": _access(ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER, ONLY_SUPERUSER),
    # Login lockouts: seen and lifted (deleted) by an administrator only.
    "axes.accessattempt": _access(ONLY_SUPERUSER, NOBODY, ONLY_SUPERUSER, ONLY_SUPERUSER),
    # (axes' own admin: its change pages show every field read-only)
    "axes.accesslog": _access(ONLY_SUPERUSER, NOBODY, ONLY_SUPERUSER, ONLY_SUPERUSER),
    "axes.accessfailurelog": _access(ONLY_SUPERUSER, NOBODY, ONLY_SUPERUSER, ONLY_SUPERUSER),
}

# The admin's own views on top of the standard model pages: who may open each.
CUSTOM_VIEWS = {
    "orders_order_export": EVERY_ROLE,  # the whole grid with buyers' names and e-mails
    "orders_order_action": OPERATORS,  # store order, acknowledge, ship, resend, cancel, retry
    "orders_order_ship": OPERATORS,  # ship chosen quantities of one order
    "orders_order_cancel": OPERATORS,  # cancel one whole order (every open unit), with the channel's reason
    "orders_shipment_correct": OPERATORS,  # correct a shipment's tracking (logged, resent)
    "orders_shipment_withdraw": OPERATORS,  # withdraw a shipment the channel never accepted (logged)
    "orders_order_upload_tracking": OPERATORS,  # tracking CSV: preview, then ship
    "orders_bulkjob_retry": OPERATORS,
    "orders_csvexport_download": EVERY_ROLE,  # a background export of the grid  # Retry Failed Sync of a bulk job's failed orders
    "creditmemos_creditmemo_create_for_order": REFUNDERS,
    "channels_channelaccount_reimport": OPERATORS,
    "cockpit_performance": EVERY_ROLE,  # seller performance
    "cockpit_charts": EVERY_ROLE,
    "cockpit_reconcile": OPERATORS,  # reconcile an account with its channel now
    "cockpit_discrepancy_resync": OPERATORS,  # re-import an order from Needs attention
    "cockpit_discrepancy_resend": OPERATORS,  # queue our failed change again from Needs attention
    "cockpit_savedview_save": EVERY_ROLE,  # save the grid's filters (private or shared)
    "cockpit_savedview_delete": ONLY_SUPERUSER,  # the row's view belongs to the superuser: only its owner
    "auth_user_password_change": ONLY_SUPERUSER,
}

# Admin actions (the Actions menu of each list) per model; delete_selected follows the delete column.
# Only actions on a list one may open count: the list itself answers 403 to the others.
MODEL_ACTIONS = {
    "orders.order": {"export_csv_action": EVERY_ROLE, **{f"{name}_action": OPERATORS for name in ACTIONS}},
    "channels.channelaccount": {"import_now": OPERATORS},
    "orders.importproblem": {"dismiss": OPERATORS},
    "orders.channelaction": {"retry_failed_action": OPERATORS},
    "django_celery_beat.periodictask": {name: ACCOUNTS for name in
                                        ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks")},
    "axes.accessattempt": {"cleanup_expired_attempts": ONLY_SUPERUSER},
}

# Site pages that only need a staff login (anything else needs a row above).
SITE_VIEWS = {"index", "login", "logout", "password_change", "password_change_done", "jsi18n", "autocomplete",
              "view_on_site", "app_list"}
APP_LIST = {
    "orders": EVERY_ROLE,
    "channels": EVERY_ROLE,
    "creditmemos": EVERY_ROLE,
    "cockpit": EVERY_ROLE,
    "django_celery_beat": ACCOUNTS,
    "auth": ONLY_SUPERUSER,
    "axes": ONLY_SUPERUSER,
}


def test_every_registered_model_and_admin_url_is_in_the_matrix():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(MODELS), "add the new model's row to MODELS (and to the README's role table)"
    unclassified = [name for name, _ in _admin_url_names() if _classify(name) is None]
    assert not unclassified, f"classify these admin URLs in the matrix: {unclassified}"


def test_the_roles_are_the_groups_the_data_migration_made():
    for name, perms in ROLES.items():
        group = Group.objects.get(name=name)
        stored = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert stored == set(perms), name


@pytest.fixture
def objects(settings, tmp_path):
    """One object of every registered model, so every change/delete/history page has something."""
    settings.CSV_EXPORT_DIR = tmp_path
    (tmp_path / "orders-ready.csv").write_text("Sale Date\n")
    marketplace = MarketplaceFactory()
    account = ChannelAccountFactory(marketplace=marketplace)
    order = create_order(account=account, status=OrderStatus.UNSHIPPED, buyer_name="Ann Buyer")
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    attempt_fields = {"user_agent": "test", "ip_address": "10.0.0.9", "username": "someone", "http_accept": "*/*",
                      "path_info": "/admin/login/"}
    by_label = {
        "orders.order": order,
        "orders.orderlog": OrderLogFactory(order=order),
        "orders.shipment": ShipmentFactory(order=order),
        "orders.channelaction": ChannelActionFactory(order=order),
        "orders.bulkjob": BulkJobFactory(order_ids=[order.pk]),
        "orders.csvexport": CsvExport.objects.create(state=CsvExport.State.READY, file_name="orders-ready.csv"),
        "orders.importproblem": ImportProblem.objects.create(
            account=account, channel_order_id="P1", fingerprint="P1", raw_payload="{}", error="unreadable",
            first_seen_at=timezone.now(), last_seen_at=timezone.now()),
        "orders.product": ProductFactory(),
        "creditmemos.creditmemo": CreditMemoFactory(order=order),
        "cockpit.discrepancy": Discrepancy.objects.create(
            account=account, order=order, summary="status differs", first_seen_at=timezone.now(),
            last_seen_at=timezone.now(), last_run=ReconciliationRun.objects.create(
                account=account, started_at=timezone.now(), created_from=timezone.now())),
        "channels.channelaccount": account,
        "channels.marketplace": marketplace,
        "django_celery_beat.intervalschedule": interval,
        "django_celery_beat.periodictask": PeriodicTask.objects.create(name="t", task="x", interval=interval),
        "django_celery_beat.crontabschedule": CrontabSchedule.objects.create(),
        "django_celery_beat.solarschedule": SolarSchedule.objects.create(event="sunrise", latitude=1, longitude=1),
        "django_celery_beat.clockedschedule": ClockedSchedule.objects.create(clocked_time=timezone.now()),
        "auth.group": Group.objects.get(name=VIEWER),
        "axes.accessattempt": AccessAttempt.objects.create(failures_since_start=1, get_data="", post_data="",
                                                           **attempt_fields),
        "axes.accesslog": AccessLog.objects.create(**attempt_fields),
        "axes.accessfailurelog": AccessFailureLog.objects.create(locked_out=False, **attempt_fields),
    }
    return by_label


@pytest.fixture
def people(django_user_model, objects):
    users = {ANONYMOUS: None}
    users[STAFF] = django_user_model.objects.create_user("staff", is_staff=True)
    for role in (VIEWER, OPERATOR, REFUNDER, ACCOUNT_ADMIN):
        user = django_user_model.objects.create_user(role.replace(" ", "-").lower(), is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    users[SUPERUSER] = django_user_model.objects.create_superuser("root", email=None, password=None)
    objects["auth.user"] = users[STAFF]
    objects["cockpit.savedview"] = SavedView.objects.create(owner=users[SUPERUSER], name="Root's", shared=True,
                                                            query="status=created")
    return users


def _admin_url_names():
    """(name, pattern) of every URL admin.site serves, found by walking its resolver."""

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and entry.name:
                yield entry.name, prefix + str(entry.pattern)

    return list(walk(admin.site.get_urls()))


MODEL_PAGE = re.compile(r"^(?P<app>[a-z_]+?)_(?P<model>[a-z]+)_(?P<page>changelist|add|change|delete|history)$")


def _model_label(name: str) -> tuple[str, str] | None:
    match = MODEL_PAGE.match(name)
    if not match:
        return None
    for label in MODELS:
        app, model = label.split(".")
        if name == f"{app}_{model}_{match['page']}":
            return label, match["page"]
    return None


def _classify(name: str):
    if name in CUSTOM_VIEWS:
        return ("custom", name)
    if name in SITE_VIEWS:
        return ("site", name)
    return _model_label(name)


def _urls_with_rows(objects):
    """(url, allowed roles, status for the others, extra check) for every admin URL, with real objects."""
    order = objects["orders.order"]
    account = objects["channels.channelaccount"]
    rows = []
    for name, _pattern in _admin_url_names():
        kind = _classify(name)
        if kind is None:
            raise AssertionError(f"unclassified admin URL {name}")
        if kind[0] == "site":
            if name == "index":
                rows.append((reverse("admin:index"), EVERY_ROLE | {STAFF}, 403, None))
            elif name == "app_list":
                # An app's page is hidden (404) from those who may see none of its models.
                rows += [(reverse("admin:app_list", args=[app]), allowed, 404, None) for app, allowed in APP_LIST.items()]
            continue
        if kind[0] == "custom":
            allowed = CUSTOM_VIEWS[name]
            if name == "orders_order_export":
                rows.append((reverse(f"admin:{name}"), allowed, 403, None))
            elif name == "orders_order_action":
                rows += [(reverse("admin:orders_order_action", args=[order.pk, action]), allowed, 403, None)
                         for action in ACTIONS]
            elif name in ("creditmemos_creditmemo_create_for_order", "orders_order_ship"):
                rows.append((reverse(f"admin:{name}", args=[order.pk]), allowed, 403, None))
            elif name in ("orders_shipment_correct", "orders_shipment_withdraw"):
                rows.append((reverse(f"admin:{name}", args=[objects["orders.shipment"].pk]), allowed, 403, None))
            elif name == "orders_order_upload_tracking":
                rows.append((reverse(f"admin:{name}"), allowed, 403, None))
            elif name == "orders_bulkjob_retry":
                rows.append((reverse(f"admin:{name}", args=[objects["orders.bulkjob"].pk]), allowed, 403, None))
            elif name == "orders_csvexport_download":
                rows.append((reverse(f"admin:{name}", args=[objects["orders.csvexport"].pk]), allowed, 403, None))
            elif name == "channels_channelaccount_reimport":
                rows.append((reverse(f"admin:{name}", args=[account.pk]), allowed, 403, None))
            elif name in ("cockpit_performance", "cockpit_charts", "cockpit_savedview_save"):
                rows.append((reverse(f"admin:{name}"), allowed, 403, None))
            elif name == "cockpit_reconcile":
                rows.append((reverse(f"admin:{name}", args=[account.pk]), allowed, 403, None))
            elif name in ("cockpit_discrepancy_resync", "cockpit_discrepancy_resend"):
                rows.append((reverse(f"admin:{name}", args=[objects["cockpit.discrepancy"].pk]), allowed, 403, None))
            elif name == "cockpit_savedview_delete":
                rows.append((reverse(f"admin:{name}", args=[objects["cockpit.savedview"].pk]), allowed, 403, None))
            elif name == "auth_user_password_change":
                rows.append((reverse(f"admin:{name}", args=[objects["auth.user"].pk]), allowed, 403, None))
            continue
        label, page = kind
        access = MODELS[label]
        obj = objects[label]
        if page == "changelist":
            rows.append((reverse(f"admin:{name}"), access["view"], 403, None))
        elif page == "add":
            rows.append((reverse(f"admin:{name}"), access["add"], 403, None))
        elif page == "change":
            rows.append((reverse(f"admin:{name}", args=[obj.pk]), access["view"] | access["change"], 403,
                         ("change", access["change"])))
        elif page == "delete":
            rows.append((reverse(f"admin:{name}", args=[obj.pk]), access["delete"], 403, None))
        elif page == "history":
            rows.append((reverse(f"admin:{name}", args=[obj.pk]), access["view"] | access["change"], 403, None))
    return rows


@pytest.mark.parametrize("person", PEOPLE)
def test_every_admin_url_answers_each_role_as_the_matrix_says(client, people, objects, person):
    user = people[person]
    if user:
        client.force_login(user)
    wrong = []
    for url, allowed, denied, extra in _urls_with_rows(objects):
        response = client.get(url)
        if person == ANONYMOUS:
            if response.status_code != 302 or not urlsplit(response["Location"]).path == reverse("admin:login"):
                wrong.append((url, response.status_code, "expected the login redirect"))
            continue
        expected = 200 if person in allowed else denied
        if response.status_code != expected:
            wrong.append((url, response.status_code, f"expected {expected}"))
        elif extra and response.status_code == 200 and response.context is not None:
            may_change = response.context.get("has_change_permission")
            if may_change is not None and may_change != (person in extra[1]):
                wrong.append((url, "change allowed" if may_change else "read-only", "change column disagrees"))
    assert not wrong, f"{person}: {wrong}"


def _request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize("person", [p for p in PEOPLE if p != ANONYMOUS])
def test_each_role_is_offered_exactly_its_admin_actions(people, person):
    user = people[person]
    wrong = {}
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        expected = {name for name, allowed in MODEL_ACTIONS.get(label, {}).items() if person in allowed}
        if person in MODELS[label]["delete"]:
            expected.add("delete_selected")
        request = _request_as(user)
        offered = set(model_admin.get_actions(request)) if model_admin.has_view_or_change_permission(request) else set()
        if offered != expected:
            wrong[label] = {"offered": sorted(offered), "expected": sorted(expected)}
    assert not wrong, f"{person}: {wrong}"


@pytest.mark.parametrize("person", [STAFF, VIEWER, OPERATOR, REFUNDER, ACCOUNT_ADMIN])
def test_an_action_posted_by_a_role_without_it_is_refused_and_changes_nothing(client, people, objects, person):
    client.force_login(people[person])
    for label, actions in MODEL_ACTIONS.items():
        app, model = label.split(".")
        changelist = reverse(f"admin:{app}_{model}_changelist")
        for action, allowed in actions.items():
            if person in allowed:
                continue
            handoffs, channel_actions = TaskHandoff.objects.count(), ChannelAction.objects.count()
            response = client.post(changelist, {"action": action, "_selected_action": [objects[label].pk],
                                                "index": 0, "confirm_action": "yes"})
            if person not in MODELS[label]["view"]:
                assert response.status_code == 403, (person, action)
            elif response.status_code == 302:  # the list has other actions: this one is not among them
                assert "No action selected." in [str(m) for m in get_messages(response.wsgi_request)], (person, action)
            else:  # the list has no actions for this role at all: it just shows itself again
                assert response.status_code == 200 and response.templates[0].name.endswith("change_list.html")
            assert (TaskHandoff.objects.count(), ChannelAction.objects.count()) == (handoffs, channel_actions)


def test_import_orders_now_runs_for_an_operator_and_not_for_a_viewer(client, people, objects):
    account = objects["channels.channelaccount"]
    changelist = reverse("admin:channels_channelaccount_changelist")
    client.force_login(people[VIEWER])
    client.post(changelist, {"action": "import_now", "_selected_action": [account.pk], "index": 0})
    assert not TaskHandoff.objects.exists()
    client.force_login(people[OPERATOR])
    response = client.post(changelist, {"action": "import_now", "_selected_action": [account.pk], "index": 0})
    assert response.status_code == 302
    assert list(TaskHandoff.objects.values_list("task", "args")) == [("orders.tasks.import_account_orders",
                                                                      [account.pk, True])]


def test_csv_export_needs_the_view_permission_on_both_paths(client, people, objects):
    """A staff user with no permission must not download every buyer's name and e-mail."""
    client.force_login(people[STAFF])
    assert client.get(reverse("admin:orders_order_export")).status_code == 403
    response = client.post(reverse("admin:orders_order_changelist"),
                           {"action": "export_csv_action", "_selected_action": [objects["orders.order"].pk]})
    assert response.status_code == 403
    client.force_login(people[VIEWER])
    body = b"".join(client.get(reverse("admin:orders_order_export")).streaming_content).decode()
    assert "Ann Buyer" in body
    response = client.post(reverse("admin:orders_order_changelist"),
                           {"action": "export_csv_action", "_selected_action": [objects["orders.order"].pk]})
    assert "Ann Buyer" in b"".join(response.streaming_content).decode()


@pytest.mark.django_db(transaction=True)
def test_role_groups_are_restored_to_their_table_after_a_flush_or_migrate():
    """Transactional tests flush the database; the groups come back with exactly their permissions."""
    viewer = Group.objects.get(name=VIEWER)
    viewer.permissions.clear()
    from django.core.management import call_command

    call_command("flush", verbosity=0, interactive=False)
    test_the_roles_are_the_groups_the_data_migration_made()


def _every_row():
    """Every row of our apps, and of every model the admin shows: what a refused request must leave as it was."""
    models = {model for model in apps.get_models() if model._meta.app_label in ("channels", "orders", "creditmemos", "cockpit")}
    return {model._meta.label_lower: list(model.objects.order_by("pk").values())
            for model in models | set(admin.site._registry)}


@pytest.fixture
def submissions(objects, people):
    """(view, url, POST data, whether it changes anything when allowed) for every custom view: the
    data a real submission of its page sends, each on its own order so none depends on another."""
    account = objects["channels.channelaccount"]

    def order(status=OrderStatus.UNSHIPPED, **kwargs):
        return create_order(account=account, status=status, **kwargs)

    tracking = {"carrier": "UPS", "method": "Standard"}
    acting_on = {
        "create_store_order": order(OrderStatus.CREATED),
        "acknowledge": order(OrderStatus.CREATED),
        "mark_shipped": order(),
        "resend_shipping": order(OrderStatus.SHIPPED),
        "cancel": order(OrderStatus.CREATED),
        "retry_failed_sync": order(),
    }
    ShipmentFactory(order=acting_on["resend_shipping"], source=Shipment.Source.OPERATOR)
    ChannelActionFactory(order=acting_on["retry_failed_sync"], state=ChannelAction.State.FAILED)
    rows = [(f"orders_order_action {name}", reverse("admin:orders_order_action", args=[target.pk, name]),
             {"confirm_action": "yes", "reason": "out_of_stock", **tracking, "tracking_number": ups_tracking(1)}, True)
            for name, target in acting_on.items()]

    to_ship = order()
    rows.append(("orders_order_ship", reverse("admin:orders_order_ship", args=[to_ship.pk]),
                 {**tracking, "tracking_number": ups_tracking(2),
                  **{f"qty_{item.pk}": item.qty_ordered for item in to_ship.items.all()}}, True))
    to_cancel = order()
    rows.append(("orders_order_cancel", reverse("admin:orders_order_cancel", args=[to_cancel.pk]),
                 {"confirm_cancel": "yes", "reason": "SELLER_CANCEL_OUT_OF_STOCK"}, True))
    shipped = order(OrderStatus.SHIPPED)
    shipment = ShipmentFactory(order=shipped, source=Shipment.Source.OPERATOR)
    rows.append(("orders_shipment_correct", reverse("admin:orders_shipment_correct", args=[shipment.pk]),
                 {"carrier": "UPS", "method": "Standard", "tracking_number": ups_tracking(3)}, True))
    refused = order(OrderStatus.SHIPPED)
    refused_shipment = ShipmentFactory(order=refused, source=Shipment.Source.OPERATOR)
    ChannelActionFactory(order=refused, shipment=refused_shipment, kind=ChannelAction.Kind.SHIP,
                         state=ChannelAction.State.FAILED)
    rows.append(("orders_shipment_withdraw", reverse("admin:orders_shipment_withdraw", args=[refused_shipment.pk]),
                 {}, True))

    upload_target = order()
    csv_text = f"Channel Order #,Carrier,Method,Tracking #\n{upload_target.channel_order_id},UPS,Standard,{ups_tracking(4)}\n"
    upload = reverse("admin:orders_order_upload_tracking")
    rows.append(("orders_order_upload_tracking preview", upload,
                 {"file": SimpleUploadedFile("tracking.csv", csv_text.encode())}, False))
    # the confirmation step with a genuinely signed file: what an attacker would replay
    rows.append(("orders_order_upload_tracking confirm", upload,
                 {"signed_file": signing.dumps(csv_text, salt=UPLOAD_SALT, compress=True)}, True))

    to_refund = order(OrderStatus.SHIPPED)
    rows.append(("creditmemos_creditmemo_create_for_order",
                 reverse("admin:creditmemos_creditmemo_create_for_order", args=[to_refund.pk]),
                 {**{f"qty_{item.pk}": item.qty_ordered for item in to_refund.items.all()}, "shipping_refund": "0",
                  "adjustment_refund": "0", "adjustment_fee": "0", "refund_reason": "CustomerChangedMind",
                  "comment": "", "_save": "Save"}, True))
    today = timezone.localdate()
    rows.append(("channels_channelaccount_reimport", reverse("admin:channels_channelaccount_reimport",
                                                             args=[account.pk]),
                 {"created_from": today - dt.timedelta(days=2), "created_to": today}, True))
    failed_in_job = order()
    job = BulkJobFactory(order_ids=[failed_in_job.pk])
    ChannelActionFactory(order=failed_in_job, bulk_job=job, state=ChannelAction.State.FAILED)
    rows.append(("orders_bulkjob_retry", reverse("admin:orders_bulkjob_retry", args=[job.pk]),
                 {"confirm_action": "yes"}, True))
    rows.append(("orders_order_export", reverse("admin:orders_order_export"), {}, False))
    rows.append(("orders_csvexport_download", reverse("admin:orders_csvexport_download",
                                                      args=[objects["orders.csvexport"].pk]), {}, False))
    rows.append(("cockpit_performance", reverse("admin:cockpit_performance"), {}, False))
    rows.append(("cockpit_charts", reverse("admin:cockpit_charts"), {}, False))
    rows.append(("cockpit_reconcile", reverse("admin:cockpit_reconcile", args=[account.pk]), {}, True))
    discrepancy = objects["cockpit.discrepancy"]
    # The channel of the matrix's account cannot be read: a resync is refused in plain words.
    rows.append(("cockpit_discrepancy_resync", reverse("admin:cockpit_discrepancy_resync", args=[discrepancy.pk]),
                 {}, False))
    rows.append(("cockpit_discrepancy_resend", reverse("admin:cockpit_discrepancy_resend", args=[discrepancy.pk]),
                 {}, True))
    rows.append(("cockpit_savedview_save", reverse("admin:cockpit_savedview_save"),
                 {"name": "Created today", "query": "status=created", "shared": ""}, True))
    rows.append(("cockpit_savedview_delete", reverse("admin:cockpit_savedview_delete",
                                                     args=[objects["cockpit.savedview"].pk]), {}, True))
    rows.append(("auth_user_password_change", reverse("admin:auth_user_password_change",
                                                      args=[objects["auth.user"].pk]),
                 {"password1": "a new long passphrase 11", "password2": "a new long passphrase 11"}, True))
    return rows


POSTED_VIEWS = {
    "orders_order_action": OPERATORS, "orders_order_ship": OPERATORS, "orders_order_cancel": OPERATORS,
    "orders_shipment_correct": OPERATORS, "orders_shipment_withdraw": OPERATORS,
    "orders_order_upload_tracking": OPERATORS, "creditmemos_creditmemo_create_for_order": REFUNDERS,
    "channels_channelaccount_reimport": OPERATORS, "orders_bulkjob_retry": OPERATORS,
    "orders_order_export": EVERY_ROLE, "orders_csvexport_download": EVERY_ROLE,
    **{name: CUSTOM_VIEWS[name] for name in CUSTOM_VIEWS if name.startswith("cockpit_")},
    "auth_user_password_change": ONLY_SUPERUSER,
}


def test_every_custom_view_is_posted_to_in_the_matrix(submissions):
    assert POSTED_VIEWS == {name: CUSTOM_VIEWS[name] for name in CUSTOM_VIEWS}
    assert {view.split()[0] for view, *_ in submissions} == set(CUSTOM_VIEWS)


@pytest.mark.parametrize("person", [p for p in PEOPLE if p != ANONYMOUS])
def test_posting_to_each_custom_view_is_allowed_or_refused_with_nothing_changed(client, people, submissions, person):
    """A page one may not open is no less closed to a hand-made POST; and the same POST, allowed,
    does its work (so a refusal above is the permission, not bad data)."""
    client.force_login(people[person])
    wrong = []
    for view, url, data, changes in submissions:
        allowed = person in POSTED_VIEWS[view.split()[0]]
        before = _every_row()
        response = client.post(url, data)
        changed = _every_row() != before
        if not allowed and (response.status_code != 403 or changed):
            wrong.append((view, response.status_code, "changed" if changed else "unchanged", "expected 403"))
        elif allowed and (response.status_code not in (200, 302) or changed != changes):
            wrong.append((view, response.status_code, "changed" if changed else "unchanged", "expected it to work"))
    assert not wrong, f"{person}: {wrong}"
