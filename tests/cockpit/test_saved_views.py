"""Issue 15 §5: operators save the grid's filters and sort under a name, theirs or shared; the views
are listed above the grid."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cockpit.models import SavedView

pytestmark = pytest.mark.django_db
GRID = reverse("admin:orders_order_changelist")
SAVE = reverse("admin:cockpit_savedview_save")


def test_save_the_current_filters_and_sort_and_find_them_above_the_grid(client, role_user):
    ann = role_user("Operator")
    client.force_login(ann)
    response = client.post(SAVE, {"name": "Late Walmart", "query": "to_ship=overdue&channel=walmart&o=-2&p=3&evil=1"})
    view = SavedView.objects.get()
    assert (view.owner, view.shared, view.query) == (ann, False, "channel=walmart&o=-2&to_ship=overdue")
    assert response.status_code == 302 and response["Location"] == f"{GRID}?{view.query}"
    page = client.get(f"{GRID}?{view.query}")
    assert b'id="saved-views"' in page.content
    assert b'class="saved-view active"' in page.content and b"Late Walmart" in page.content


def test_private_views_are_their_owners_shared_ones_everyones(client, role_user, django_user_model):
    ann, bob = role_user("Operator"), role_user("Viewer")
    SavedView.objects.create(owner=ann, name="Mine only", query="status=created")
    SavedView.objects.create(owner=ann, name="For the team", query="status=unshipped", shared=True)
    client.force_login(bob)
    page = client.get(GRID).content
    assert b"For the team" in page and b"Mine only" not in page
    shared = SavedView.objects.get(name="For the team")
    assert client.post(reverse("admin:cockpit_savedview_delete", args=[shared.pk])).status_code == 403
    client.force_login(ann)
    assert client.post(reverse("admin:cockpit_savedview_delete", args=[shared.pk])).status_code == 302
    assert not SavedView.objects.filter(pk=shared.pk).exists()


def test_saving_the_same_name_again_replaces_it_and_an_empty_view_is_refused(client, role_user):
    client.force_login(role_user("Viewer"))
    first = client.post(SAVE, {"name": "Mine", "query": "status=created"}, follow=True)
    again = client.post(SAVE, {"name": "Mine", "query": "status=shipped", "shared": "on"}, follow=True)
    assert list(SavedView.objects.values_list("query", "shared")) == [("status=shipped", True)]
    assert [str(m) for m in first.context["messages"]] == ["View “Mine” saved."]
    assert [str(m) for m in again.context["messages"]] == [  # not silently: the earlier filters are gone
        "View “Mine” replaced: it now shows these filters instead of its earlier ones."]
    response = client.post(SAVE, {"name": "Everything", "query": "p=2"})
    assert response.status_code == 200 and b"Choose some filters" in response.content
    assert SavedView.objects.count() == 1


def test_names_are_escaped(client, role_user):
    user = role_user("Viewer")
    SavedView.objects.create(owner=user, name="<script>alert(1)</script>", query="status=created")
    client.force_login(user)
    page = client.get(GRID).content
    assert b"<script>alert(1)</script>" not in page and b"&lt;script&gt;" in page


def test_the_grid_reads_the_saved_views_in_one_query_however_many(client, role_user):
    user = role_user("Viewer")
    client.force_login(user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(GRID).status_code == 200
        return len(captured)

    SavedView.objects.create(owner=user, name="one", query="status=created")
    few = queries()
    for n in range(8):
        SavedView.objects.create(owner=user, name=f"v{n}", query=f"status=created&o={n}", shared=n % 2 == 0)
    assert queries() == few
