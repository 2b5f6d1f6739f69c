"""Issue 9 §1: each path that refunded or canceled twice, or lost money, with the sandbox and a real
fault; each test shows exactly one channel mutation, the right amount and the memo Done (R-REL-2,
R-SYNC-3). None needs PostgreSQL's locks: CI runs them on PostgreSQL, and `make mutation` on SQLite."""

import importlib
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from channels.ratelimit import READ_ATTEMPTS
from creditmemos.models import CreditMemo
from creditmemos.rules import MemoInput
from creditmemos.services import credit_memo_create, credit_memo_defaults
from orders import outbox
from orders.models import ChannelAction, Order
from orders.services.importing import account_import_orders
from orders.services.shipments import order_ship
from tests.creditmemos.test_exactly_once import shipped_walmart_order
from tests.helpers import drain_actions

pytestmark = pytest.mark.django_db


def run_attempt(action: ChannelAction) -> outbox.Outcome:
    """One attempt of the action, as a worker would make it once its retry is due."""
    action.refresh_from_db()
    time.sleep(max(0.0, (action.next_attempt_at - timezone.now()).total_seconds()))
    outcome = outbox.process_action(action_id=action.pk)
    action.refresh_from_db()
    return outcome


def test_a_throttled_read_back_keeps_the_action_verify_first(sandbox, wm_account, fast_retries, settings):
    """The refund times out (Walmart applied it); the read-back that must verify it is answered 429
    on every try of the attempt; the next attempt must read back again, never send blind."""
    settings.CHANNEL_HTTP_READ_TIMEOUT = 0.5
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=2)
    memo = credit_memo_create(order_id=order.pk, memo=credit_memo_defaults(order_id=order.pk))
    action = memo.channel_actions.get()
    sandbox.faults.add(kind="timeout", path="/refund$", method="POST", delay=1.0)

    assert run_attempt(action).state == ChannelAction.State.PENDING
    assert action.needs_verification and len(channel.lines[0].refunds) == 1  # ambiguous, and it landed
    sandbox.faults.add(kind="429", path=rf"^/v3/orders/{order.channel_order_id}$", method="GET",
                       count=READ_ATTEMPTS, retry_after_ms=10)
    reads_before = len(sandbox.requests.all(method="GET", path=rf"^/v3/orders/{order.channel_order_id}$"))

    throttled = run_attempt(action)
    assert throttled.state == ChannelAction.State.PENDING and "429" in action.last_error
    assert not sandbox.faults.pending()  # the read-back itself was throttled, every try
    reads = sandbox.requests.all(method="GET", path=rf"^/v3/orders/{order.channel_order_id}$")[reads_before:]
    assert [read.status for read in reads] == [429] * READ_ATTEMPTS
    assert action.needs_verification  # a read-back has not answered yet
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    assert len(channel.lines[0].refunds) == 1
    action.refresh_from_db()
    assert action.state == ChannelAction.State.SUCCEEDED
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE
    assert -channel.lines[0].refunded == order.items.get().refunded_amount == memo.grand_total


def _set_channel_memos(account, on: bool) -> None:
    account.refund_on_credit_memo = on
    account.save(update_fields=["refund_on_credit_memo"])


def test_verification_of_a_refund_ignores_a_local_only_memo(sandbox, wm_account, fast_retries):
    """A local-only memo (option off) then a channel memo whose connection drops after Walmart
    applied it: the read-back compares with what was sent, finds it landed, and sends nothing more."""
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=2, price="10.00")
    item = order.items.get()
    _set_channel_memos(wm_account, False)
    local = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}))
    assert local.state == CreditMemo.State.LOCAL
    _set_channel_memos(wm_account, True)
    sandbox.faults.add(kind="drop", path="/refund$", method="POST", when="after")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1}))
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    assert len(channel.lines[0].refunds) == 1
    memo.refresh_from_db()
    assert -channel.lines[0].refunded == memo.grand_total == Decimal("10.80")
    assert memo.channel_actions.get().state == ChannelAction.State.SUCCEEDED
    assert memo.state == CreditMemo.State.DONE
    assert order.logs.filter(message__contains="found already applied").exists()


