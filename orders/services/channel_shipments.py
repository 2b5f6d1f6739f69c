"""Shipments the channel reports (R-ACC-5): one per package — a tracking number with its carrier,
and the units of each line in it — recorded once however often the order is imported.

A package is the shipment of the order with the same tracking number and carrier, whoever made
it: one sent from here comes back from Walmart as itself. Shipments made here are never changed.
Units may move between shipments the channel reported, and no row is ever deleted: imports before
packages were read put every package's units under the first tracking number, and importing the
order again sorts them into their packages. Shipments never hold more of an item than it shipped."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from channels.clients import ChannelOrder, TrackingInfo

from ..log import Initiator, LogEntry, Type
from ..models import Order, OrderItem, Shipment, ShipmentItem, SyncState

PackageKey = tuple[str, str]
UNTRACKED: PackageKey = ("", "")


def package_key(*, tracking_number: str, carrier: str) -> PackageKey:
    """Tracking numbers compared without spaces or case, carriers without case."""
    return "".join(tracking_number.split()).upper(), " ".join(carrier.split()).casefold()


@dataclass
class Package:
    tracking: TrackingInfo | None
    units: dict[str, int] = field(default_factory=dict)  # channel line id → units in the package


def channel_packages(channel_order: ChannelOrder) -> dict[PackageKey, Package]:
    """The order's packages in the order the channel lists them. A line's units in one package
    listed in several statuses (Shipped, Delivered) add up."""
    packages: dict[PackageKey, Package] = {}
    for line in channel_order.lines:
        for tracking in line.tracking:
            if not tracking.tracking_number or tracking.qty <= 0:
                continue
            key = package_key(tracking_number=tracking.tracking_number, carrier=tracking.carrier)
            package = packages.setdefault(key, Package(tracking))
            package.units[line.line_id] = package.units.get(line.line_id, 0) + tracking.qty
    return packages


@dataclass
class ShipmentWrites:
    """A page's shipment writes, made together once its items are saved."""

    new: list[Shipment] = field(default_factory=list)
    new_rows: list[ShipmentItem] = field(default_factory=list)
    changed_rows: dict[int, ShipmentItem] = field(default_factory=dict)  # by pk
    moved: list[tuple[ShipmentItem, Shipment]] = field(default_factory=list)  # rows going to a new shipment

    def write(self) -> None:
        Shipment.objects.bulk_create(self.new)
        for row, shipment in self.moved:
            row.shipment = shipment  # its pk, now that it has one
        for row in self.new_rows:
            row.shipment_id, row.order_item_id = row.shipment.pk, row.order_item.pk
        ShipmentItem.objects.bulk_create(self.new_rows)
        ShipmentItem.objects.bulk_update(list(self.changed_rows.values()), ["shipment", "qty"])


def order_shipments_from_channel(*, order: Order, channel_order: ChannelOrder, items: list[OrderItem],
                                 shipments: list[Shipment], newly_shipped: dict[str, int],
                                 writes: ShipmentWrites) -> list[LogEntry]:
    """Plan into `writes` the packages the order's shipments lack (`shipments` with their `items`
    prefetched; `items` with the quantities just applied). Units newly shipped that the channel
    puts in no package (Amazon reports no tracking) make one shipment without tracking. Returns
    one Order Log line per shipment added or completed: none when nothing is missing."""
    packages = channel_packages(channel_order)
    packaged: dict[str, int] = defaultdict(int)
    for package in packages.values():
        for line_id, qty in package.units.items():
            packaged[line_id] += qty
    untracked = {line.line_id: qty for line in channel_order.lines
                 if (qty := min(newly_shipped.get(line.line_id, 0), line.qty_shipped - packaged[line.line_id])) > 0}
    if not packages and not untracked:
        return []
    plan = _Plan(items=items, shipments=shipments, packages=packages, writes=writes,
                 channel_updated_at=channel_order.updated_at)
    channel = order.account.get_channel_display()
    entries = []
    for key, package in [*packages.items(), *([(UNTRACKED, Package(None, untracked))] if untracked else [])]:
        target, added, moved_from = plan.fill(order, key, package)
        if added:
            entries.append(_log_line(order, channel, target, package.tracking, added, moved_from))
    return entries


