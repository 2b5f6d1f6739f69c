"""factory_boy factories for every model: used by the tests, the demo data and the benchmarks."""

import datetime as dt
import random
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from channels.models import Channel, ChannelAccount, Marketplace
from creditmemos.models import CreditMemo, CreditMemoItem
from orders.models import (
    BulkJob,
    ChannelAction,
    Fulfillment,
    Invoice,
    Order,
    OrderItem,
    OrderLog,
    OrderReturn,
    OrderReturnLine,
    OrderStatus,
    Product,
    Shipment,
    ShipmentItem,
)
from orders.status import derive_status

CARRIERS = ["UPS", "USPS", "FedEx", "DHL"]


class MarketplaceFactory(DjangoModelFactory):
    class Meta:
        model = Marketplace
        django_get_or_create = ("channel", "code")

    channel = Channel.WALMART
    code = "US"
    name = "Walmart US"
    currency = "USD"


class AmazonMarketplaceFactory(MarketplaceFactory):
    channel = Channel.AMAZON
    code = "ATVPDKIKX0DER"
    name = "Amazon.com (US)"


class ChannelAccountFactory(DjangoModelFactory):
    class Meta:
        model = ChannelAccount
        skip_postgeneration_save = True

    channel = Channel.WALMART
    title = factory.Sequence(lambda n: f"Walmart account {n}")
    marketplace = factory.SubFactory(MarketplaceFactory)
    base_url = "http://127.0.0.1:8100"
    seller_id = factory.Sequence(lambda n: f"SELLER{n:04d}")

    @factory.post_generation
    def credentials(account, create, extracted, **kwargs):
        values = extracted or {"client_id": f"client-{account.title}", "client_secret": "s3cr3t-walmart-client-secret"}
        account.set_credentials(**values)
        if create:
            account.save(update_fields=["encrypted_credentials"])


class AmazonAccountFactory(ChannelAccountFactory):
    channel = Channel.AMAZON
    title = factory.Sequence(lambda n: f"Amazon account {n}")
    marketplace = factory.SubFactory(AmazonMarketplaceFactory)


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    stock_qty = 100


class OrderFactory(DjangoModelFactory):
    """A channel order in its initial state (Walmart Created / Amazon Unshipped); items separately,
    or use `create_order` for an order with items in a given status."""

    class Meta:
        model = Order

    account = factory.SubFactory(ChannelAccountFactory)
    marketplace = factory.SelfAttribute("account.marketplace")
    channel = factory.SelfAttribute("account.channel")
    channel_order_id = factory.Sequence(lambda n: f"{1800000000000 + n}")
    customer_order_id = factory.Sequence(lambda n: f"{5200000000000 + n}")
    status = factory.LazyAttribute(
        lambda o: OrderStatus.CREATED if o.channel == Channel.WALMART else OrderStatus.UNSHIPPED
    )
    channel_status = factory.LazyAttribute(lambda o: "Created" if o.channel == Channel.WALMART else "Unshipped")
    buyer_name = factory.Faker("name")
    buyer_email = factory.LazyAttribute(lambda o: f"{o.buyer_name.lower().replace(' ', '.')}@example.com")
    buyer_phone = factory.Faker("numerify", text="555#######")
    shipping_address = factory.LazyAttribute(
        lambda o: {
            "name": o.buyer_name,
            "address1": "3258 Warners Rd",
            "city": "Warners",
            "state": "NY",
            "postalCode": "13164",
            "country": "USA",
        }
    )
    shipping_method = "Standard"
    sale_date = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=random.randint(1, 24 * 60)))
    ship_by_date = factory.LazyAttribute(lambda o: o.sale_date + dt.timedelta(days=3))
    currency = factory.SelfAttribute("marketplace.currency")
    fulfillment = Fulfillment.MERCHANT


