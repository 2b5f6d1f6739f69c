"""Credit memos: saved with their local effects and their channel actions in one transaction, sent
through the outbox exactly once (SPEC §5, §6)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Sum

from channels.reasons import reason_label
from orders.locks import lock_order
from orders.log import Type, order_log_write
from orders.models import ChannelAction, Order, OrderItem, OrderReturnLine
from orders.outbox import enqueue_action, on_action_outcome
from orders.services.cancel import enqueue_cancel_lines
from orders.services.channel_lines import lines_to_cancel, lines_to_refund
from orders.services.stock import release_reservation, restock, stock_moves
from orders.status import order_refresh_status

from .models import CreditMemo, CreditMemoItem
from .rules import (CANCEL, CreditMemoRefused, LineCredits, MemoInput, MemoPlan, full_memo, plan_credit_memo,
                    shipping_for_quantities)

ZERO = Decimal("0")


def shipping_refunded(order: Order) -> Decimal:
    """The shipping the order's memos refunded (the shipping their cancels credited is counted from
    the canceled units, with the channel's own cancels)."""
    return CreditMemo.objects.filter(order=order).aggregate(
        total=Sum(F("shipping_refund") - F("canceled_shipping")))["total"] or ZERO


def open_returns(order: Order, *, lock: bool = False) -> dict[int, list[OrderReturnLine]]:
    """Each item's return lines with units not refunded yet, oldest first: the units a refund of
    the item sends through the buyer's return, and at what the channel refunds them."""
    lines = OrderReturnLine.objects.select_related("order_return").filter(
        order_return__order=order, qty_refunded__lt=F("qty")).order_by("pk")
    returns: dict[int, list[OrderReturnLine]] = defaultdict(list)
    for return_line in lines.select_for_update() if lock else lines:
        returns[return_line.order_item_id].append(return_line)
    return returns


def memo_credits(order: Order) -> dict[int, LineCredits]:
    """What the order's memos sent to the channel credited on each item (units and tax)."""
    rows = CreditMemoItem.objects.filter(credit_memo__order=order).exclude(
        credit_memo__state=CreditMemo.State.LOCAL).values("order_item_id").annotate(units=Sum("qty"), tax=Sum("tax"))
    return {row["order_item_id"]: LineCredits(units=row["units"], tax=row["tax"]) for row in rows}


def credit_memo_preview(*, order_id: int, memo: MemoInput) -> MemoPlan:
    """The plan the memo would follow, for the form's totals (no lock, nothing written)."""
    order = Order.objects.select_related("account").get(pk=order_id)
    items = list(order.items.order_by("pk"))
    return plan_credit_memo(order=order, items=items, memo=memo, shipping_refunded=shipping_refunded(order),
                            returns=open_returns(order), credited_by_memos=memo_credits(order))


def credit_memo_shipping_for(*, order_id: int, memo: MemoInput) -> Decimal:
    """The shipping refund that goes with crediting the memo's units (the form's derived amount)."""
    order = Order.objects.get(pk=order_id)
    return shipping_for_quantities(order, list(order.items.order_by("pk")), memo, shipping_refunded(order),
                                   open_returns(order))


def credit_memo_defaults(*, order_id: int) -> MemoInput:
    order = Order.objects.get(pk=order_id)
    return full_memo(order, list(order.items.order_by("pk")), shipping_refunded(order), open_returns(order))


