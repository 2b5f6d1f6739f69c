"""The benchmarks in bench/ keep working as the schema grows: each runs here on a small data set (a
bench that writes rows in SQL broke silently once a column became required). Figures are not checked —
timings belong in BENCHMARKS.md, not in tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres]


@pytest.mark.parametrize("command", [
    ["bench/cockpit.py", "--orders", "2000", "--runs", "1"],
    ["bench/grid.py", "--orders", "2000", "--runs", "1"],
])
def test_the_bench_runs_on_a_small_data_set(command):
    finished = subprocess.run([sys.executable, *command], cwd=ROOT, env=dict(os.environ), capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-3000:]
    assert "median" in finished.stdout
