"""The one small interface every channel client implements, the plain records it speaks in, and
its errors. Nothing outside channels/ sees HTTP: callers get records and these exceptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

# -- records -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineState:
    """What the channel says about one of its own lines (used to verify an ambiguous action)."""

    qty_ordered: int
    qty_shipped: int = 0
    qty_canceled: int = 0
    refunded_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class ChannelLine:
    """One order item as the back-office keeps it. Walmart's duplicated single-unit lines of one SKU
    arrive merged here: `line_numbers` lists them shipped first, then open, then canceled."""

    line_id: str
    line_numbers: tuple[str, ...]
    sku: str
    title: str
    qty_ordered: int
    qty_shipped: int
    qty_canceled: int
    unit_price: Decimal
    tax: Decimal
    shipping_charge: Decimal
    status: str
    refunded_amount: Decimal = Decimal(0)
    buyer_cancel_requested: bool = False
    buyer_cancel_reason: str = ""
    tracking: tuple[TrackingInfo, ...] = ()


@dataclass(frozen=True)
class TrackingInfo:
    """One package of a line as the channel reports it; `qty` is how many of the line's units it
    holds (Walmart: the statusQuantity of the Shipped status carrying this trackingInfo)."""

    carrier: str
    method: str
    tracking_number: str
    tracking_url: str
    shipped_at: dt.datetime | None
    qty: int = 0


@dataclass(frozen=True)
class ChannelOrder:
    channel_order_id: str
    customer_order_id: str
    status: str
    is_acknowledged: bool
    is_paid: bool
    sale_date: dt.datetime
    updated_at: dt.datetime
    ship_by_date: dt.datetime | None
    buyer_name: str
    buyer_email: str
    buyer_phone: str
    shipping_address: dict
    shipping_method: str
    fulfillment: str  # "merchant" | "channel"
    currency: str
    lines: tuple[ChannelLine, ...]
    line_states: dict[str, LineState]
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def buyer_cancel_requested(self) -> bool:
        return any(line.buyer_cancel_requested for line in self.lines)


@dataclass(frozen=True)
class UnreadableOrder:
    """An order of a listing page that could not be read; kept aside so the rest of the page imports.
    `channel_order_id` is empty when the payload carries none."""

    channel_order_id: str
    raw: object
    reason: str


OrderPage = list["ChannelOrder | UnreadableOrder"]


@dataclass(frozen=True)
class LineQuantity:
    line_number: str
    qty: int


@dataclass(frozen=True)
class ShipmentRequest:
    lines: tuple[LineQuantity, ...]
    carrier: str
    method: str
    tracking_number: str
    tracking_url: str
    shipped_at: dt.datetime
    seller_order_id: str = ""
    is_update: bool = False  # resend: change tracking of lines already shipped
    # With is_update: the package's tracking number on the channel now, which names the package to
    # change where the channel has no id of ours for it (Walmart's currentTrackingInfo).
    current_tracking_number: str = ""
    package_reference: str = "1"  # the shipment's own id on channels that keep packages (Amazon)
    override_cancel_request: bool = False  # the operator chose to ship lines the buyer asked to cancel


@dataclass(frozen=True)
class CancelRequest:
    lines: tuple[LineQuantity, ...]
    reason: str


@dataclass(frozen=True)
class RefundLine:
    line_number: str
    qty: int
    amount: Decimal
    tax: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    return_line_number: int | None = None


@dataclass(frozen=True)
class RefundRequest:
    """A refund of shipped units; through the channel's return (RMA) when `return_order_id` is set."""

    lines: tuple[RefundLine, ...]
    reason: str
    comment: str = ""
    return_order_id: str = ""
    customer_order_id: str = ""
    idempotency_key: str = ""  # lets a channel that supports it apply a resent refund once


@dataclass(frozen=True)
class ReturnLine:
    """A returned line as the channel shows it. Walmart refunds a return by quantity and works the
    money out itself: each unit's price and tax (its `chargePerUnit` and `taxPerUnit`), and on the
    line's last returned units (`lastItem`) the cents the per-unit figures leave over (`excessCharge`,
    `excessTax`). None when the channel shows no per-unit figures."""

    return_line_number: int
    line_number: str
    qty: int
    qty_refunded: int
    unit_price: Decimal | None = None
    unit_tax: Decimal | None = None
    excess_price: Decimal = Decimal(0)
    excess_tax: Decimal = Decimal(0)
    last_item: bool = False


