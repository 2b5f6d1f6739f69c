"""Shared start-up for benches that run the product in several processes (sandbox, web, workers):
no Django here, so a bench can choose its database before it sets Django up."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_process_database(name: str, env: dict, work) -> tuple[str, object]:
    """A database for a bench that runs the product in several processes: bench_<db>_<name> on
    PostgreSQL (DATABASE_URL) or an SQLite file in `work`, migrated. Returns its URL and its dropper."""
    import subprocess
    from urllib.parse import urlparse, urlunparse

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        url = f"sqlite:///{work / 'db.sqlite3'}"
        drop = lambda: None  # noqa: E731 - the work folder goes with it
    else:
        import psycopg

        bench_db = f"bench_{urlparse(database_url).path.lstrip('/')}_{name}"
        admin_url = urlunparse(urlparse(database_url)._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_db}"')
            conn.execute(f'CREATE DATABASE "{bench_db}"')
        url = urlunparse(urlparse(database_url)._replace(path=f"/{bench_db}"))

        def drop() -> None:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT,
                   env={**env, "DATABASE_URL": url}, check=True)
    return url, drop


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_up(url: str) -> None:
    import time

    import requests

    for _ in range(300):
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start")