def credit_memo_create(*, order_id: int, memo: MemoInput, user: AbstractBaseUser | None = None) -> CreditMemo:
    """Validate under the order's row lock (two memos at once cannot both pass), apply the local
    changes, and queue the channel's cancel / refund actions in the same transaction."""
    with transaction.atomic(), stock_moves():  # stock written last, products in pk order (orders.locks)
        order = lock_order(order_id)
        items = list(order.items.select_for_update().order_by("pk"))
        plan = plan_credit_memo(order=order, items=items, memo=memo, shipping_refunded=shipping_refunded(order),
                                returns=open_returns(order, lock=True), credited_by_memos=memo_credits(order))
        credit_memo = CreditMemo.objects.create(
            order=order,
            state=CreditMemo.State.PENDING if plan.sends_to_channel else CreditMemo.State.LOCAL,
            channel_action=plan.channel_action,
            reason=plan.refund_reason,
            comment=memo.comment,
            restock=plan.restock,
            items_total=plan.items_total,
            shipping_refund=plan.shipping_refund,
            canceled_shipping=plan.canceled_shipping,
            adjustment_refund=plan.adjustment_refund,
            adjustment_fee=plan.adjustment_fee,
            grand_total=plan.grand_total,
            created_by=user if user and user.pk else None,
        )
        cancels: dict[str, list[dict]] = defaultdict(list)
        refunds: dict[str, list[dict]] = defaultdict(list)  # return order id ("" for none) → lines
        summary = []
        # What the memo asks of the channel is not done until the channel confirms it.
        cancel_word, refund_word = ("to cancel", "to refund") if plan.sends_to_channel else ("canceled", "refunded")
        for line in plan.lines:
            item = line.item
            if line.qty:  # a shipping-only refund line has no units: the memo's shipping_refund holds it
                CreditMemoItem.objects.create(credit_memo=credit_memo, order_item=item, action=line.action,
                                              qty=line.qty, amount=line.amount, tax=line.tax)
            if line.action == CANCEL:
                cancels[line.reason] += lines_to_cancel(item=item, qty=line.qty)
                item.qty_canceled += line.qty
                release_reservation(item=item, qty=line.qty)
                summary.append(f"{cancel_word} {item.sku} × {line.qty}")
            else:
                for return_id, entries in _refund_entries(item, line).items():
                    refunds[return_id] += [entry for entry in entries if return_id or _gives_money(entry)]
                item.qty_refunded += line.qty
                item.refunded_amount += line.total
                if plan.restock and item.product_id and line.qty:
                    restock(product_id=item.product_id, qty=line.qty)  # R-CM-8
                summary.append(f"{refund_word} {item.sku} × {line.qty}" if line.qty
                               else f"{refund_word} shipping of {item.sku}")
        OrderItem.objects.bulk_update(items, ["qty_canceled", "qty_refunded", "refunded_amount", "qty_reserved"])
        # Added in Python to the locked row's value: SQLite would add NUMERIC columns as floats
        # (0.01 + 0.02 + 0.02 + 0.01 > 0.06) and trip the refunded-within-paid constraint.
        Order.objects.filter(pk=order.pk).update(refunded_total=order.refunded_total + plan.refund_total)
        order.refresh_from_db()

        channel = order.get_channel_display()
        refunds = {return_id: lines for return_id, lines in refunds.items() if lines}
        buyer = " (Buyer Canceled)" if plan.buyer_canceled else ""
        text = f"Credit memo #{credit_memo.pk}: {', '.join(summary)}{buyer}; total {plan.grand_total} {order.currency}"
        if plan.restock:
            text += "; quantities returned to stock"
        sends = plan.sends_to_channel and bool(cancels or refunds)
        if sends:
            order_log_write(order=order, message=f"{text}; queued for {channel}.", user=user)
        elif plan.sends_to_channel:
            # Units whose money earlier refunds gave back already: there is nothing for the channel to confirm.
            credit_memo.state = CreditMemo.State.DONE
            credit_memo.save(update_fields=["state"])
            order_log_write(order=order, message=f"{text}; nothing left to send to {channel}.", type=Type.SUCCESS,
                            user=user)
        else:
            order_log_write(order=order, message=text + ".", type=Type.SUCCESS, user=user)
        for note in plan.notes:
            order_log_write(order=order, message=f"Credit memo #{credit_memo.pk}: {note}", user=user)

        if sends:
            actions = []
            for reason, lines in cancels.items():
                actions += enqueue_cancel_lines(order=order, lines=lines, reason=reason, user=user,
                                                description=f"Credit memo #{credit_memo.pk}: cancel, {reason_label(reason)}")
            for return_id, lines in refunds.items():
                via = f" through return {return_id}" if return_id else ""
                actions.append(enqueue_action(
                    order=order, kind=ChannelAction.Kind.REFUND, user=user,
                    description=f"Credit memo #{credit_memo.pk}: refund{via}",
                    payload={"lines": lines, "reason": plan.refund_reason, "comment": memo.comment[:200],
                             "return_order_id": return_id},
                ))
            credit_memo.channel_actions.set(actions)
        elif not plan.sends_to_channel:
            order_log_write(order=order, type=Type.WARNING, user=user,
                            message=f"Credit memo #{credit_memo.pk} is local only: the account's \"Cancellation & "
                            f"refund if credit memo is created\" option is off, nothing was sent to {channel}.")
        # R-CM-4 cancels; R-CM-5 a refund leaves Shipped as is
        order_refresh_status(order=order, user=user, awaiting_channel=sends)
    return credit_memo


