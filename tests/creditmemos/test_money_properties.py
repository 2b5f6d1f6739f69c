"""Money properties under random sequences (hypothesis): ship, cancel, partial memos and re-imports
in any order never credit more units than were ordered nor more money than was paid, per line and
per order; partial refunds of a line add up to its full refund to the cent; and the sandbox's record
of every line equals ours.

Examples per test come from the hypothesis profile (tests/conftest.py): few in CI, many with
`make property`. A failure prints the seed and a @reproduce_failure blob to replay it (README)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, note, settings, strategies as st

from creditmemos.models import CreditMemo
from creditmemos.rules import CreditMemoRefused, MemoInput
from creditmemos.services import credit_memo_create
from orders.models import Order, OrderItem
from orders.services.cancel import order_cancel
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship
from tests.helpers import drain_actions, ups_tracking
from tests.money import Line, item_ids, order_with_lines

UPS = Tracking(carrier="UPS", tracking_number=ups_tracking(9))
WITH_DB = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
# Each sandbox example makes real HTTP round trips and runs the outbox: a quarter of the profile's examples.
SANDBOX_EXAMPLES = max(3, settings.default.max_examples // 4)

cents = st.integers(min_value=0, max_value=20_000).map(lambda c: f"{Decimal(c) / 100:.2f}")
prices = st.integers(min_value=1, max_value=20_000).map(lambda c: f"{Decimal(c) / 100:.2f}")


@st.composite
def lines(draw, *, max_lines: int = 3) -> list[Line]:
    return draw(st.lists(st.builds(Line, qty=st.integers(1, 5), price=prices, tax=cents,
                                   shipping=st.integers(0, 1_500).map(lambda c: f"{Decimal(c) / 100:.2f}")),
                         min_size=1, max_size=max_lines))


@st.composite
def partition(draw, total: int) -> list[int]:
    """`total` units split into a random sequence of positive parts."""
    parts, left = [], total
    while left:
        part = draw(st.integers(1, left))
        parts.append(part)
        left -= part
    return parts


def assert_within_what_was_paid(order: Order) -> None:
    order.refresh_from_db()
    items = list(order.items.all())
    for item in items:
        assert item.qty_refunded + item.qty_canceled <= item.qty_ordered, item
        assert item.qty_shipped + item.qty_canceled <= item.qty_ordered, item
        assert item.refunded_amount <= item.unit_price * item.qty_ordered + item.tax + item.shipping_charge, item
    assert order.refunded_total == sum((item.refunded_amount for item in items), Decimal("0"))
    assert order.refunded_total <= order.grand_total
    memos = CreditMemo.objects.filter(order=order)
    assert sum((memo.shipping_refund for memo in memos), Decimal("0")) <= order.shipping_total


# -- the sum of partial refunds of a line is its full refund, to the cent ---------------------------

@pytest.mark.django_db
@WITH_DB
@given(line=st.builds(Line, qty=st.integers(1, 7), price=prices, tax=cents, shipping=cents), data=st.data())
def test_partial_memos_of_a_line_add_up_to_its_full_refund(walmart_account, line, data):
    line = Line(qty=line.qty, price=line.price, tax=line.tax, shipping=line.shipping, shipped=line.qty)
    split = data.draw(partition(line.qty), label="units per memo")
    whole = order_with_lines(walmart_account, line)
    credit_memo_create(order_id=whole.pk, memo=MemoInput(quantities={item_ids(whole)[0]: line.qty}))
    pieces = order_with_lines(walmart_account, line)
    for qty in split:
        credit_memo_create(order_id=pieces.pk, memo=MemoInput(quantities={item_ids(pieces)[0]: qty}))

    whole_item, piece_item = OrderItem.objects.get(order=whole), OrderItem.objects.get(order=pieces)
    assert piece_item.refunded_amount == whole_item.refunded_amount
    assert piece_item.qty_refunded == whole_item.qty_refunded == line.qty
    memo_tax = CreditMemo.objects.filter(order=pieces).values_list("items__tax", flat=True)
    assert sum(memo_tax, Decimal("0")) == piece_item.tax
    assert_within_what_was_paid(pieces)


# -- random sequences on our side: every step keeps the money within what was paid ------------------

def ship_step(order: Order, index: int, qty: int) -> None:
    items = item_ids(order)
    order_ship(order_id=order.pk, tracking=UPS, quantities={items[index % len(items)]: qty})


def memo_step(order: Order, quantities: list[int], shipping: str) -> None:
    memo = MemoInput(quantities=dict(zip(item_ids(order), quantities)), shipping_refund=Decimal(shipping))
    credit_memo_create(order_id=order.pk, memo=memo)


def cancel_step(order: Order) -> None:
    order_cancel(order_id=order.pk, reason="out_of_stock")


steps = st.lists(st.one_of(
    st.tuples(st.just("ship"), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.just("memo"), st.lists(st.integers(0, 5), min_size=1, max_size=3),
              st.sampled_from(["0.00", "0.50", "1.00", "2.00", "5.00"])),
    st.tuples(st.just("cancel")),
), min_size=1, max_size=8)
STEPS = {"ship": ship_step, "memo": memo_step, "cancel": cancel_step}


@pytest.mark.django_db
@WITH_DB
@given(channel=st.sampled_from(["walmart", "amazon"]), order_lines=lines(), sequence=steps)
def test_random_ship_cancel_memo_sequences_never_credit_more_than_was_paid(walmart_account, amazon_account,
                                                                           channel, order_lines, sequence):
    account = walmart_account if channel == "walmart" else amazon_account
    order = order_with_lines(account, *order_lines)
    for kind, *args in sequence:
        try:
            STEPS[kind](order, *args)
            note(f"{kind}{tuple(args)}: done")
        except (OrderActionRefused, CreditMemoRefused) as refused:  # refusals are fine; half-done never
            note(f"{kind}{tuple(args)}: refused ({refused})")
        assert_within_what_was_paid(order)


# -- random sequences against the sandbox: its record equals ours -----------------------------------

def sandbox_record(sandbox, channel: str, channel_order_id: str) -> dict[str, tuple[int, int, Decimal]]:
    """The channel's own figures per line: units shipped, units canceled, money refunded."""
    if channel == "walmart":
        return {line.number: (line.shipped, line.cancelled, -line.refunded)
                for line in sandbox.walmart.orders[channel_order_id].lines}
    return {item.item_id: (item.shipped, item.canceled, item.refunded)
            for item in sandbox.amazon.orders[channel_order_id].items}


