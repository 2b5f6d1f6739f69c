"""Real Celery workers for the end-to-end tests: Redis as the broker, the test's PostgreSQL database."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def start_celery_worker(**env: str) -> subprocess.Popen:
    """A prefork worker on both queues, in its own process group (so a test can SIGKILL all of it)."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail("the real-worker tests need CELERY_BROKER_URL (or REDIS_URL) pointing at Redis") if os.environ.get(
            "CI") else pytest.skip("needs Redis as the Celery broker")
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CHANNEL_PACING": "true" if settings.CHANNEL_PACING else "false",  # as the test's own clients (_limits_off)
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=2",
         "--queues=celery,long", "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def stop_celery_worker(process: subprocess.Popen, *, kill: bool = False) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def purge_queues() -> None:
    celery_app.control.purge()  # the default queue
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("long")


def end_other_sessions() -> None:
    """The workers' processes may still hold sessions on the test database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture
def worker():
    purge_queues()
    process = start_celery_worker()
    yield process
    stop_celery_worker(process)
    end_other_sessions()
