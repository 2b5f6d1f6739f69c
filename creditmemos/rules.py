"""The one place that decides what a credit memo does (SPEC §5: R-CM-1..9, R-CAN-4, R-ACC-3):
which orders allow one, which units are canceled and which refunded, with which reason, and how
much money. Pure: it reads the (locked) order and items and returns a plan or a refusal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from channels.capabilities import rules_for
from channels.models import Channel
from orders.models import Order, OrderItem, OrderReturnLine, OrderStatus

CENT = Decimal("0.01")
ZERO = Decimal("0")
NO_RETURNS: Mapping[int, Sequence[OrderReturnLine]] = MappingProxyType({})
NO_CREDITS: Mapping[int, LineCredits] = MappingProxyType({})
CANCEL = "cancel"
REFUND = "refund"

ALLOWED_STATUSES = {
    Channel.WALMART: {OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED},  # R-CM-1
    Channel.AMAZON: {OrderStatus.UNSHIPPED, OrderStatus.SHIPPED},  # R-CM-2
}
AMAZON_UNSHIPPED_REFUND_REASON = "NoInventory"  # R-CM-3
AMAZON_SHIPPED_REFUND_REASON = "CustomerReturn"  # R-CM-3


class CreditMemoRefused(Exception):
    """A memo the rules do not allow. The message is for the operator, in plain words; `rule`
    names the SPEC rule for code and tests (never shown). `ship_first` lists the units an Amazon
    Unshipped order must ship before a partial refund (item id → units)."""

    def __init__(self, rule: str, message: str, *, ship_first: dict[int, int] | None = None) -> None:
        self.rule = rule
        self.ship_first = ship_first or {}
        super().__init__(message)


@dataclass(frozen=True)
class MemoInput:
    quantities: dict[int, int]  # order item id → units to credit
    shipping_refund: Decimal = ZERO
    adjustment_refund: Decimal = ZERO
    adjustment_fee: Decimal = ZERO
    restock: bool = False
    refund_reason: str = ""
    comment: str = ""
    # order item id → CANCEL or REFUND: which units a line partly shipped credits first (the
    # operator's choice); lines not named follow `credits_first`.
    credit_first: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReturnedShare:
    """Units of a refund that go through one line of the buyer's return (RMA), and the money the
    channel refunds for them there."""

    return_line: OrderReturnLine
    qty: int
    amount: Decimal
    tax: Decimal


@dataclass
class PlannedLine:
    item: OrderItem
    action: str  # CANCEL | REFUND
    qty: int
    amount: Decimal  # price of the units (adjustments folded into the first refund line)
    tax: Decimal
    reason: str
    shipping: Decimal = ZERO
    returned: tuple[ReturnedShare, ...] = ()  # the refunded units that go through returns, first

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax + self.shipping


@dataclass
class MemoPlan:
    lines: list[PlannedLine]
    shipping_refund: Decimal
    adjustment_refund: Decimal
    adjustment_fee: Decimal
    refund_reason: str
    restock: bool
    buyer_canceled: bool
    sends_to_channel: bool
    notes: list[str] = field(default_factory=list)

    @property
    def items_total(self) -> Decimal:
        return sum((line.amount + line.tax for line in self.lines), ZERO) - self.adjustment_refund + self.adjustment_fee

    @property
    def grand_total(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)

    @property
    def canceled_shipping(self) -> Decimal:
        return sum((line.shipping for line in self.lines if line.action == CANCEL), ZERO)

    @property
    def refund_total(self) -> Decimal:
        return sum((line.total for line in self.lines if line.action == REFUND), ZERO)

    @property
    def channel_action(self) -> str:
        actions = {line.action for line in self.lines}
        if not self.sends_to_channel or not actions:
            return "none"
        return "cancel_and_refund" if actions == {CANCEL, REFUND} else actions.pop()


def creditable_qty(item: OrderItem) -> int:
    return item.qty_ordered - item.qty_canceled - item.qty_refunded


def _unit_share(total: Decimal, item: OrderItem, *, already: int, qty: int) -> Decimal:
    """`total`'s share of `qty` more units after `already` ones, rounded so that all units add up
    to exactly `total`."""
    def upto(units: int) -> Decimal:
        return (total * units / item.qty_ordered).quantize(CENT)

    return upto(already + qty) - upto(already)


def tax_share(item: OrderItem, *, already: int, qty: int) -> Decimal:
    """Tax of `qty` more units after `already` credited ones."""
    return _unit_share(item.tax, item, already=already, qty=qty)


def returned_shares(item: OrderItem, returns: Sequence[OrderReturnLine], *, already: int,
                    qty: int) -> tuple[ReturnedShare, ...]:
    """The first of `qty` refunded units that the item's open returns hold (oldest return line
    first), each at what the channel refunds through the return: Walmart takes quantities only and
    refunds each unit's price and tax as the return shows them, plus the excess it shows for the
    line's last item once all of its units are refunded (its "last penny"). A return without
    per-unit figures is priced as any refund: the units' price and their share of the line's tax."""
    shares = []
    left = qty
    for return_line in returns:  # each with units left to refund
        if not left:
            break
        take = min(left, return_line.qty - return_line.qty_refunded)
        if return_line.unit_price is None:  # the channel shows both per-unit figures, or neither
            amount = item.unit_price * take
            tax = tax_share(item, already=already + qty - left, qty=take)
        else:
            last = return_line.last_item and return_line.qty_refunded + take == return_line.qty
            amount = return_line.unit_price * take + (return_line.excess_price if last else ZERO)
            tax = return_line.unit_tax * take + (return_line.excess_tax if last else ZERO)
        shares.append(ReturnedShare(return_line, take, amount, tax))
        left -= take
    return tuple(shares)


@dataclass(frozen=True)
class LineCredits:
    """What the memos sent to the channel credited on a line: units (canceled or refunded) and tax."""

    units: int = 0
    tax: Decimal = ZERO


def refund_price_and_tax(item: OrderItem, returns: Sequence[OrderReturnLine], *, already: int, qty: int,
                         tax_credited: Decimal | None = None) -> tuple[Decimal, Decimal, tuple[ReturnedShare, ...]]:
    """(price, tax, returned shares) of refunding `qty` units after `already` credited ones: the
    returned units at the channel's figures, the others at their price and share of the tax.
    `tax_credited`: the line's tax credited so far, when every credit of the line is known."""
    shares = returned_shares(item, returns, already=already, qty=qty)
    through = sum(share.qty for share in shares)
    price = sum((share.amount for share in shares), ZERO) + item.unit_price * (qty - through)
    tax = sum((share.tax for share in shares), ZERO) + tax_share(item, already=already + through, qty=qty - through)
    if shares and tax_credited is not None and already + qty == item.qty_ordered:
        # The line's last units: a return's per-unit figures can leave a cent of the line's tax that
        # no later memo could refund; it goes out with them, through the order's refund.
        tax = max(tax, item.tax - tax_credited)
    return price, tax, shares


