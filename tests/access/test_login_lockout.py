"""Login throttling and lockout (issue 11 §3) with django-axes: per username and per IP address
(the client's, behind reverse proxies too), visible to an administrator in the admin, lifted by
`manage.py axes_reset`; and the admin session's timeout."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple 11"
LOGIN = "/admin/login/"
ROOT = Path(__file__).resolve().parents[2]


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


PROXY = "10.0.0.2"  # the reverse proxy: REMOTE_ADDR of every request that comes through it
CLIENT_IP_SETTINGS = ("AXES_IPWARE_META_PRECEDENCE_ORDER", "AXES_IPWARE_PROXY_COUNT", "AXES_IPWARE_PROXY_ORDER")


def _settings_made_from(names: tuple[str, ...], **environment: str) -> dict:
    """These settings as config/settings.py makes them from this environment (in a fresh process)."""
    script = ("import json, django; from django.conf import settings; "
              f"print(json.dumps({{name: getattr(settings, name, None) for name in {names!r}}}))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **environment}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def behind_one_proxy(settings):
    for name, value in _settings_made_from(CLIENT_IP_SETTINGS, TRUSTED_PROXY_COUNT="1").items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)


def _via_proxy(client, username: str, password: str, forwarded_for: str):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_without_proxies_the_address_is_remote_addr_and_a_forwarded_header_is_ignored(client, operator_user):
    assert settings.TRUSTED_PROXY_COUNT == 0 and settings.AXES_IPWARE_META_PRECEDENCE_ORDER == ("REMOTE_ADDR",)
    for n in range(settings.AXES_FAILURE_LIMIT):  # a different made-up address in each attempt
        client.post(LOGIN, {"username": f"guess{n}", "password": "wrong"}, REMOTE_ADDR="10.4.4.4",
                    HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.4.4.4"}
    assert _login(client, "ops", PASSWORD, ip="10.4.4.4").status_code == 429


def test_behind_a_proxy_one_client_is_locked_out_and_the_others_still_get_in(client, operator_user,
                                                                           behind_one_proxy):
    """With REMOTE_ADDR (the proxy's) five failures of one client would lock everybody out."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        _via_proxy(client, f"guess{n}", "wrong", "203.0.113.5")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}
    assert _via_proxy(client, "ops", PASSWORD, "203.0.113.5").status_code == 429
    assert _via_proxy(client, "ops", PASSWORD, "198.51.100.7").status_code == 302  # another client


def test_behind_a_proxy_addresses_a_client_writes_into_the_header_itself_give_it_no_fresh_start(
        client, operator_user, behind_one_proxy):
    """The proxy appends the real address; whatever the client put before it is not believed."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        _via_proxy(client, f"guess{n}", "wrong", f"192.0.2.{n}, 203.0.113.5")
    assert _via_proxy(client, "ops", PASSWORD, "192.0.2.99, 203.0.113.5").status_code == 429
    assert _via_proxy(client, "ops", PASSWORD, "198.51.100.7").status_code == 302


def test_more_proxies_are_counted_from_the_right():
    assert _settings_made_from(CLIENT_IP_SETTINGS, TRUSTED_PROXY_COUNT="2") == {
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
        "AXES_IPWARE_PROXY_COUNT": 1, "AXES_IPWARE_PROXY_ORDER": "left-most"}


def test_the_session_timeout_setting_comes_from_the_environment():
    assert _settings_made_from(("SESSION_COOKIE_AGE",), ADMIN_SESSION_TIMEOUT_MINUTES="7") == {"SESSION_COOKIE_AGE": 420}


def test_an_admin_session_ends_once_the_timeout_has_passed(client, operator_user, monkeypatch):
    """ADMIN_SESSION_TIMEOUT_MINUTES after login the next page asks for the login again."""
    from django.utils import timezone

    assert _login(client, "ops", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200
    logged_in_at, timeout = timezone.now(), dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)

    monkeypatch.setattr(timezone, "now", lambda: logged_in_at + timeout - dt.timedelta(minutes=1))
    assert client.get("/admin/").status_code == 200  # a minute before: still in
    monkeypatch.setattr(timezone, "now", lambda: logged_in_at + timeout + dt.timedelta(seconds=1))
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
