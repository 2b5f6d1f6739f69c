"""Bulk actions (R-GRID-3): the single-order service, run per order, summarised in one message.
An action that queues a channel change reports it "queued": the channel has not said anything yet."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .batching import batched_channel_actions
from .services.errors import OrderActionRefused


@dataclass
class BulkResult:
    done: int = 0
    skipped: Counter = field(default_factory=Counter)
    job_id: int | None = None  # the bulk job that records it, when one does

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())

    def summary(self, action_label: str, *, done_word: str = "done") -> str:
        if self.done + self.skipped_count == 1:
            if self.done:
                return f"{action_label}: {done_word}."
            [reason] = self.skipped
            return f"{action_label}: not {done_word} — {reason}."
        text = f"{action_label}: {self.done} {done_word}, {self.skipped_count} skipped"
        if self.skipped:
            reasons = "; ".join(f"{count} × {reason}" for reason, count in self.skipped.most_common())
            text += f" ({reasons})"
        return text + "."


ServiceForMany = Callable[..., tuple[list, dict[int, OrderActionRefused]]]


def run_for_each_order(
    *, order_ids: Iterable[int], action: Callable[..., object], bulk_job_id: int | None = None,
    action_for_many: ServiceForMany | None = None, **kwargs: object
) -> BulkResult:
    """Call `action(order_id=…, **kwargs)` for every order; a refusal skips that order only. The
    channel actions they queue are carried out together (orders.batching), tagged with the job.

    With `action_for_many` (the same service for many orders at once: what it did, and why it
    refused the others) the orders go to it in one call instead: one lock, one write of each kind
    and one log write for all of them, several times quicker than one call per order."""
    result = BulkResult()
    with batched_channel_actions(bulk_job_id=bulk_job_id):
        if action_for_many is not None:
            done, refused = action_for_many(order_ids=list(order_ids), **kwargs)
            result.done += len(done)
            result.skipped.update(refusal.reason for refusal in refused.values())
            return result
        for order_id in order_ids:
            try:
                action(order_id=order_id, **kwargs)
            except OrderActionRefused as refusal:
                result.skipped[refusal.reason] += 1
            else:
                result.done += 1
    return result