def canceled_shipping(item: OrderItem, *, qty: int) -> Decimal:
    """The shipping a cancellation of `qty` more units returns on the channel (§3 of issue 9: a
    memo that cancels credits it)."""
    return _unit_share(item.shipping_charge, item, already=item.qty_canceled, qty=qty)


def line_refundable(item: OrderItem) -> Decimal:
    """What the channel still holds for the item's shipped units: price, tax and shipping of the
    shipped share, less what was refunded (the Walmart refund cap)."""
    share = Decimal(item.qty_shipped) / Decimal(item.qty_ordered)
    charged = item.unit_price * item.qty_shipped + ((item.tax + item.shipping_charge) * share).quantize(CENT)
    return charged - item.refunded_amount


def within_line(item: OrderItem, *, price: Decimal, tax: Decimal) -> tuple[Decimal, Decimal]:
    """(price, tax) that refunding shipped units gives back: their own, but never more than the line
    still holds on the channel (R-CM-9). Earlier refunds that gave back more than their units' price
    (an adjustment refund folded into the line, shipping beyond its share, a refund made on the
    channel) took part of it already, so the last units take what is left, tax first, instead of
    being refused for ever."""
    room = max(line_refundable(item), ZERO)
    tax = min(tax, room)
    return min(price, room - tax), tax


def credits_first(item: OrderItem) -> str:
    """Which units a memo credits first on a line partly shipped, unless the operator chooses: the
    shipped ones (refunded, what a seller crediting a delivered unit means), or the unshipped ones
    (canceled) when the buyer asked to cancel the line (R-CM-4; seed 002: ship one unit, credit the
    other)."""
    return CANCEL if item.buyer_cancel_requested else REFUND