class OrderItemFactory(DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    channel_line_id = factory.Sequence(lambda n: str(n + 1))
    channel_line_numbers = factory.LazyAttribute(lambda o: [o.channel_line_id])
    sku = factory.Sequence(lambda n: f"SKU-{n % 50:05d}")
    title = factory.Faker("catch_phrase")
    qty_ordered = 1
    unit_price = factory.LazyFunction(lambda: Decimal(random.randint(500, 9999)) / 100)
    tax = factory.LazyAttribute(lambda o: (o.unit_price * o.qty_ordered * Decimal("0.08")).quantize(Decimal("0.01")))
    shipping_charge = Decimal("2.00")


class ShipmentFactory(DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    carrier = factory.Iterator(CARRIERS)
    shipping_method = "Standard"
    tracking_number = factory.Sequence(lambda n: f"1Z{n:016d}")
    shipped_at = factory.LazyFunction(timezone.now)


class ShipmentItemFactory(DjangoModelFactory):
    class Meta:
        model = ShipmentItem

    shipment = factory.SubFactory(ShipmentFactory)
    order_item = factory.SubFactory(OrderItemFactory, order=factory.SelfAttribute("..shipment.order"))
    qty = 1


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = Invoice

    order = factory.SubFactory(OrderFactory)
    number = factory.Sequence(lambda n: f"{200000001 + n}")
    amount = factory.SelfAttribute("order.grand_total")


class OrderLogFactory(DjangoModelFactory):
    class Meta:
        model = OrderLog

    order = factory.SubFactory(OrderFactory)
    message = "Order imported."


class CreditMemoFactory(DjangoModelFactory):
    class Meta:
        model = CreditMemo

    order = factory.SubFactory(OrderFactory)
    reason = "CustomerChangedMind"


class CreditMemoItemFactory(DjangoModelFactory):
    class Meta:
        model = CreditMemoItem

    credit_memo = factory.SubFactory(CreditMemoFactory)
    order_item = factory.SubFactory(OrderItemFactory, order=factory.SelfAttribute("..credit_memo.order"))
    action = CreditMemoItem.Action.REFUND
    qty = 1


class ChannelActionFactory(DjangoModelFactory):
    class Meta:
        model = ChannelAction

    order = factory.SubFactory(OrderFactory)
    account = factory.SelfAttribute("order.account")
    kind = ChannelAction.Kind.ACKNOWLEDGE
    description = "Acknowledge"
    next_attempt_at = factory.LazyFunction(timezone.now)
    idempotency_key = factory.Faker("uuid4", cast_to=None)


class OrderReturnFactory(DjangoModelFactory):
    class Meta:
        model = OrderReturn

    order = factory.SubFactory(OrderFactory)
    return_order_id = factory.Sequence(lambda n: f"{70000000000 + n}")
    status = "REFUND_PENDING"


class OrderReturnLineFactory(DjangoModelFactory):
    class Meta:
        model = OrderReturnLine

    order_return = factory.SubFactory(OrderReturnFactory)
    order_item = factory.SubFactory(OrderItemFactory, order=factory.SelfAttribute("..order_return.order"))
    return_line_number = factory.Sequence(lambda n: n + 1)
    channel_line_number = factory.SelfAttribute("order_item.channel_line_id")
    qty = 1


class BulkJobFactory(DjangoModelFactory):
    class Meta:
        model = BulkJob

    action = "create_store_order"
    label = "Create Store Order"
    order_ids = factory.LazyFunction(list)
    total = factory.LazyAttribute(lambda job: len(job.order_ids))


# -- orders in a given status, consistent with their lines (SPEC §4) ------------------------------

CHANNEL_STATUS = {
    (Channel.WALMART, OrderStatus.CREATED): "Created",
    (Channel.WALMART, OrderStatus.UNSHIPPED): "Acknowledged",
    (Channel.WALMART, OrderStatus.PARTIALLY_SHIPPED): "Acknowledged",
    (Channel.WALMART, OrderStatus.SHIPPED): "Shipped",
    (Channel.WALMART, OrderStatus.CANCELED): "Cancelled",
    (Channel.AMAZON, OrderStatus.PENDING): "Pending",
    (Channel.AMAZON, OrderStatus.UNSHIPPED): "Unshipped",
    (Channel.AMAZON, OrderStatus.PARTIALLY_SHIPPED): "PartiallyShipped",
    (Channel.AMAZON, OrderStatus.SHIPPED): "Shipped",
    (Channel.AMAZON, OrderStatus.CANCELED): "Canceled",
    (Channel.AMAZON, OrderStatus.UNFULFILLABLE): "Unfulfillable",
    (Channel.AMAZON, OrderStatus.INVOICE_UNCONFIRMED): "InvoiceUnconfirmed",
}
STATUSES_BY_CHANNEL = {
    channel: [status for (ch, status) in CHANNEL_STATUS if ch == channel] for channel in Channel.values
}


def _shape_lines(items: list[OrderItem], status: str) -> None:
    for index, item in enumerate(items):
        if status == OrderStatus.SHIPPED or (status == OrderStatus.PARTIALLY_SHIPPED and index == 0):
            item.qty_shipped = item.qty_ordered
        elif status == OrderStatus.CANCELED:
            item.qty_canceled = item.qty_ordered


def build_order(
    *,
    account: ChannelAccount,
    status: str,
    n_items: int = 3,
    products: list[Product] | None = None,
    **order_fields,
) -> tuple[Order, list[OrderItem]]:
    """An unsaved order and its lines in `status`, with totals that add up (for bulk_create)."""
    channel = account.channel
    order = OrderFactory.build(
        account=account,
        status=status,
        channel_status=CHANNEL_STATUS[(channel, status)],
        is_paid=status != OrderStatus.PENDING,
        acknowledged_at=None if status in (OrderStatus.CREATED, OrderStatus.PENDING) else timezone.now(),
        **order_fields,
    )
    if status == OrderStatus.PARTIALLY_SHIPPED:
        n_items = max(n_items, 2)
    items = []
    for line in range(1, n_items + 1):
        product = random.choice(products) if products else None
        item = OrderItemFactory.build(
            order=order,
            channel_line_id=str(line) if channel == Channel.WALMART else f"{random.randint(10**13, 10**14 - 1)}",
            qty_ordered=random.randint(1, 3),
            **({"sku": product.sku, "title": product.name, "product": product} if product else {}),
        )
        item.channel_line_numbers = [item.channel_line_id]
        items.append(item)
    _shape_lines(items, status)
    order.subtotal = sum((item.unit_price * item.qty_ordered for item in items), Decimal("0"))
    order.tax_total = sum((item.tax for item in items), Decimal("0"))
    order.shipping_total = sum((item.shipping_charge for item in items), Decimal("0"))
    order.grand_total = order.subtotal + order.tax_total + order.shipping_total
    derived = derive_status(
        channel=channel,
        lines=items,
        is_acknowledged=order.acknowledged_at is not None,
        is_paid=order.is_paid,
        channel_status=order.channel_status,
    )
    assert derived == status, f"factory built {derived} for {status}"
    return order, items


def create_order(*, account: ChannelAccount | None = None, status: str | None = None, **kwargs) -> Order:
    """A saved order with items in `status` (default: the channel's first status)."""
    account = account or ChannelAccountFactory()
    status = status or (OrderStatus.CREATED if account.channel == Channel.WALMART else OrderStatus.UNSHIPPED)
    order, items = build_order(account=account, status=status, **kwargs)
    order.save()
    for item in items:
        item.order = order
    OrderItem.objects.bulk_create(items)
    return order
