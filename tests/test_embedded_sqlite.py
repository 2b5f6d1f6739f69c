"""The embedded default: web, worker and beat share one SQLite file. WAL and IMMEDIATE transactions
mean concurrent writers queue instead of failing with "database is locked"."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRITER = """
from django.db import transaction
from orders.models import NumberSequence
from orders.numbers import STORE_ORDER, allocate_number
numbers = []
for _ in range(40):
    with transaction.atomic():
        NumberSequence.objects.count()  # read first, then write: what fails under SQLite's default mode
        numbers.append(allocate_number(sequence=STORE_ORDER))
print(",".join(numbers))
"""


def run(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_concurrent_processes_write_one_sqlite_file_without_locking_errors(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    migrate = run(["migrate", "--no-input", "-v", "0"], env)
    assert migrate.wait(timeout=120) == 0, migrate.stderr.read()

    mode = run(["shell", "-c", "from django.db import connection; c = connection.cursor(); "
                "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"], env)
    assert mode.communicate(timeout=60)[0].strip().splitlines()[-1] == "wal"

    writers = [run(["shell", "-c", WRITER], env) for _ in range(3)]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0], [err for _, err in outputs]
    numbers = [n for out, _ in outputs for n in out.strip().splitlines()[-1].split(",")]
    assert len(numbers) == len(set(numbers)) == 120  # every transaction got its own number