def refunded_units(item: OrderItem, qty: int, *, first: str | None = None) -> int:
    """Of `qty` units credited on a line, those refunded (shipped units); the others are canceled
    (unshipped units). `first` (CANCEL or REFUND, default `credits_first`) says which come first."""
    if (first or credits_first(item)) == CANCEL:
        return qty - min(qty, item.qty_open)
    return min(qty, item.qty_shipped - item.qty_refunded)


def refunds_units(items: list[OrderItem], memo: MemoInput) -> bool:
    """Whether `memo` refunds any shipped unit (and so needs a refund reason)."""
    return any(refunded_units(item, memo.quantities.get(item.pk, 0), first=memo.credit_first.get(item.pk)) > 0
               for item in items)


def remaining_shipping(order: Order, items: list[OrderItem], shipping_refunded: Decimal) -> Decimal:
    """The order's shipping not credited yet: less the shipping memos refunded and the shipping
    every cancellation returned (the channel's own cancels too, not only the memos')."""
    credited = shipping_refunded + sum((_unit_share(item.shipping_charge, item, already=0, qty=item.qty_canceled)
                                        for item in items), ZERO)
    return max(order.shipping_total - credited, ZERO)


def shipping_for_quantities(order: Order, items: list[OrderItem], memo: MemoInput, shipping_refunded: Decimal,
                            returns: Mapping[int, Sequence[OrderReturnLine]]) -> Decimal:
    """The shipping a memo of these units refunds by default (R-CM-6): the shipping charged for
    the shipped units it refunds, within the shipping left to refund. Canceled units get their
    shipping back from the cancellation on the channel."""
    shipping = ZERO
    for item in items:
        qty = memo.quantities.get(item.pk, 0)
        refunded = refunded_units(item, qty, first=memo.credit_first.get(item.pk))
        if refunded > 0:
            price, tax, _ = refund_price_and_tax(item, returns.get(item.pk, ()), qty=refunded,
                                                 already=item.qty_canceled + item.qty_refunded + qty - refunded)
            amount, tax = within_line(item, price=price, tax=tax)
            # Never more than the line has left after its units: a default the memo would refuse.
            room = max(line_refundable(item) - amount - tax, ZERO)
            shipping += min((item.shipping_charge * refunded / item.qty_ordered).quantize(CENT), room)
    return min(shipping, remaining_shipping(order, items, shipping_refunded))


def full_memo(order: Order, items: list[OrderItem], shipping_refunded: Decimal,
              returns: Mapping[int, Sequence[OrderReturnLine]]) -> MemoInput:
    """Everything still creditable, shipping included: the form's default, and the only memo an
    order with an adjustment fee allows (R-CM-7)."""
    units = MemoInput(quantities={item.pk: creditable_qty(item) for item in items})
    return replace(units, shipping_refund=shipping_for_quantities(order, items, units, shipping_refunded, returns))


def refusal_for_status(order: Order) -> CreditMemoRefused | None:
    """R-CM-1, R-CM-2, R-CAN-4: which orders take a credit memo at all."""
    channel = order.get_channel_display()
    if order.status in ALLOWED_STATUSES[Channel(order.channel)]:
        return None
    if order.status == OrderStatus.CREATED:
        return CreditMemoRefused("R-CAN-4", "Created orders cannot be refunded by a credit memo: cancel it on "
                                 f"{channel}; the status sync will mark it Canceled")
    if order.status == OrderStatus.PENDING:
        return CreditMemoRefused("R-CAN-4", "Pending (unpaid) Amazon orders cannot be refunded by a credit memo: "
                                 "cancel it on Amazon; the status sync will mark it Canceled")
    if order.status == OrderStatus.CANCELED:
        return CreditMemoRefused("R-CM-1", "Canceled orders have nothing left to credit")
    return CreditMemoRefused("R-CM-2" if order.channel == Channel.AMAZON else "R-CM-1",
                             f"{order.get_status_display()} {channel} orders cannot take a credit memo")