@dataclass(frozen=True)
class ChannelReturn:
    return_order_id: str
    channel_order_id: str
    status: str
    created_at: dt.datetime | None
    lines: tuple[ReturnLine, ...]
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ActionReceipt:
    """What the channel answered to a change: a reference and, when it sent one, the order.
    `pending` means the channel accepted it for later processing (Amazon feeds): its outcome is
    read with `submission_outcome(reference)`."""

    reference: str = ""
    order: ChannelOrder | None = None
    pending: bool = False


@dataclass(frozen=True)
class SubmissionOutcome:
    done: bool
    errors: tuple[str, ...] = ()


# -- errors ------------------------------------------------------------------------------------

class ChannelError(Exception):
    """Base of every client error. Messages never carry credentials or tokens."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class RetryableChannelError(ChannelError):
    """Throttled, server error or network trouble: try again later.

    `retry_after` is the wait the channel asked for (seconds) when it said so. `ambiguous` is true
    when the request may have been applied (timeout or dropped connection after sending, unreadable
    answer): the change must be verified by reading the order back before it is sent again."""

    def __init__(self, message: str, *, retry_after: float | None = None, ambiguous: bool = False, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class OrderUnreadable(ValueError):
    """One channel order cannot be read as an order; the message says why in plain words."""


class PermanentChannelError(ChannelError):
    """The channel refused the request (4xx with its message): retrying the same request won't help."""


class OrderNotFound(PermanentChannelError):
    pass


# -- the interface ------------------------------------------------------------------------------

class ChannelClient(Protocol):
    def iter_order_pages(
        self,
        *,
        modified_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
        created_until: dt.datetime | None = None,
        page_size: int = 100,
    ) -> Iterator[OrderPage]: ...

    def get_order(self, channel_order_id: str) -> ChannelOrder: ...

    def acknowledge(self, channel_order_id: str) -> ActionReceipt: ...

    def ship(self, channel_order_id: str, shipment: ShipmentRequest) -> ActionReceipt: ...

    def cancel(self, channel_order_id: str, cancellation: CancelRequest) -> ActionReceipt: ...

    def refund(self, channel_order_id: str, refund: RefundRequest) -> ActionReceipt: ...

    def iter_returns(self, *, modified_since: dt.datetime | None = None) -> Iterator[list[ChannelReturn]]: ...

    def submission_outcome(self, reference: str) -> SubmissionOutcome: ...

    def found_applied(self, channel_order: ChannelOrder,
                      change: ShipmentRequest | CancelRequest | RefundRequest | None) -> ActionReceipt:
        """The receipt of a change that a read-back (`channel_order`, read after an ambiguous failure)
        shows applied already: named as the change's own answer would have named it. `change`: the
        request that was sent (None: an acknowledgement)."""
        ...

    def close(self) -> None: ...


class ReadBackAnswers:
    """Stands in for a client when a read-back showed a change applied already: each change it is asked
    to make is answered, sending nothing, with the receipt the client builds from that read-back
    (`found_applied`) — so what the change is named by comes from the same request as a send."""

    def __init__(self, client: ChannelClient, channel_order: ChannelOrder) -> None:
        self._client, self._channel_order = client, channel_order

    def acknowledge(self, channel_order_id: str) -> ActionReceipt:
        return self._client.found_applied(self._channel_order, None)

    def ship(self, channel_order_id: str, shipment: ShipmentRequest) -> ActionReceipt:
        return self._client.found_applied(self._channel_order, shipment)

    def cancel(self, channel_order_id: str, cancellation: CancelRequest) -> ActionReceipt:
        return self._client.found_applied(self._channel_order, cancellation)

    def refund(self, channel_order_id: str, refund: RefundRequest) -> ActionReceipt:
        return self._client.found_applied(self._channel_order, refund)
