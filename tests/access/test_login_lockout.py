"""Login throttling and lockout (issue 11 §3) with django-axes: per username and per IP address,
visible to an administrator in the admin, lifted by `manage.py axes_reset`."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple 11"
LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def _quick_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only


@pytest.fixture
def operator_user(django_user_model):
    return django_user_model.objects.create_user("ops", password=PASSWORD, is_staff=True)


def _login(client, username: str, password: str, ip: str = "10.1.1.1"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def _fail(client, username: str, times: int, ip: str = "10.1.1.1") -> None:
    """Wrong passwords: the form again with its error, and 429 from the one that reaches the limit."""
    for _ in range(times):
        assert _login(client, username, "wrong", ip).status_code in (200, 429)


def test_the_right_password_is_refused_once_a_username_is_locked_out(client, operator_user):
    _fail(client, "ops", settings.AXES_FAILURE_LIMIT)
    response = _login(client, "ops", PASSWORD, ip="10.9.9.9")  # from another address too
    assert response.status_code == 429
    assert "Login locked" in response.content.decode() and "even with the right password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_one_address_trying_many_usernames_is_locked_out(client, operator_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail(client, f"guess{n}", 1, ip="10.2.2.2")
    assert _login(client, "ops", PASSWORD, ip="10.2.2.2").status_code == 429
    assert _login(client, "ops", PASSWORD, ip="10.3.3.3").status_code == 302  # others still get in


def test_failures_below_the_limit_still_let_the_right_password_in(client, operator_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "ops", "wrong").status_code == 200
    assert _login(client, "ops", PASSWORD).status_code == 302


def test_the_lockout_is_visible_to_an_administrator_and_lifted_by_the_command(client, admin_client, operator_user):
    _fail(client, "ops", settings.AXES_FAILURE_LIMIT)
    attempts = admin_client.get(reverse("admin:axes_accessattempt_changelist") + "?locked_out=yes")
    assert attempts.status_code == 200 and "ops" in attempts.content.decode()
    assert AccessAttempt.objects.filter(username="ops").exists()

    call_command("axes_reset")

    assert not AccessAttempt.objects.exists()
    assert _login(client, "ops", PASSWORD).status_code == 302


def test_lockout_settings():
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.AXES_COOLOFF_TIME.total_seconds() == 3600
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
