"""Reading an ambiguous channel change back: what of it the channel does not show yet (R-REL-2).

A cancel or refund on a channel that applies changes at once (Walmart) is checked against the
channel's own figures, read right before the action is first sent, plus what the action sends.
Local figures are never the yardstick: they also count memos that never went to the channel
(R-ACC-3 off) and the channel's own rounding. The figures read before sending are stored on the
action before anything is sent, so an action without them was never sent.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from channels.capabilities import rules_for
from channels.clients import ChannelOrder, LineState

from .models import ChannelAction

Kind = ChannelAction.Kind
CHANNEL_BEFORE = "channel_before"  # payload key: line number → the channel's figure before the first send
ZERO = Decimal("0")


def needs_channel_before(action: ChannelAction) -> bool:
    """Cancels and refunds of channels that apply them at once are verified against the channel's
    figures read before sending (asynchronous channels resend instead, see ChannelRules)."""
    return action.kind in (Kind.CANCEL, Kind.REFUND) and not rules_for(action.account.channel).async_changes


def was_sent(action: ChannelAction) -> bool:
    return CHANNEL_BEFORE in action.payload


def with_channel_before(action: ChannelAction, channel_order: ChannelOrder) -> dict:
    """The action's payload with the channel's figures of its lines as they are now."""
    before = {number: str(_figure(action.kind, channel_order.line_states.get(number)))
              for number in _sent_per_line(action.payload)}
    return {**action.payload, CHANNEL_BEFORE: before}


def not_landed(action: ChannelAction, channel_order: ChannelOrder) -> dict | None:
    """What of the action the channel does not show yet, or None when all of it landed."""
    if action.kind == Kind.ACKNOWLEDGE:
        return None if channel_order.is_acknowledged else action.payload
    if action.kind == Kind.SHIP:
        if action.payload.get("is_update"):
            return action.payload  # a tracking update is safe to send again
        missing = [line for line in action.payload["lines"]
                   if _seen(channel_order, line["line_number"]).qty_shipped < line["expect_shipped"]]
    else:
        missing = [line for line in action.payload["lines"]
                   if line["line_number"] in _missing_line_numbers(action, channel_order)]
    return {**action.payload, "lines": missing} if missing else None


def _missing_line_numbers(action: ChannelAction, channel_order: ChannelOrder) -> set[str]:
    before = action.payload[CHANNEL_BEFORE]
    missing = set()
    for number, sent in _sent_per_line(action.payload).items():
        seen = _figure(action.kind, _seen(channel_order, number))
        if action.payload.get("return_order_id"):
            # Walmart computes a return refund's money itself, and applies the request whole or not
            # at all: any rise of the line's refunded figure since before the send means it landed.
            landed = seen > Decimal(before[number])
        else:
            landed = seen >= Decimal(before[number]) + sent
        if not landed:
            missing.add(number)
    return missing


def _sent_per_line(payload: dict) -> dict[str, Decimal]:
    sent: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in payload["lines"]:
        if "amount" in line:  # a refund: its money
            sent[line["line_number"]] += Decimal(line["amount"]) + Decimal(line.get("tax", "0")) + Decimal(
                line.get("shipping", "0"))
        else:  # a cancel: its units
            sent[line["line_number"]] += Decimal(line["qty"])
    return dict(sent)


def _seen(channel_order: ChannelOrder, number: str) -> LineState:
    return channel_order.line_states.get(number) or LineState(qty_ordered=0)


def _figure(kind: str, state: LineState | None) -> Decimal:
    if state is None:
        return ZERO
    return Decimal(state.qty_canceled) if kind == Kind.CANCEL else Decimal(str(state.refunded_amount))
