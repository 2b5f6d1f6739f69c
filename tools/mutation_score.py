"""The score of `make mutation`, per mutated file, from mutmut's own records (mutants/*.meta):
detected (killed or timed out) / checked, and every mutant not detected, for `mutmut show NAME`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

DETECTED = {"killed", "timeout", "caught by type check"}
UNCHECKED = {"not checked", "skipped", "check was interrupted by user"}


def main(root: Path) -> int:
    detected_total = checked_total = 0
    for meta in sorted(root.rglob("*.py.meta")):
        results = json.loads(meta.read_text())["exit_code_by_key"]
        status = {name: status_by_exit_code[code] for name, code in results.items()}
        checked = {name: s for name, s in status.items() if s not in UNCHECKED}
        if not checked:
            continue
        detected = sum(s in DETECTED for s in checked.values())
        detected_total += detected
        checked_total += len(checked)
        counts = ", ".join(f"{n} {s}" for s, n in sorted(Counter(checked.values()).items()))
        print(f"{meta.relative_to(root).with_suffix('')}: score {100 * detected / len(checked):.1f}% "
              f"({detected} of {len(checked)} checked; {len(results)} mutants) — {counts}")
        for name, s in sorted(checked.items()):
            if s not in DETECTED:
                print(f"    {s}: {name}")
    if checked_total:
        print(f"total: score {100 * detected_total / checked_total:.1f}% ({detected_total} of {checked_total} checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("mutants")))
