import os
import shutil

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from tests.factories import AmazonAccountFactory, ChannelAccountFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"


def _unavailable(reason: str) -> None:
    """Locally a missing service skips the test; in CI it fails it (CI must never skip these)."""
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _service_markers(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _unavailable("needs PostgreSQL: set DATABASE_URL")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        _unavailable("needs Redis: set REDIS_URL")
    if request.node.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        _unavailable(f"needs Debian's chromium at {CHROMIUM}")


@pytest.fixture
def walmart_account(db):
    return ChannelAccountFactory(title="Walmart US")


@pytest.fixture
def amazon_account(db):
    return AmazonAccountFactory(title="Amazon US")


def _user_with_perms(django_user_model, username: str, codenames: list[str]):
    user = django_user_model.objects.create_user(username=username, password="pw-for-tests-only", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def operator(db, django_user_model):
    return _user_with_perms(django_user_model, "operator", ["view_order", "operate_order", "view_orderlog"])


@pytest.fixture
def viewer(db, django_user_model):
    return _user_with_perms(django_user_model, "viewer", ["view_order"])


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client