def _refund_entries(item: OrderItem, line) -> dict[str, list[dict]]:
    """Returned units are refunded through their return (RMA): Walmart takes quantities there and
    refunds what the plan priced them at (the return's own figures). The rest of the line (other
    units, its shipping, the adjustment folded into it) goes through the order's refund, so every
    cent is sent once."""
    entries: dict[str, list[dict]] = defaultdict(list)
    for share in line.returned:
        return_line = share.return_line
        entries[return_line.order_return.return_order_id].append({
            "line_number": return_line.channel_line_number, "qty": share.qty,
            "return_line_number": return_line.return_line_number,
            "amount": str(share.amount), "tax": str(share.tax), "shipping": "0",
        })
        return_line.qty_refunded += share.qty
        return_line.save(update_fields=["qty_refunded"])
    amount = line.amount - sum((share.amount for share in line.returned), ZERO)
    tax = line.tax - sum((share.tax for share in line.returned), ZERO)
    left = line.qty - sum(share.qty for share in line.returned)
    if amount < 0 or tax < 0:
        raise CreditMemoRefused("R-CM-7", "Walmart refunds returned units in full through their return: nothing "
                                "can be kept back from them (an adjustment fee, or what earlier refunds gave back "
                                "on this line)")
    if left or not line.returned:
        entries[""] += lines_to_refund(item=item, qty=left, amount=amount, tax=tax, shipping=line.shipping)
    elif amount or tax or line.shipping:  # every unit went through returns: the rest rides on the order refund
        entries[""].append({"line_number": line.returned[-1].return_line.channel_line_number, "qty": 0,
                            "amount": str(amount), "tax": str(tax), "shipping": str(line.shipping)})
    return entries


def _gives_money(entry: dict) -> bool:
    return any(Decimal(entry[money]) for money in ("amount", "tax", "shipping"))


MEMO_ACTION_KINDS = (ChannelAction.Kind.CANCEL, ChannelAction.Kind.REFUND)  # what a memo sends


@on_action_outcome
def credit_memo_follow_action(action: ChannelAction) -> None:
    """Keep memos in step with their actions, one meaning for every channel: Done once the channel
    confirmed every action of the memo, Failed (with the action's reason) when one failed,
    Submitted while one is accepted but not yet processed (Amazon feeds), Pending otherwise."""
    if action.kind not in MEMO_ACTION_KINDS:
        return  # acknowledgements and shipments belong to no memo: no query for each of them
    for memo in CreditMemo.objects.filter(channel_actions=action).exclude(state=CreditMemo.State.LOCAL):
        actions = list(memo.channel_actions.all())
        memo.state, memo.error = credit_memo_state(actions)
        memo.channel_reference = ", ".join(sorted({a.channel_reference for a in actions if a.channel_reference}))[:128]
        memo.save(update_fields=["state", "error", "channel_reference", "updated_at"])


def credit_memo_state(actions: list[ChannelAction]) -> tuple[str, str]:
    """(state, error) of a memo sent to the channel through these actions."""
    State = ChannelAction.State
    failed = [a for a in actions if a.state == State.FAILED]
    if failed:
        return CreditMemo.State.FAILED, "; ".join(f"{a.description}: {a.last_error}" for a in failed)
    states = {a.state for a in actions}
    if actions and states == {State.SUCCEEDED}:
        return CreditMemo.State.DONE, ""
    if states and states <= {State.SUCCEEDED, State.SUBMITTED}:
        return CreditMemo.State.SUBMITTED, ""
    return CreditMemo.State.PENDING, ""
