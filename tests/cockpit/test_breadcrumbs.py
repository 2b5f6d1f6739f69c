"""Every cockpit page reads its place the way the rest of the admin does (the order pages' "Home ›
Sales › Orders › …"): Home, the app, its list when it has one, then the page; every step but the last a
link that opens."""

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cockpit.models import Discrepancy, ReconciliationRun, SavedView
from tests.factories import create_order

pytestmark = pytest.mark.django_db
HOME = ("Home", reverse("admin:index"))
COCKPIT = ("Operations cockpit", reverse("admin:app_list", kwargs={"app_label": "cockpit"}))
NEEDS_ATTENTION = ("Orders needing attention", reverse("admin:cockpit_discrepancy_changelist"))
GRID = [("Sales", reverse("admin:app_list", kwargs={"app_label": "orders"})),
        ("Orders", reverse("admin:orders_order_changelist"))]


def _trail(page: str) -> list[tuple[str, str | None]]:
    """The page's breadcrumbs: (words, link or None) per step."""
    [crumbs] = re.findall(r'<div class="breadcrumbs">(.*?)</div>', page, flags=re.DOTALL)
    steps = []
    for step in re.split(r"&rsaquo;|›", crumbs):
        link = re.search(r'href="([^"]*)"', step)
        words = html.unescape(re.sub(r"<[^>]+>", "", step)).strip()
        steps.append((words, html.unescape(link.group(1)) if link else None))
    return steps


@pytest.fixture
def discrepancy(walmart_account):
    now = timezone.now()
    run = ReconciliationRun.objects.create(account=walmart_account, started_at=now, created_from=now)
    return Discrepancy.objects.create(account=walmart_account, order=create_order(account=walmart_account),
                                      summary="status differs", first_seen_at=now, last_seen_at=now, last_run=run)


def test_every_cockpit_page_has_one_trail_like_the_rest_of_the_admin(operator_role_client, discrepancy,
                                                                     walmart_account):
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(username="operator")  # operator_role_client's user
    view = SavedView.objects.create(name="Late", owner=owner, query="to_ship=overdue")
    order = discrepancy.order.channel_order_id
    pages = {
        reverse("admin:cockpit_performance"): [HOME, COCKPIT, ("Seller performance", None)],
        reverse("admin:cockpit_charts"): [HOME, COCKPIT, ("Charts", None)],
        reverse("admin:cockpit_discrepancy_changelist") + "?status=open": [HOME, COCKPIT,
                                                                           ("Orders needing attention", None)],
        reverse("admin:cockpit_discrepancy_change", args=[discrepancy.pk]): [
            HOME, COCKPIT, NEEDS_ATTENTION, (str(discrepancy), None)],
        reverse("admin:cockpit_discrepancy_resync", args=[discrepancy.pk]): [
            HOME, COCKPIT, NEEDS_ATTENTION,
            (str(discrepancy), reverse("admin:cockpit_discrepancy_change", args=[discrepancy.pk])),
            (f"Resync order {order}?", None)],
        reverse("admin:cockpit_reconcile", args=[walmart_account.pk]): [
            HOME, COCKPIT, NEEDS_ATTENTION, (f"Reconcile {walmart_account.title} now?", None)],
        reverse("admin:cockpit_savedview_save") + "?query=to_ship%3Doverdue": [HOME, *GRID, ("Save this view", None)],
        reverse("admin:cockpit_savedview_delete", args=[view.pk]): [HOME, *GRID, ("Delete the view “Late”?", None)],
        COCKPIT[1]: [HOME, ("Operations cockpit", None)],
    }
    for url, trail in pages.items():
        response = operator_role_client.get(url)
        assert response.status_code == 200, url
        assert _trail(response.content.decode()) == trail, url
        for _words, link in trail[:-1]:
            assert operator_role_client.get(link).status_code == 200, (url, link)


def test_the_order_pages_read_the_same_way(operator_role_client, walmart_account):
    """The trail the cockpit's follow: Home › Sales › Orders › the order."""
    order = create_order(account=walmart_account)
    page = operator_role_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert _trail(page)[:3] == [HOME, *GRID]


def test_the_cockpits_section_lists_its_pages_for_those_who_may_open_them(operator_role_client, client,
                                                                          django_user_model):
    """"Operations cockpit" in the trail (and on the index) opens a page listing the cockpit's pages."""
    page = operator_role_client.get(COCKPIT[1]).content.decode()
    for name, url in (("Seller performance", reverse("admin:cockpit_performance")),
                      ("Charts", reverse("admin:cockpit_charts")), NEEDS_ATTENTION):
        assert f'<a href="{url}' in page and name in page, name
    client.force_login(django_user_model.objects.create_user("nobody", is_staff=True))
    assert client.get(COCKPIT[1]).status_code == 404
    assert reverse("admin:cockpit_performance") not in client.get(reverse("admin:index")).content.decode()