def plan_credit_memo(*, order: Order, items: list[OrderItem], memo: MemoInput, shipping_refunded: Decimal = ZERO,
                     returns: Mapping[int, Sequence[OrderReturnLine]] = NO_RETURNS,
                     credited_by_memos: Mapping[int, LineCredits] = NO_CREDITS) -> MemoPlan:
    """`returns`: each item's return lines with units not refunded yet, oldest first; `credited_by_memos`:
    what earlier memos sent to the channel credited on each item."""
    refusal = refusal_for_status(order)
    if refusal:
        raise refusal
    rules = rules_for(order.channel)
    by_id = {item.pk: item for item in items}
    unknown = set(memo.quantities) - set(by_id)
    if unknown:
        raise CreditMemoRefused("R-CM-9", "Some lines do not belong to this order")
    for money in (memo.shipping_refund, memo.adjustment_refund, memo.adjustment_fee):
        if money < 0:
            raise CreditMemoRefused("R-CM-9", "Amounts cannot be negative")
    for item_id, qty in memo.quantities.items():
        item = by_id[item_id]
        if qty < 0 or qty > creditable_qty(item):
            raise CreditMemoRefused("R-CM-9", f"{item.sku}: at most {creditable_qty(item)} unit(s) can be credited "
                                    "on this line")

    # R-CM-7: an adjustment fee (the order's or the memo's) means the memo is the full one.
    full = full_memo(order, items, shipping_refunded, returns)
    if order.adjustment_fee > 0 or memo.adjustment_fee > 0:
        is_full = all(memo.quantities.get(item.pk, 0) == full.quantities[item.pk] for item in items) and (
            memo.shipping_refund == full.shipping_refund)
        if not is_full:
            raise CreditMemoRefused("R-CM-7", "An order with an adjustment fee cannot be refunded partially: "
                                    "credit every unit left and all its shipping in one memo, or remove the fee")

    amazon = order.channel == Channel.AMAZON
    refund_reason = memo.refund_reason or rules.default_refund_reason
    if amazon:
        refund_reason = AMAZON_UNSHIPPED_REFUND_REASON if order.status == OrderStatus.UNSHIPPED else AMAZON_SHIPPED_REFUND_REASON
    elif refund_reason not in rules.refund_reasons:
        raise CreditMemoRefused("R-CM-1", f"{refund_reason!r} is not a {order.get_channel_display()} refund reason")

    lines: list[PlannedLine] = []
    notes: list[str] = []
    buyer_canceled = False
    for item in items:
        qty = memo.quantities.get(item.pk, 0)
        if qty <= 0:
            continue
        refund_qty = refunded_units(item, qty, first=memo.credit_first.get(item.pk))
        cancel_qty = qty - refund_qty
        credited = item.qty_canceled + item.qty_refunded
        earlier = credited_by_memos.get(item.pk, LineCredits())
        tax_credited = earlier.tax if earlier.units == credited else None  # every credit of the line is a memo's
        if cancel_qty:
            # R-CM-4: what the buyer asked to cancel goes out as the buyer's cancellation.
            buyer = item.buyer_cancel_requested and order.status == OrderStatus.UNSHIPPED
            buyer_canceled |= buyer
            reason = rules.buyer_cancel_reason if buyer else rules.default_cancel_reason  # Amazon's: NoInventory
            cancel_tax = tax_share(item, already=credited, qty=cancel_qty)
            tax_credited = None if tax_credited is None else tax_credited + cancel_tax
            lines.append(PlannedLine(item, CANCEL, cancel_qty, item.unit_price * cancel_qty, cancel_tax, reason,
                                     shipping=canceled_shipping(item, qty=cancel_qty)))
        if refund_qty:
            price, tax, returned = refund_price_and_tax(item, returns.get(item.pk, ()), already=credited + cancel_qty,
                                                        qty=refund_qty, tax_credited=tax_credited)
            amount, left_tax = within_line(item, price=price, tax=tax)
            lines.append(PlannedLine(item, REFUND, refund_qty, amount, left_tax, refund_reason, returned=returned))
            if amount != price or left_tax != tax:
                notes.append(_cut_to_line(item, price + tax - amount - left_tax) if amount or left_tax else
                             f"{item.sku}: nothing is left to refund on this line (earlier refunds gave all of it "
                             "back); its units are credited here only.")

    # R-CM-2: a partial memo on an Unshipped Amazon order would leave units to ship.
    if amazon and order.status == OrderStatus.UNSHIPPED:
        left_open = sum(item.qty_open for item in items) - sum(l.qty for l in lines if l.action == CANCEL)
        if left_open > 0:
            credited = {line.item.pk: line.qty for line in lines if line.action == CANCEL}
            ship_first = {item.pk: item.qty_open - credited.get(item.pk, 0) for item in items
                          if item.qty_open > credited.get(item.pk, 0)}
            raise CreditMemoRefused("R-CM-2", "Amazon cannot refund part of an Unshipped order: ship the units "
                                    "you deliver first, then create a credit memo for the rest",
                                    ship_first=ship_first)

    left_shipping = remaining_shipping(order, items, shipping_refunded)
    if memo.shipping_refund > left_shipping:
        raise CreditMemoRefused("R-CM-6", f"At most {left_shipping} {order.currency} of shipping can be refunded")
    _cap_canceled_shipping([line for line in lines if line.action == CANCEL], left_shipping - memo.shipping_refund)
    refund_lines = [line for line in lines if line.action == REFUND]
    shipping_only = False
    # Each amount counts on its own: a 1.00 adjustment refund and a 1.00 fee net to nothing, yet
    # neither can reach the channel on a memo without a refunded line.
    if (memo.shipping_refund or memo.adjustment_refund or memo.adjustment_fee) and not refund_lines:
        if (memo.adjustment_refund or memo.adjustment_fee) and lines:
            raise CreditMemoRefused("R-CM-6", "Shipping and adjustments are refunded with shipped items; "
                                    "canceling unshipped items returns their money on the channel")
        if memo.adjustment_refund or memo.adjustment_fee:
            raise CreditMemoRefused("R-CM-6", "An adjustment refund or fee goes with refunded units: credit at least "
                                    "one shipped unit with it (refund shipping alone without it)")
        # A shipping-only refund rides on the shipped lines, as shipping charges (issue 9 §1).
        refund_lines = [PlannedLine(item, REFUND, 0, ZERO, ZERO, refund_reason) for item in items if item.qty_shipped]
        if not refund_lines:
            raise CreditMemoRefused("R-CM-6", "Shipping is refunded on shipped items and this order has none: "
                                    "canceling its items returns their shipping on the channel")
        shipping_only = True
    if refund_lines:
        _spread_extra(refund_lines, shipping=memo.shipping_refund,
                      adjustment=memo.adjustment_refund - memo.adjustment_fee, currency=order.currency)
    if shipping_only:
        lines += [line for line in refund_lines if line.shipping]
    if any(line.action == CANCEL and line.shipping for line in lines):
        notes.append("Shipping of canceled items is returned by the cancellation on the channel.")
    if not lines:
        raise CreditMemoRefused("R-CM-9", "The credit memo credits nothing")

    refund_money = sum((line.total for line in refund_lines), ZERO)
    if order.refunded_total + refund_money > order.grand_total:
        left = order.grand_total - order.refunded_total
        raise CreditMemoRefused("R-CM-9", f"At most {left} {order.currency} can be refunded on this order "
                                f"({order.grand_total} paid, {order.refunded_total} refunded already)")
    return MemoPlan(
        lines=lines,
        shipping_refund=sum((line.shipping for line in lines), ZERO),
        adjustment_refund=memo.adjustment_refund,
        adjustment_fee=memo.adjustment_fee,
        refund_reason=refund_reason,
        restock=memo.restock,
        buyer_canceled=buyer_canceled,
        sends_to_channel=order.account.refund_on_credit_memo,  # R-ACC-3
        notes=notes,
    )


