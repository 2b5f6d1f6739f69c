"""Shared start-up for bench scripts: Django on a throwaway test database (never your data)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("CHANNEL_EXTRA_HOSTS", "127.0.0.1,localhost")  # the sandbox

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def test_database(*, keepdb: bool = False):
    """Create bench_<name> (PostgreSQL) or an in-memory SQLite database, migrated; returns its dropper.
    With keepdb an existing bench_<name> is reused and only migrated."""
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite":
        connection.settings_dict["TEST"]["NAME"] = f"bench_{old_name}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keepdb, serialize=False)
    return lambda: connection.creation.destroy_test_db(old_name, verbosity=0)


def machine() -> str:
    import platform

    return f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, {connection.vendor}"
