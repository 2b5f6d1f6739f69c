"""Production settings (issue 11 §3): `manage.py check --deploy` stays clean, and the admin session
timeout is a setting. Run in a fresh process with a production environment (no DEBUG, no test env)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "SECRET_KEY": "prod-like-" + "k" * 60,
    "ALLOWED_HOSTS": "backoffice.example.com",
    "FIELD_ENCRYPTION_KEY": "bmV3LXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWZnaGk=",
    "LOG_LEVEL": "WARNING",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**PRODUCTION, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_admin_session_timeout_and_channel_hosts_come_from_settings():
    script = ("from django.conf import settings as s; "
              "print(s.SESSION_COOKIE_AGE, s.SESSION_EXPIRE_AT_BROWSER_CLOSE, s.CHANNEL_EXTRA_HOSTS)")
    result = _manage("shell", "-c", script, ADMIN_SESSION_TIMEOUT_MINUTES="30")
    assert result.stdout.split()[-3:] == ["1800", "True", "[]"], result.stdout + result.stderr
