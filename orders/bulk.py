"""Bulk actions (R-GRID-3): the single-order service, run per order, summarised in one message."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .services.errors import OrderActionRefused


@dataclass
class BulkResult:
    done: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())

    def summary(self, action_label: str) -> str:
        if self.done + self.skipped_count == 1:
            if self.done:
                return f"{action_label}: done."
            [reason] = self.skipped
            return f"{action_label}: not done — {reason}."
        text = f"{action_label}: {self.done} done, {self.skipped_count} skipped"
        if self.skipped:
            reasons = "; ".join(f"{count} × {reason}" for reason, count in self.skipped.most_common())
            text += f" ({reasons})"
        return text + "."


def run_for_each_order(*, order_ids: Iterable[int], action: Callable[..., object], **kwargs: object) -> BulkResult:
    """Call `action(order_id=…, **kwargs)` for every order; a refusal skips that order only."""
    result = BulkResult()
    for order_id in order_ids:
        try:
            action(order_id=order_id, **kwargs)
        except OrderActionRefused as refusal:
            result.skipped[refusal.reason] += 1
        else:
            result.done += 1
    return result
