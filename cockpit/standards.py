"""The channels' published rules the cockpit measures us against, with where each comes from.

Thresholds are the channels' own seller standards; the rates are computed from our data
(cockpit.stats), so they are an early warning, not the channel's scorecard.
"""

from dataclasses import dataclass
from decimal import Decimal

from channels.models import Channel

# The channels' automatic cancellation of unshipped orders: ChannelAccount.auto_cancel_after_days
# (channels/models.py, with the channels' documented defaults and their sources); orders at risk of it:
# orders.filters.to_ship_q.


@dataclass(frozen=True)
class Threshold:
    """A rate the channel wants at least (`minimum`) or at most (`maximum`), in percent."""

    percent: Decimal
    minimum: bool
    source: str

    def breached_by(self, rate: Decimal | None) -> bool:
        if rate is None:
            return False
        return rate < self.percent if self.minimum else rate > self.percent

    def __str__(self) -> str:
        return f"{'≥' if self.minimum else '≤'} {self.percent}%"


ON_TIME_SHIPMENT, VALID_TRACKING, SELLER_CANCELLATION, REFUND = "on_time", "valid_tracking", "cancellation", "refund"

WALMART_STANDARDS = "Walmart Seller Performance Standards (marketplacelearn.walmart.com, Policies & standards › " \
                    "Performance › Seller Performance Standards)"
AMAZON_ACCOUNT_HEALTH = "Amazon Seller Central help, Account Health / Shipping performance (G200205250)"

THRESHOLDS: dict[str, dict[str, Threshold | None]] = {
    Channel.WALMART: {
        # Walmart's current standard is On-Time *Delivery* (> 95 %), which needs carrier scans we do not
        # have; Walmart's seller scorecard target for on-time *shipment* (confirmed by the expected ship
        # date) is > 99 %, the figure used here.
        ON_TIME_SHIPMENT: Threshold(Decimal("99"), True, "Walmart seller scorecard: on-time shipment > 99%"),
        VALID_TRACKING: Threshold(Decimal("99"), True, f"{WALMART_STANDARDS}: Valid Tracking Rate > 99%"),
        SELLER_CANCELLATION: Threshold(Decimal("2"), False, f"{WALMART_STANDARDS}: Cancellation Rate < 2%"),
        # Walmart counts refunds for reasons the seller is responsible for; we count every refund.
        REFUND: Threshold(Decimal("6"), False, f"{WALMART_STANDARDS}: Refund Rate < 6%"),
    },
    Channel.AMAZON: {
        # Late Shipment Rate under 4 %: on time at least 96 %.
        ON_TIME_SHIPMENT: Threshold(Decimal("96"), True, f"{AMAZON_ACCOUNT_HEALTH}: Late Shipment Rate < 4%"),
        VALID_TRACKING: Threshold(Decimal("95"), True, f"{AMAZON_ACCOUNT_HEALTH}: Valid Tracking Rate > 95%"),
        SELLER_CANCELLATION: Threshold(Decimal("2.5"), False,
                                       f"{AMAZON_ACCOUNT_HEALTH}: Pre-fulfillment Cancel Rate < 2.5%"),
        REFUND: None,  # Amazon publishes no refund-rate target (its Order Defect Rate counts claims instead)
    },
}