class _Plan:
    """The order's shipment rows by shipment and by line, and the units that may still be placed:
    those no shipment holds, and those a channel shipment holds beyond what its package has."""

    def __init__(self, *, items: list[OrderItem], shipments: list[Shipment], packages: dict[PackageKey, Package],
                 writes: ShipmentWrites, channel_updated_at: dt.datetime) -> None:
        self.writes = writes
        # A package the channel dates not (Amazon gives no ship date) shipped by the channel's last
        # change to the order at the latest: that, not the time we happened to import it.
        self.channel_updated_at = channel_updated_at
        self.items = {item.channel_line_id: item for item in items}
        line_of = {item.pk: item.channel_line_id for item in items if item.pk}
        self.rows: dict[int, list[ShipmentItem]] = {}  # id(shipment) → its rows
        self.shipment_of: dict[int, Shipment] = {}  # id(row) → its shipment
        self.line_of: dict[int, str] = {}  # id(row) → its item's line id
        self.groups: dict[PackageKey, list[Shipment]] = defaultdict(list)
        held: dict[str, int] = defaultdict(int)
        for shipment in shipments:
            self.groups[package_key(tracking_number=shipment.tracking_number, carrier=shipment.carrier)].append(shipment)
            self.rows[id(shipment)] = list(shipment.items.all())
            for row in self.rows[id(shipment)]:
                self.shipment_of[id(row)], self.line_of[id(row)] = shipment, line_of.get(row.order_item_id, "")
                held[self.line_of[id(row)]] += row.qty
        self.free = {line_id: max(item.qty_shipped - held[line_id], 0) for line_id, item in self.items.items()}
        self.spare: dict[str, list[list]] = defaultdict(list)  # line id → [[row, units beyond its package]]
        for key, package in packages.items():
            self._note_spare(self.groups.get(key, []), package)

    def _note_spare(self, group: list[Shipment], package: Package) -> None:
        """Operators' shipments count first toward the package; the channel's hold the rest."""
        ordered = sorted(group, key=lambda shipment: shipment.source != Shipment.Source.OPERATOR)
        left = dict(package.units)
        for shipment in ordered:
            for row in self.rows[id(shipment)]:
                line_id = self.line_of[id(row)]
                kept = min(row.qty, left.get(line_id, 0))
                left[line_id] = left.get(line_id, 0) - kept
                if row.qty > kept and shipment.source == Shipment.Source.CHANNEL:
                    self.spare[line_id].append([row, row.qty - kept])

    def fill(self, order: Order, key: PackageKey, package: Package) -> tuple[Shipment | None, list, list]:
        """Give the package's shipment the units it lacks, making it if needed. Returns the shipment,
        [(item, units)] it gained and the shipments units moved from."""
        group = [] if key == UNTRACKED else self.groups.get(key, [])
        if any(shipment.source == Shipment.Source.OPERATOR for shipment in group):
            return None, [], []  # sent from here: the channel's report of it changes nothing
        target = group[0] if group else self._new_shipment(order, package.tracking)
        added, moved_from = [], []
        for line_id, want in package.units.items():
            item = self.items.get(line_id)
            held = sum(row.qty for shipment in group for row in self.rows[id(shipment)] if self.line_of[id(row)] == line_id)
            if item is not None and want > held:
                given = self._give(target, item, want - held, moved_from)
                if given:
                    added.append((item, given))
        if not target.pk and not added:
            self.writes.new.remove(target)
        return target, added, moved_from

    def _give(self, target: Shipment, item: OrderItem, need: int, moved_from: list[Shipment]) -> int:
        line_id = item.channel_line_id
        row = next((r for r in self.rows[id(target)] if self.line_of[id(r)] == line_id), None)
        given = 0
        for entry in self.spare[line_id]:
            source, spare = entry
            take = min(spare, need - given)
            if take <= 0:
                continue
            origin = self.shipment_of[id(source)]
            if take < source.qty:
                source.qty -= take
                self.writes.changed_rows[source.pk] = source
                row = row or self._new_row(target, item)
                row.qty += take
            elif row is None:  # the whole row moves; its old shipment keeps its other rows
                self._move(source, target)
                row = source
            else:
                continue  # it would leave an empty row behind, and rows are never deleted
            entry[1] -= take
            given += take
            moved_from.append(origin)
        take = min(self.free.get(line_id, 0), need - given)
        if take > 0:
            self.free[line_id] -= take
            row = row or self._new_row(target, item)
            row.qty += take
            given += take
        if row is not None and row.pk:
            self.writes.changed_rows[row.pk] = row
        return given

    def _new_shipment(self, order: Order, tracking: TrackingInfo | None) -> Shipment:
        shipment = Shipment(
            order=order,
            source=Shipment.Source.CHANNEL,
            carrier=tracking.carrier[:64] if tracking else "",
            shipping_method=tracking.method[:64] if tracking else "",
            tracking_number=tracking.tracking_number[:128] if tracking else "",
            tracking_url=(tracking.tracking_url if tracking else "")[:500],
            shipped_at=tracking.shipped_at if tracking and tracking.shipped_at else self.channel_updated_at,
            sync_state=SyncState.OK,
        )
        self.writes.new.append(shipment)
        self.rows[id(shipment)] = []
        return shipment

    def _new_row(self, shipment: Shipment, item: OrderItem) -> ShipmentItem:
        row = ShipmentItem(shipment=shipment, order_item=item, qty=0)
        self._place(row, shipment, item.channel_line_id)
        self.writes.new_rows.append(row)
        return row

    def _move(self, row: ShipmentItem, target: Shipment) -> None:
        self.rows[id(self.shipment_of[id(row)])].remove(row)
        self._place(row, target, self.line_of[id(row)])
        if target.pk:
            row.shipment = target
        else:
            self.writes.moved.append((row, target))
        self.writes.changed_rows[row.pk] = row

    def _place(self, row: ShipmentItem, shipment: Shipment, line_id: str) -> None:
        self.rows[id(shipment)].append(row)
        self.shipment_of[id(row)], self.line_of[id(row)] = shipment, line_id


def _log_line(order: Order, channel: str, shipment: Shipment, tracking: TrackingInfo | None,
              added: list[tuple[OrderItem, int]], moved_from: list[Shipment]) -> LogEntry:
    units = ", ".join(f"{item.sku} × {qty}" for item, qty in added)
    package = f" ({tracking.carrier} {tracking.tracking_number})" if tracking else ""
    if shipment.pk:
        message = f"Shipment #{shipment.pk}{package} completed from {channel}: {units}."
    else:
        message = f"Shipment recorded from {channel}{package}: {units}."
    origins = {origin.pk: origin for origin in moved_from}
    if origins:
        message += " Moved from " + ", ".join(f"shipment #{pk} ({origin.carrier} {origin.tracking_number})"
                                              for pk, origin in origins.items()) + f", which {channel} reports without them."
    return LogEntry(order.pk, message, Type.SUCCESS, Initiator.CHANNEL)