def _cap_canceled_shipping(cancel_lines: list[PlannedLine], left: Decimal) -> None:
    """Shipping credited for canceled units never exceeds the order's shipping not yet credited."""
    for line in cancel_lines:
        line.shipping = min(line.shipping, max(left, ZERO))
        left -= line.shipping


def _spread_extra(refund_lines: list[PlannedLine], *, shipping: Decimal, adjustment: Decimal,
                  currency: str) -> None:
    """Put an adjustment refund on the refund lines in turn (a fee comes off their prices) and split
    the shipping refund over them, within what each line still holds on the channel (R-CM-6, R-CM-9)."""
    headroom = {id(line): line_refundable(line.item) - line.amount - line.tax for line in refund_lines}
    for line in refund_lines:
        if headroom[id(line)] < 0:
            raise _over_line(line)
    # What each line credits, before the adjustment; a shipping-only refund credits nothing on its
    # lines, so it follows the shipping they were charged for their shipped units.
    weights = {id(line): line.amount + line.tax or _unit_share(line.item.shipping_charge, line.item, already=0,
                                                                qty=line.item.qty_shipped)
               for line in refund_lines}
    if adjustment > 0 and _add_adjustment(refund_lines, adjustment, headroom=headroom) > 0:
        raise _over_line(refund_lines[0]) if len(refund_lines) == 1 else _over_lines(refund_lines)
    if adjustment < 0:
        _take_fee(refund_lines, -adjustment, currency=currency)
    # Neither the adjustment nor the shipping is given more than a line's headroom.
    if _split_in_proportion(shipping, refund_lines, weights=weights, headroom=headroom) > 0:
        raise _over_lines(refund_lines)


