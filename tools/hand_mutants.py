"""The hand-made mutants of issue 9 §2, each with the tests that must kill it (`make hand-mutants`).

Works on a copy of the tree (the working tree is never touched): each mutant replaces one exact
snippet of the code in the copy, runs its tests there, and puts the snippet back. A mutant whose
tests pass is reported as SURVIVED, one whose tests were all skipped (PostgreSQL or Redis missing) as
SKIPPED, and the command exits 1; a snippet no longer exactly once in the code (the code moved on)
is reported as STALE before any test runs, and the command exits 2: update the table."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    original: str
    mutated: str
    tests: tuple[str, ...]


CAPS = "tests/creditmemos/test_money_caps.py"
RATE = "tests/channels/test_rate_limits.py"
GUARDS = "tests/orders/test_sync_guards.py"
PROPS = "tests/creditmemos/test_money_properties.py"
PATHS = "tests/creditmemos/test_money_paths.py"

MUTANTS = [
    Mutant("order-level cap off", "creditmemos/rules.py",
           "if order.refunded_total + refund_money > order.grand_total:", "if False:",
           (f"{CAPS}::test_r_cm_9_order_cap_never_refunds_more_than_was_paid",)),
    Mutant("per-line cap off", "creditmemos/rules.py",
           "headroom = {id(line): line_refundable(line.item) - line.amount - line.tax for line in refund_lines}",
           "headroom = {id(line): Decimal('1e9') for line in refund_lines}",
           (f"{CAPS}::test_r_cm_9_line_cap_counts_money_already_refunded_on_the_line",)),
    Mutant("leftover-shipping check off", "creditmemos/rules.py",
           "    if left > 0:\n        most = sum(", "    if False:\n        most = sum(",
           (f"{CAPS}::test_r_cm_6_shipping_beyond_what_the_refunded_lines_carry_is_refused",)),
    Mutant("units left to credit ignore canceled units", "creditmemos/rules.py",
           "return item.qty_ordered - item.qty_canceled - item.qty_refunded",
           "return item.qty_ordered - item.qty_refunded",
           (f"{CAPS}::test_r_cm_9_units_left_to_credit_exclude_canceled_units",)),
    Mutant("shipping cap ignores earlier memos", "creditmemos/rules.py",
           "credited = shipping_refunded + sum(", "credited = ZERO + sum(",
           (f"{CAPS}::test_r_cm_6_shipping_cap_counts_shipping_refunded_by_earlier_memos",)),
    Mutant("per-unit tax rounded on its own", "creditmemos/rules.py",
           "return upto(already + qty) - upto(already)", "return (item.tax * qty / item.qty_ordered).quantize(CENT)",
           (f"{CAPS}::test_r_cm_9_partial_memos_add_up_to_the_full_refund_to_the_cent",
            f"{PROPS}::test_partial_memos_of_a_line_add_up_to_its_full_refund")),
    Mutant("memo cancel sent as buyer-canceled without a request", "creditmemos/rules.py",
           "buyer = item.buyer_cancel_requested and order.status == OrderStatus.UNSHIPPED",
           "buyer = order.status == OrderStatus.UNSHIPPED",
           (f"{CAPS}::test_r_cm_4_cancel_without_buyer_request_is_not_sent_as_buyer_canceled",)),
    Mutant("Walmart X-Next-Replenishment-Time ignored", "channels/ratelimit.py",
           'value = response.headers.get("X-Next-Replenishment-Time", "").strip()', 'value = ""',
           (f"{RATE}::test_r_rel_walmart_throttled_action_waits_for_replenishment",)),
    Mutant("Amazon x-amzn-RateLimit-Limit ignored", "channels/ratelimit.py",
           'rate = float(response.headers.get("x-amzn-RateLimit-Limit", ""))', 'rate = float("")',
           (f"{RATE}::test_r_rel_amazon_throttled_action_waits_one_request_at_the_given_rate",)),
    Mutant("outbox backoff ignores the channel's wait", "orders/outbox.py",
           "delay = max(delay, retry_after)", "delay = delay",
           (f"{RATE}::test_backoff_is_never_sooner_than_the_channel_asked",
            f"{RATE}::test_r_rel_walmart_throttled_action_waits_for_replenishment")),
    Mutant("verification forgotten after a throttled read-back", "orders/outbox.py",
           "needs_verification=action.needs_verification or failure.ambiguous,",
           "needs_verification=failure.ambiguous,",
           (f"{PATHS}::test_a_throttled_read_back_keeps_the_action_verify_first",)),
    Mutant("re-import lowers a refunded amount", "orders/services/importing.py",
           "item.refunded_amount = max(item.refunded_amount, line.refunded_amount.quantize(CENT))",
           "item.refunded_amount = line.refunded_amount.quantize(CENT)",
           (f"{GUARDS}::test_reimport_never_lowers_a_refunded_amount",)),
    Mutant("re-import applies older channel data", "orders/services/importing.py",
           "if order.channel_updated_at and channel_order.updated_at < order.channel_updated_at:", "if False:",
           (f"{GUARDS}::test_reimport_skips_channel_data_older_than_what_was_applied",)),
    Mutant("re-import drops its overlap window", "orders/services/importing.py",
           "modified_since = cursor - dt.timedelta(seconds=settings.IMPORT_OVERLAP_SECONDS)",
           "modified_since = cursor",
           (f"{GUARDS}::test_import_window_overlaps_the_previous_run",)),
    Mutant("Amazon adjustment id different on a resend (client)", "channels/amazon/client.py",
           "adjustment_key=refund.idempotency_key or channel_order_id",
           "adjustment_key=__import__('uuid').uuid4().hex[:24]",
           (f"{GUARDS}::test_amazon_refund_resent_carries_the_same_adjustment_ids",)),
    Mutant("Amazon adjustment id different on a resend (outbox)", "orders/outbox.py",
           "idempotency_key=action.idempotency_key.hex[:24],",
           "idempotency_key=f'{action.idempotency_key.hex[:20]}{action.attempts}',",
           (f"{GUARDS}::test_amazon_refund_resent_carries_the_same_adjustment_ids",)),
    Mutant("shipping no longer takes units out of stock", "orders/services/stock.py",
           'Product.objects.filter(pk=item.product_id).update(stock_qty=Greatest(F("stock_qty") - qty, Value(0)))',
           "pass",
           (f"{GUARDS}::test_r_ord_2_shipping_takes_units_out_of_stock_and_ends_their_reservation",)),
    Mutant("cancel no longer releases its reservation", "orders/services/cancel.py",
           "release_reservation(item=line.item, qty=line.qty)", "pass",
           (f"{GUARDS}::test_r_ord_2_cancel_releases_its_reservation",)),
    Mutant("memo cancel no longer releases its reservation", "creditmemos/services.py",
           "release_reservation(item=item, qty=line.qty)", "pass",
           (f"{GUARDS}::test_r_ord_2_memo_cancel_releases_the_reservation_of_its_units",)),
    Mutant("over-ship guard removed", "orders/services/shipments.py",
           "if wanted.get(item.pk, 0) > item.qty_open:", "if False:",
           (f"{GUARDS}::test_r_ship_over_shipping_is_refused_before_the_database_sees_it",
            "tests/orders/test_over_shipping_admin.py")),
    Mutant("buyer-canceled reason accepted without a buyer request", "orders/services/cancel.py",
           "if channel_reason == rules.buyer_cancel_reason and not_asked:",
           "if False:",
           (f"{GUARDS}::test_r_cm_4_walmart_buyer_canceled_needs_the_buyers_request",
            f"{GUARDS}::test_r_cm_4_amazon_buyer_canceled_needs_the_buyers_request",
            "tests/orders/test_cancel_lines.py::test_the_buyers_reason_only_when_the_buyer_asked_to_cancel_every_open_line")),
    Mutant("a cancel takes only part of the order (its first open line)", "orders/services/cancel.py",
           "open_units = [(item, item.qty_open) for item in items if item.qty_open > 0]",
           "open_units = [(item, item.qty_open) for item in items if item.qty_open > 0][:1]",
           ("tests/orders/test_cancel_lines.py::test_walmart_every_open_unit_of_the_order_is_canceled_and_a_shipped_unit_stays",
            "tests/orders/test_cancel_lines.py::test_amazon_every_item_of_the_order_is_canceled_with_the_chosen_reason",
            "tests/browser/test_cancel_browser.py")),
]


def stale(mutants: list[Mutant]) -> list[str]:
    """The mutants whose snippet is not exactly once in its file (the code moved on)."""
    problems = []
    for mutant in mutants:
        found = (ROOT / mutant.path).read_text().count(mutant.original) if (ROOT / mutant.path).exists() else 0
        if found != 1:
            problems.append(f"STALE     {mutant.name}: its snippet is in {mutant.path} {found} times, not once: "
                            "update the table in tools/hand_mutants.py")
    return problems


def run(mutant: Mutant, tree: Path) -> str:
    """killed, SURVIVED (its tests passed), SKIPPED (they did not run: a service is missing) or ERROR."""
    path = tree / mutant.path
    source = path.read_text()
    try:
        path.write_text(source.replace(mutant.original, mutant.mutated))
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-rs", "-p", "no:cacheprovider",
                                 *mutant.tests], cwd=tree, capture_output=True, text=True)
    finally:
        path.write_text(source)
    if result.returncode == 1:
        return "killed"
    if result.returncode == 0:
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        return "SKIPPED" if " passed" not in summary else "SURVIVED"
    return f"ERROR {result.returncode}"


def main(names: list[str]) -> int:
    chosen = [m for m in MUTANTS if not names or any(n.lower() in m.name.lower() for n in names)]
    problems = stale(chosen)
    if problems:  # before minutes of test runs: the table is wrong, not the tests
        print("\n".join(problems), file=sys.stderr)
        return 2
    bad = 0
    with tempfile.TemporaryDirectory(prefix="hand-mutants-") as copy:
        tree = Path(copy) / "tree"
        shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv", "mutants", "var", "__pycache__",
                                                                  "db.sqlite3*", "test-artifacts", ".hypothesis"))
        for mutant in chosen:
            outcome = run(mutant, tree)
            bad += outcome != "killed"
            print(f"{outcome:9} {mutant.name}  [{mutant.path}]  by "
                  f"{', '.join(t.split('::')[-1] for t in mutant.tests)}", flush=True)
    print(f"{len(chosen) - bad} of {len(chosen)} hand-made mutants killed")
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.exit(main(sys.argv[1:]))
