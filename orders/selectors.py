"""Reads of orders: the grid, the detail page and the CSV export share these."""

from collections.abc import Mapping

from django.db.models import Prefetch, QuerySet

from .filters import OrderFilterSet
from .models import Order, OrderItem, OrderLog, Shipment


def order_grid_queryset() -> QuerySet[Order]:
    """Orders with what every grid row shows, in a fixed number of queries per page."""
    return Order.objects.select_related("account", "marketplace").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product").order_by("pk"))
    )


def order_list(*, filters: Mapping | None = None, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders matching the grid filters (invalid filter values are ignored, as on the grid)."""
    base = order_grid_queryset() if queryset is None else queryset
    return OrderFilterSet(data=filters or None, queryset=base).qs


def order_detail(*, order_id: int) -> Order:
    return (
        Order.objects.select_related("account", "marketplace", "invoice")
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.select_related("product").order_by("pk")),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.prefetch_related("items__order_item").order_by("shipped_at", "pk"),
            ),
            Prefetch("logs", queryset=OrderLog.objects.select_related("user").order_by("-created_at", "-pk")),
            "credit_memos__items__order_item",
            "returns__lines__order_item",
        )
        .get(pk=order_id)
    )