def _over_lines(refund_lines: list[PlannedLine]) -> CreditMemoRefused:
    most = sum((max(line_refundable(line.item), ZERO) for line in refund_lines), ZERO)
    return CreditMemoRefused("R-CM-9", f"At most {most} can be refunded on these lines (price, tax and shipping of "
                             "their shipped units, less what was refunded): lower the shipping or adjustment refund")


def _add_adjustment(refund_lines: list[PlannedLine], adjustment: Decimal, *, headroom: dict[int, Decimal]) -> Decimal:
    """An adjustment refund rides on the refunded lines, the first first, each taking what it still
    holds on the channel; returns what fitted nowhere."""
    for line in refund_lines:
        take = min(adjustment, max(headroom[id(line)], ZERO))
        line.amount += take
        headroom[id(line)] -= take
        adjustment -= take
    return adjustment


def _take_fee(refund_lines: list[PlannedLine], fee: Decimal, *, currency: str) -> None:
    """A fee comes off the price of the refunded units, line after line (the channels take every
    refunded charge at zero or below: never a line's price above what it refunds), but not off
    units refunded through a return, which the channel refunds in full."""
    def keepable(line: PlannedLine) -> Decimal:
        return line.amount - sum((share.amount for share in line.returned), ZERO)

    most = sum((keepable(line) for line in refund_lines), ZERO)
    if fee > most:
        returned = (" (not of those refunded through the buyer's return)"
                    if any(line.returned for line in refund_lines) else "")
        raise CreditMemoRefused("R-CM-7", f"The adjustment fee is larger than the refund: it comes off the price of "
                                f"the refunded items{returned}, at most {most} {currency} here")
    for line in refund_lines:
        take = min(fee, keepable(line))
        line.amount -= take
        fee -= take


def _split_in_proportion(total: Decimal, lines: list[PlannedLine], *, weights: dict[int, Decimal],
                         headroom: dict[int, Decimal]) -> Decimal:
    """Add `total` to the lines' shipping in proportion to their weights, to the cent: shares are
    rounded on the running sum, so they add up to exactly `total` and the cent rounding leaves goes
    to the earliest line it falls on. A line whose share would not fit its headroom takes its
    headroom, and what it could not take is split again over the others. Returns what fitted
    nowhere."""
    left = total
    open_lines = [line for line in lines if weights[id(line)] > 0]
    while left > 0 and open_lines:
        whole = sum(weights[id(line)] for line in open_lines)
        shares, running, placed = [], ZERO, ZERO
        for line in open_lines:
            running += weights[id(line)]
            upto = (left * running / whole).quantize(CENT)
            shares.append(upto - placed)
            placed = upto
        too_big = [line for line, share in zip(open_lines, shares) if share > headroom[id(line)]]
        if not too_big:
            for line, share in zip(open_lines, shares):
                line.shipping += share
                headroom[id(line)] -= share
            return ZERO
        for line in too_big:
            take = max(headroom[id(line)], ZERO)
            line.shipping += take
            headroom[id(line)] -= take
            left -= take
            open_lines.remove(line)
    return left


def _cut_to_line(item: OrderItem, cut: Decimal) -> str:
    return (f"{item.sku}: {cut} less than the price of its units is refunded, because earlier refunds already "
            "gave back that much of this line.")


def _over_line(line: PlannedLine) -> CreditMemoRefused:
    most = max(line_refundable(line.item), ZERO).quantize(CENT)
    return CreditMemoRefused("R-CM-9", f"{line.item.sku}: at most {most} can be refunded on this line (price, tax "
                             "and shipping of its shipped units, less what was refunded)")