def assert_sandbox_agrees(order: Order, record: dict[str, tuple[int, int, Decimal]]) -> None:
    for item in order.items.all():
        [number] = item.channel_line_numbers or [item.channel_line_id]
        assert record[number] == (item.qty_shipped, item.qty_canceled, item.refunded_amount), item


sandbox_steps = st.lists(st.one_of(
    st.tuples(st.just("ship"), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("memo"), st.lists(st.integers(0, 3), min_size=1, max_size=2),
              st.sampled_from(["0.00", "1.00", "2.00"])),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("reimport")),
), min_size=1, max_size=5)


def create_channel_order(sandbox, channel: str, *, n_lines: int, qty: int, price: str) -> str:
    if channel == "walmart":
        [channel_order_id] = sandbox.walmart.create_orders(count=1, lines=n_lines, qty=qty, price=price)
    else:
        [channel_order_id] = sandbox.amazon.create_orders(count=1, items=n_lines, qty=qty, price=price)
    return channel_order_id


@pytest.mark.django_db
@settings(WITH_DB, max_examples=SANDBOX_EXAMPLES)
@example(channel="walmart", n_lines=1, qty=1, price="9.99", sequence=[("ship", 0, 1), ("memo", [1], "0.00")])
@example(channel="amazon", n_lines=1, qty=2, price="13.33",
         sequence=[("ship", 0, 2), ("memo", [1], "1.00"), ("reimport",), ("memo", [1], "0.00")])
@given(channel=st.sampled_from(["walmart", "amazon"]), n_lines=st.integers(1, 2), qty=st.integers(1, 3),
       price=st.sampled_from(["9.99", "10.00", "13.33", "24.95"]), sequence=sandbox_steps)
def test_random_sequences_against_the_sandbox_keep_its_record_equal_to_ours(sandbox, wm_account, az_account, channel,
                                                                           n_lines, qty, price, sequence):
    account = wm_account if channel == "walmart" else az_account
    channel_order_id = create_channel_order(sandbox, channel, n_lines=n_lines, qty=qty, price=price)
    account_import_orders(account_id=account.pk)
    order = Order.objects.get(channel_order_id=channel_order_id)
    steps_here = {**STEPS, "reimport": lambda order: account_import_orders(account_id=account.pk)}
    for kind, *args in sequence:
        try:
            steps_here[kind](order, *args)
            note(f"{kind}{tuple(args)}: done")
        except (OrderActionRefused, CreditMemoRefused) as refused:
            note(f"{kind}{tuple(args)}: refused ({refused})")
        drain_actions()
        assert_within_what_was_paid(order)
    account_import_orders(account_id=account.pk)
    assert_within_what_was_paid(order)
    assert_sandbox_agrees(order, sandbox_record(sandbox, channel, channel_order_id))