def test_verification_of_a_cancel_ignores_a_local_only_memo(sandbox, wm_account, fast_retries):
    """The same for a cancel: 2 units canceled locally only, then 2 on Walmart with a dropped
    connection: Walmart ends with 2 canceled, not 4."""
    [po] = sandbox.walmart.create_orders(count=1, qty=4, acknowledged=True)
    account_import_orders(account_id=wm_account.pk)
    order = Order.objects.get(channel_order_id=po)
    item = order.items.get()
    _set_channel_memos(wm_account, False)
    credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 2}))
    _set_channel_memos(wm_account, True)
    sandbox.requests.clear()
    sandbox.faults.add(kind="drop", path="/cancel$", method="POST", when="after")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 2}))
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path="/cancel$")) == 1
    assert sandbox.walmart.orders[po].lines[0].cancelled == 2
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE


@pytest.mark.parametrize("dropped", [r"^/v3/returns/.*/refund$", r"^/v3/orders/.*/refund$"])
def test_a_refund_through_a_return_carries_shipping_and_adjustment_once(sandbox, wm_account, fast_retries, dropped):
    """One unit of a returned pair, with 1.00 shipping and a 1.50 adjustment: the return carries the
    unit's price and tax, the order refund the shipping and the adjustment, each once even when a
    connection drops after Walmart applied it; the memo's total is what Walmart shows."""
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=2, price="10.00")
    return_id = sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=wm_account.pk)
    item = order.items.get()
    sandbox.faults.add(kind="drop", path=dropped, method="POST", when="after")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(
        quantities={item.pk: 1}, shipping_refund=Decimal("1.00"), adjustment_refund=Decimal("1.50")))
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path=rf"^/v3/returns/{return_id}/refund$")) == 1
    assert len(sandbox.requests.all(method="POST", path=r"^/v3/orders/.*/refund$")) == 1
    assert sandbox.walmart.returns[return_id].lines[0]["refunded"] == 1
    memo.refresh_from_db()
    assert memo.grand_total == Decimal("13.30")  # 10.00 + 0.80 tax + 1.00 shipping + 1.50 adjustment
    assert -channel.lines[0].refunded == memo.grand_total
    item.refresh_from_db()
    assert item.refunded_amount == memo.grand_total
    assert set(memo.channel_actions.values_list("state", flat=True)) == {ChannelAction.State.SUCCEEDED}
    assert memo.state == CreditMemo.State.DONE


def test_a_walmart_refund_found_already_applied_is_named_by_its_refund_ids_as_an_answer_names_it(
        sandbox, wm_account, fast_retries):
    """Two lines refunded; the connection drops after Walmart applied the refund, so no answer names it.
    The read-back finds it applied: the action and the memo are named by the refundIds Walmart gave the
    lines, as the answer would have named them (issue 10: they were named by the purchase order)."""
    order, channel = shipped_walmart_order(sandbox, wm_account, lines=2, price="10.00")
    sandbox.faults.add(kind="drop", path="/refund$", method="POST", when="after")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={item.pk: 1 for item in order.items.all()}))
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    refund_ids = [line.refunds[0]["refundId"] for line in channel.lines]
    assert all(len(line.refunds) == 1 for line in channel.lines) and len(set(refund_ids)) == 2
    action = memo.channel_actions.get()
    assert action.state == ChannelAction.State.SUCCEEDED and action.channel_reference == ", ".join(refund_ids)
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.channel_reference == ", ".join(refund_ids)
    assert order.logs.filter(message__contains="found already applied").exists()


def test_a_walmart_return_refund_found_already_applied_is_named_by_the_return(sandbox, wm_account, fast_retries):
    """The same through the buyer's return: named by the return order, as the Returns API's answer is."""
    order, _channel = shipped_walmart_order(sandbox, wm_account, qty=2, price="10.00")
    return_id = sandbox.walmart.create_return(order.channel_order_id)
    account_import_orders(account_id=wm_account.pk)
    sandbox.faults.add(kind="drop", path=rf"^/v3/returns/{return_id}/refund$", method="POST", when="after")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={order.items.get().pk: 1}))
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path=rf"^/v3/returns/{return_id}/refund$")) == 1
    assert sandbox.walmart.returns[return_id].lines[0]["refunded"] == 1
    action = memo.channel_actions.get()
    assert (action.state, action.channel_reference) == (ChannelAction.State.SUCCEEDED, return_id)
    memo.refresh_from_db()
    assert (memo.state, memo.channel_reference) == (CreditMemo.State.DONE, return_id)
    assert order.logs.filter(message__contains="found already applied").exists()


