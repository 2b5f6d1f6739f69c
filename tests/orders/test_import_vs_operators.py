"""The import and the operators never fight (issue 8 §4, SPEC §9 "imports and operators never
deadlock and never overwrite each other").

A re-import that rewrites all 200 orders (the buyer asked to cancel every line on Walmart) races an
operator who creates store orders, ships, cancels and writes local-only credit memos on those same
orders — once going through them in ascending order, once descending. Neither may deadlock or fail,
every action must reach the channel, and the import must not write back a reservation or a local
refund it read before the operator changed it (orders.locks: the import locks the page's orders
before it reads them).
"""

import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import Sum

from creditmemos.rules import MemoInput
from creditmemos.services import credit_memo_create
from orders.models import ChannelAction, Order, OrderItem, Product
from orders.services.cancel import order_cancel
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from orders.services.store_orders import order_create_store_order
from tests.factories import ProductFactory
from tests.helpers import drain_actions, ups_tracking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ORDERS = 200
SKUS = [f"RACE-{n}" for n in range(6)]


def run_both(*works) -> list:
    """Run each callable in its own thread (and database connection) at the same moment."""
    barrier = threading.Barrier(len(works))
    outcomes: list = [None] * len(works)

    def run(index: int, work) -> None:
        try:
            barrier.wait()
            outcomes[index] = work()
        except Exception as raised:  # the test asserts on it
            outcomes[index] = raised
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, work)) for index, work in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    close_old_connections()
    return outcomes


@pytest.mark.parametrize("operator_order", ["ascending", "descending"])
def test_r_rel_import_racing_an_operator_on_the_same_orders_loses_nothing(sandbox, wm_account, operator_order):
    wm_account.create_store_order = wm_account.auto_invoice = wm_account.refund_on_credit_memo = False
    wm_account.save()
    for sku in SKUS:
        ProductFactory(sku=sku, stock_qty=10_000)
    pos = sandbox.walmart.create_orders(count=ORDERS, lines=2, qty=2, skus=SKUS)
    for po in pos[3::4]:
        sandbox.walmart.channel_ship(po)  # so their memo refunds shipped units, locally
    account_import_orders(account_id=wm_account.pk)
    orders = list(Order.objects.filter(account=wm_account).order_by("pk"))
    assert [order.channel_order_id for order in orders] == pos
    refunded_by_memo = orders[3::4]
    for po in pos:  # every order changes on Walmart: the re-import rewrites all of them
        sandbox.walmart.request_cancellation(po)

    work = orders if operator_order == "ascending" else orders[::-1]

    def operate() -> Counter:
        done = Counter()
        for n, order in enumerate(work):
            kind = orders.index(order) % 4
            if kind == 0:
                order_create_store_order(order_id=order.pk)
            elif kind == 1:
                # the re-import brings the buyers' cancel requests in meanwhile: the operator ships anyway
                order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(n)),
                           despite_cancel_request=True)
            elif kind == 2:
                order_cancel(order_id=order.pk, reason="out_of_stock")
            else:
                items = order.items.order_by("pk")
                credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={items[0].pk: 1}))
            done[kind] += 1
        return done

    def reimport():
        return account_import_orders(account_id=wm_account.pk)

    operator_outcome, import_outcome = run_both(operate, reimport)

    assert operator_outcome == Counter({0: 50, 1: 50, 2: 50, 3: 50}), operator_outcome
    assert not isinstance(import_outcome, Exception), import_outcome
    assert import_outcome.updated + import_outcome.unchanged == ORDERS
    # The re-import saw every buyer request, whichever side took an order first.
    assert OrderItem.objects.filter(order__account=wm_account, buyer_cancel_requested=False).count() == 0
    drain_actions()
    assert not ChannelAction.objects.exclude(state=ChannelAction.State.SUCCEEDED).exists()

    # No lost reservation: every product holds exactly what its items hold, and each store order
    # holds its open units.
    for product in Product.objects.filter(sku__in=SKUS):
        held = OrderItem.objects.filter(product=product).aggregate(total=Sum("qty_reserved"))["total"] or 0
        assert product.reserved_qty == held, product.sku
    for order in orders[0::4]:
        for item in OrderItem.objects.filter(order=order):
            assert item.qty_reserved == item.qty_ordered - item.qty_shipped - item.qty_canceled > 0

    # No lost local refund: what each memo refunded is still on its line and on its order.
    for order in refunded_by_memo:
        order.refresh_from_db()
        memo = order.credit_memos.get()
        assert memo.grand_total > Decimal("0")
        assert order.refunded_total == memo.grand_total
        line_refunds = OrderItem.objects.filter(order=order).aggregate(total=Sum("refunded_amount"))["total"]
        assert line_refunds == memo.grand_total
    assert Order.objects.filter(account=wm_account, store_order_number__isnull=False).count() == ORDERS // 4


def _wait_for_a_lock_wait(timeout: float = 10.0) -> bool:
    """True once some session of this database waits for a row lock (the import, on the operator's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                           "WHERE NOT l.granted AND a.datname = current_database()")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("change", ["store order", "local refund"])
def test_r_rel_the_import_never_writes_back_what_an_operator_changed_while_it_ran(sandbox, wm_account, change):
    """The operator's transaction is open (its change made, not committed) when the import reads the
    order: the import must wait for it and read it afresh, not write back what it read before."""
    wm_account.create_store_order = wm_account.auto_invoice = wm_account.refund_on_credit_memo = False
    wm_account.save()
    ProductFactory(sku="HELD-1", stock_qty=100)
    [po] = sandbox.walmart.create_orders(count=1, qty=2, skus=["HELD-1"])
    if change == "local refund":
        sandbox.walmart.channel_ship(po)
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    item = order.items.get()
    sandbox.walmart.request_cancellation(po)  # the re-import rewrites the item
    held, release = threading.Event(), threading.Event()

    def operate():
        with transaction.atomic():
            if change == "store order":
                order_create_store_order(order_id=order.pk)
            else:
                credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}))
            held.set()
            release.wait(timeout=30)

    def reimport():
        held.wait(timeout=30)
        return account_import_orders(account_id=wm_account.pk)

    threads = [threading.Thread(target=lambda work=work: (work(), connection.close())) for work in (operate, reimport)]
    for thread in threads:
        thread.start()
    held.wait(timeout=30)
    assert _wait_for_a_lock_wait(), "the import never waited for the operator's open transaction"
    release.set()
    for thread in threads:
        thread.join(timeout=60)

    item.refresh_from_db()
    assert item.buyer_cancel_requested  # the import did its work, after the operator's
    if change == "store order":
        assert item.qty_reserved == 2 and Product.objects.get(sku="HELD-1").reserved_qty == 2
    else:
        memo = order.credit_memos.get()
        order.refresh_from_db()
        assert item.refunded_amount == memo.grand_total == order.refunded_total > 0
