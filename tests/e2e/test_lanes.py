"""An operator's shipment overtakes 3,000 queued bulk acknowledgements (issue 14), with real worker
processes, on Redis + PostgreSQL and in the embedded setup (SQLite + the filesystem broker).

bench/lanes.py does the work in its own throwaway database and worker; it prints, last, how many
acknowledgements were still waiting when the slowest-overtaking shipment was confirmed. Without the
interactive lane the shipment waits behind all of them: 0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BULK = 3000

pytestmark = [pytest.mark.celery_worker]


def overtaken(broker: str, env: dict) -> int:
    finished = subprocess.run([sys.executable, "bench/lanes.py", "--broker", broker, "--bulk", str(BULK),
                               "--samples", "3"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-3000:]
    last = finished.stdout.strip().splitlines()[-1]
    assert last.startswith("overtaken: "), finished.stdout[-2000:]
    return int(last.removeprefix("overtaken: "))


@pytest.mark.redis
@pytest.mark.postgres
def test_a_shipment_overtakes_thousands_of_bulk_acknowledgements_on_redis():
    still_waiting = overtaken("redis", dict(os.environ))
    assert still_waiting > BULK // 2, f"the shipment was confirmed with only {still_waiting} acknowledgements left"


def test_a_shipment_overtakes_thousands_of_bulk_acknowledgements_embedded():
    still_waiting = overtaken("embedded", dict(os.environ))
    assert still_waiting > BULK // 2, f"the shipment was confirmed with only {still_waiting} acknowledgements left"