def test_a_shipping_only_walmart_memo_is_refunded_once_despite_a_dropped_connection(sandbox, wm_account,
                                                                                    fast_retries):
    """Only shipping (1.50 of the order's 2.00) on a Shipped order; the connection drops after
    Walmart applied the refund: the read-back finds it, so Walmart refunds 1.50 once."""
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=2, price="10.00")
    sandbox.faults.add(kind="drop", path="/refund$", method="POST", when="after")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("1.50")))
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    assert len(channel.lines[0].refunds) == 1 and -channel.lines[0].refunded == Decimal("1.50")
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.grand_total == memo.shipping_refund == Decimal("1.50")
    order.refresh_from_db()
    assert order.refunded_total == order.items.get().refunded_amount == Decimal("1.50")
    assert order.logs.filter(message__contains="found already applied").exists()


def test_a_shipping_only_amazon_memo_is_adjusted_once_despite_a_dropped_connection(sandbox, az_account,
                                                                                   fast_retries):
    """The same on Amazon: the feed is submitted again after the drop, with the same adjustment id,
    and Amazon applies the 1.00 shipping adjustment once."""
    from tests.amazon.test_amazon import UPS

    [order_id] = sandbox.amazon.create_orders(count=1, items=1, qty=2, price="10.00")
    account_import_orders(account_id=az_account.pk)
    order = az_account.orders.get(channel_order_id=order_id)
    order_ship(order_id=order.pk, tracking=UPS)
    drain_actions()
    sandbox.faults.add(kind="drop", path=r"^/feeds/2021-06-30/feeds$", method="POST", when="after")

    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={}, shipping_refund=Decimal("1.00")))
    drain_actions()

    assert len(sandbox.requests.all(method="POST", path=r"^/feeds/2021-06-30/feeds$")) == 2  # sent again
    assert sandbox.amazon.orders[order_id].items[0].refunded == Decimal("1.00")  # applied once
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE and memo.grand_total == Decimal("1.00")
    assert order.items.get().refunded_amount == Decimal("1.00")


def test_an_ambiguous_refund_queued_before_the_upgrade_is_still_read_back(sandbox, wm_account, fast_retries):
    """A refund queued by the previous version (expected figures, no channel figures) whose
    connection dropped after Walmart applied it: the data migration lets it be verified, not resent."""
    from django.apps import apps

    migration = importlib.import_module("orders.migrations.0010_channel_before_for_queued_actions")
    order, channel = shipped_walmart_order(sandbox, wm_account, qty=2, price="10.00")
    sandbox.faults.add(kind="drop", path="/refund$", method="POST", when="after")
    memo = credit_memo_create(order_id=order.pk, memo=MemoInput(quantities={order.items.get().pk: 1}))
    action = memo.channel_actions.get()
    outbox.process_action(action_id=action.pk)  # the first send (new code) lands; the answer is lost
    action.refresh_from_db()
    assert action.needs_verification and len(channel.lines[0].refunds) == 1
    legacy = {**action.payload, "lines": [{**line, "expect_refunded": "10.80"} for line in action.payload["lines"]]}
    del legacy["channel_before"]
    ChannelAction.objects.filter(pk=action.pk).update(payload=legacy)

    migration.add_channel_before(apps, None)
    drain_actions()

    assert ChannelAction.objects.get(pk=action.pk).payload["channel_before"] == {"1": "0.00"}
    assert len(sandbox.requests.all(method="POST", path="/refund$")) == 1
    assert len(channel.lines[0].refunds) == 1
    memo.refresh_from_db()
    assert memo.state == CreditMemo.State.DONE
