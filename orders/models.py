from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from channels.models import Channel, ChannelAccount, Marketplace


class ChannelJSONField(models.JSONField):
    """JSON that accepts channel data as parsed (Decimal amounts).

    It also keeps PostgreSQL bulk inserts on plain VALUES: Django 5.2 sends bulk inserts as UNNEST
    of text arrays, and psycopg escapes JSON inside a text array character by character, which
    made imports several times slower. A field with get_placeholder opts its table out of UNNEST.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("encoder", DjangoJSONEncoder)
        super().__init__(*args, **kwargs)

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"


class OrderStatus(models.TextChoices):
    """What the grid shows (SPEC §4). Derived in orders.status, never set by hand."""

    PENDING = "pending", "Pending"  # Amazon: not paid yet
    CREATED = "created", "Created"  # Walmart: imported, not acknowledged
    UNSHIPPED = "unshipped", "Unshipped"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially Shipped"
    SHIPPED = "shipped", "Shipped"  # stays Shipped after a refund (R-CM-5)
    CANCELED = "canceled", "Canceled"
    UNFULFILLABLE = "unfulfillable", "Unfulfillable"  # Amazon value kept visible
    INVOICE_UNCONFIRMED = "invoice_unconfirmed", "Invoice Unconfirmed"  # Amazon value kept visible


class SyncState(models.TextChoices):
    """Where the order's channel actions stand (R-SYNC-3)."""

    OK = "ok", "In sync"
    PENDING = "pending", "Waiting for channel"
    ERROR = "error", "Error"


class Fulfillment(models.TextChoices):
    MERCHANT = "merchant", "Merchant"
    CHANNEL = "channel", "Channel-fulfilled"


class Product(models.Model):
    """The store product a channel SKU links to; restock and reservations move its stock."""

    sku = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=255)
    stock_qty = models.IntegerField(default=0, help_text="On hand.")
    reserved_qty = models.IntegerField(default=0, help_text="Held by store orders not shipped yet.")

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(stock_qty__gte=0), name="product_stock_qty_non_negative"),
            models.CheckConstraint(condition=Q(reserved_qty__gte=0), name="product_reserved_qty_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.name}"

    @property
    def available_qty(self) -> int:
        return self.stock_qty - self.reserved_qty


class Order(models.Model):
    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="orders")
    marketplace = models.ForeignKey(Marketplace, on_delete=models.PROTECT, related_name="orders")
    # Copied from the account so the grid filters on an indexed column of this table.
    channel = models.CharField(max_length=16, choices=Channel.choices)
    channel_order_id = models.CharField(
        "channel order #", max_length=64, help_text="Walmart purchaseOrderId / Amazon AmazonOrderId."
    )
    customer_order_id = models.CharField("customer order #", max_length=64, blank=True)

    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.CREATED)
    channel_status = models.CharField(max_length=32, blank=True, help_text="The status as the channel last sent it.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    is_paid = models.BooleanField(default=True)
    buyer_cancel_requested = models.BooleanField(
        default=False, help_text="Some line has a buyer cancellation request (kept in step with the items)."
    )
    fulfillment = models.CharField(max_length=16, choices=Fulfillment.choices, default=Fulfillment.MERCHANT)

    buyer_name = models.CharField(max_length=255, blank=True)
    buyer_email = models.CharField(max_length=255, blank=True)
    buyer_phone = models.CharField(max_length=64, blank=True)
    shipping_address = ChannelJSONField(default=dict, blank=True)
    shipping_method = models.CharField(max_length=64, blank=True)

    sale_date = models.DateTimeField()
    ship_by_date = models.DateTimeField(null=True, blank=True)
    channel_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="Last-modified time of the channel data applied to this order."
    )
    channel_read_at = models.DateTimeField(null=True, blank=True,
                                           help_text="When an import last applied the channel's data to this order.")

    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    grand_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    adjustment_fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    refunded_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    store_order_number = models.CharField("store order #", max_length=32, null=True, blank=True, unique=True)
    store_order_created_at = models.DateTimeField(null=True, blank=True)

    sync_state = models.CharField(max_length=8, choices=SyncState.choices, default=SyncState.OK)
    sync_error = models.TextField(blank=True)

    raw_payload = ChannelJSONField(default=dict, blank=True, help_text="The channel's last payload, for support.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sale_date", "-id"]
        # Names fit auth's original 50 characters, so `migrate auth zero` can shorten the column back.
        permissions = [
            ("operate_order", "Can run order actions: store order, ship, cancel"),
            ("refund_order", "Can create credit memos (refunds on the channel)"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "channel_order_id"], name="order_account_channel_order_uniq"),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(shipping_total__gte=0)
                & Q(tax_total__gte=0)
                & Q(grand_total__gte=0)
                & Q(adjustment_fee__gte=0),
                name="order_money_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("grand_total")),
                name="order_refunded_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(ship_by_date__isnull=True) | Q(ship_by_date__gte=F("sale_date")),
                name="order_ship_by_not_before_sale",
            ),
            models.CheckConstraint(
                condition=Q(store_order_number__isnull=True, store_order_created_at__isnull=True)
                | Q(store_order_number__isnull=False, store_order_created_at__isnull=False),
                name="order_store_order_number_and_time_together",
            ),
        ]
        # One index per grid filter and sort (R-GRID-2), each ending in the default sort.
        indexes = [
            models.Index(F("sale_date").desc(), F("id").desc(), name="order_sale_date_idx"),
            models.Index(F("ship_by_date").desc(), F("id").desc(), name="order_ship_by_idx"),
            models.Index(F("account"), F("sale_date").desc(), name="order_account_sale_idx"),
            models.Index(F("marketplace"), F("sale_date").desc(), name="order_marketplace_sale_idx"),
            models.Index(F("channel"), F("sale_date").desc(), name="order_channel_sale_idx"),
            models.Index(F("status"), F("sale_date").desc(), name="order_status_sale_idx"),
            models.Index(F("sync_state"), F("sale_date").desc(), name="order_sync_state_sale_idx"),
            models.Index(F("fulfillment"), F("sale_date").desc(), name="order_fulfillment_sale_idx"),
            models.Index(
                F("sale_date").desc(),
                name="order_no_store_order_idx",
                condition=Q(store_order_number__isnull=True),
            ),
            models.Index(
                F("sale_date").desc(), name="order_buyer_cancel_idx", condition=Q(buyer_cancel_requested=True)
            ),
            # Pattern ops serve both = and the prefix search (LIKE 'x%') whatever the database collation.
            models.Index(fields=["channel_order_id"], name="order_channel_order_id_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["customer_order_id"], name="order_customer_order_id_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["buyer_email"], name="order_buyer_email_idx", opclasses=["varchar_pattern_ops"]),
            # The cockpit's deadlines (cockpit.selectors) and the grid's "To ship" filter: the few orders
            # still waiting to be shipped by the merchant, by account and ship-by date.
            models.Index(
                F("account"), F("ship_by_date"), name="order_to_ship_idx",
                condition=Q(status__in=["created", "unshipped", "partially_shipped"], fulfillment="merchant"),
            ),
            models.Index(F("account"), F("sale_date").desc(), name="order_refunded_idx",
                         condition=Q(refunded_total__gt=0)),
            models.Index(F("account"), name="order_sync_error_account_idx", condition=Q(sync_state="error")),
        ]

    def __str__(self) -> str:
        return self.channel_order_id

    @property
    def has_store_order(self) -> bool:
        return self.store_order_number is not None

    @property
    def refundable_total(self) -> Decimal:
        return self.grand_total - self.refunded_total


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    channel_line_id = models.CharField(
        max_length=64, help_text="Walmart: first line number of the merged lines; Amazon: OrderItemId."
    )
    channel_line_numbers = ChannelJSONField(
        default=list, blank=True, help_text="Walmart can split one SKU into several single-unit lines; all of them."
    )
    sku = models.CharField(max_length=100)
    title = models.CharField(max_length=255, blank=True)
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="order_items")

    qty_ordered = models.PositiveIntegerField()
    qty_shipped = models.PositiveIntegerField(default=0)
    qty_canceled = models.PositiveIntegerField(default=0)
    qty_refunded = models.PositiveIntegerField(default=0)
    qty_reserved = models.PositiveIntegerField(default=0, help_text="Units held on the linked product.")

    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"), help_text="For the whole line.")
    shipping_charge = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    channel_line_status = models.CharField(max_length=32, blank=True)
    buyer_cancel_requested = models.BooleanField(default=False)
    buyer_cancel_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "channel_line_id"], name="order_item_line_uniq"),
            models.CheckConstraint(condition=Q(qty_ordered__gt=0), name="order_item_qty_ordered_positive"),
            models.CheckConstraint(
                condition=Q(qty_shipped__lte=F("qty_ordered") - F("qty_canceled")),
                name="order_item_shipped_canceled_within_ordered",
            ),
            models.CheckConstraint(
                condition=Q(qty_refunded__lte=F("qty_ordered") - F("qty_canceled")),
                name="order_item_refunded_canceled_within_ordered",
            ),
            models.CheckConstraint(
                condition=Q(qty_reserved__lte=F("qty_ordered")), name="order_item_reserved_within_ordered"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(tax__gte=0) & Q(shipping_charge__gte=0) & Q(refunded_amount__gte=0),
                name="order_item_money_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["sku"], name="order_item_sku_idx"),
            # The grid's search, the start of a SKU in any case: UPPER(sku) LIKE 'ABC%'. On PostgreSQL
            # the index has text_pattern_ops (migration 0027), so a prefix is a range of it whatever the
            # collation; SQLite has no operator classes.
            models.Index(Upper("sku"), name="order_item_sku_upper_idx"),
            # Seller-caused cancellations (the cockpit's cancellation rate and its grid filter).
            models.Index(fields=["order"], name="order_item_seller_cancel_idx",
                         condition=Q(qty_canceled__gt=0, buyer_cancel_requested=False)),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.qty_ordered}"

    @property
    def row_total(self) -> Decimal:
        return self.unit_price * self.qty_ordered + self.tax

    @property
    def qty_open(self) -> int:
        """Units neither shipped nor canceled."""
        return self.qty_ordered - self.qty_shipped - self.qty_canceled


class Shipment(models.Model):
    class Source(models.TextChoices):
        OPERATOR = "operator", "Sent by us"
        CHANNEL = "channel", "Reported by the channel"  # reported shipped by the channel (R-ACC-5): not sent back

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OPERATOR)
    carrier = models.CharField(max_length=64, blank=True)
    shipping_method = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=128, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    shipped_at = models.DateTimeField()
    sync_state = models.CharField(max_length=8, choices=SyncState.choices, default=SyncState.OK)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Withdrawn by an operator before the channel accepted it: its units are open again. Kept as history.")

    STANDING = Q(withdrawn_at__isnull=True)  # shipments that hold their units (not withdrawn)

    class Meta:
        ordering = ["order", "shipped_at", "id"]
        indexes = [
            models.Index(Upper("tracking_number"), name="shipment_tracking_upper_idx"),
            # The cockpit's on-time shipment rate and time to ship read each order's shipment times.
            models.Index(fields=["order", "shipped_at"], name="shipment_order_shipped_idx"),
            # Shipments without valid tracking (the cockpit's valid tracking rate and its grid filter).
            models.Index(fields=["order"], name="shipment_tracking_problem_idx",
                         condition=Q(tracking_number="") | Q(sync_state="error")),
        ]

    @property
    def reported_by_channel(self) -> bool:
        return self.source == self.Source.CHANNEL

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}".strip() or f"Shipment {self.pk}"


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="shipment_items")
    qty = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="shipment_item_qty_positive"),
            models.UniqueConstraint(fields=["shipment", "order_item"], name="shipment_item_line_uniq"),
        ]


class Invoice(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="invoice")
    number = models.CharField(max_length=32, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.number


class NumberSequence(models.Model):
    """Counters for store order and invoice numbers; bumped with an UPDATE so concurrent callers queue."""

    name = models.CharField(max_length=32, primary_key=True)
    last_value = models.BigIntegerField(default=0)


class OrderLog(models.Model):
    """Append-only history of an order (R-GRID-4/5). Written only through orders.log."""

    class Type(models.TextChoices):
        NOTICE = "notice", "Notice"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    class Initiator(models.TextChoices):
        USER = "user", "Manual"
        SYSTEM = "system", "Automatic"
        CHANNEL = "channel", "Channel"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="logs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.NOTICE)
    initiator = models.CharField(max_length=8, choices=Initiator.choices, default=Initiator.SYSTEM)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(F("created_at").desc(), name="order_log_created_idx"),
            models.Index(F("order"), F("created_at").desc(), name="order_log_order_created_idx"),
            models.Index(F("type"), F("created_at").desc(), name="order_log_type_created_idx"),
        ]

    def __str__(self) -> str:
        return self.message[:80]


class ChannelAction(models.Model):
    """The outbox (SPEC §6): one change to send to a channel, written in the same transaction as the
    local change and carried out by a worker. The payload carries everything the call sends, so the
    row alone is enough to send it again, or to check whether it landed."""

    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "Acknowledge"
        SHIP = "ship", "Ship"
        CANCEL = "cancel", "Cancel"
        REFUND = "refund", "Refund"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_FLIGHT = "in_flight", "In flight"
        SUBMITTED = "submitted", "Submitted"  # accepted by an asynchronous channel (Amazon feeds)
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        # Closed by an operator before the channel took it: its shipment withdrawn, or replaced by a
        # corrected one. Never sent again, never claimed (a worker claims pending actions only).
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Lane(models.TextChoices):
        # Someone is waiting for it: an operator's click. Claimed before any bulk action.
        INTERACTIVE = "interactive", "Interactive"
        # Bulk actions and the import's automation; claimed fairly between accounts.
        BULK = "bulk", "Bulk or automatic"

    OPEN_STATES = (State.PENDING, State.IN_FLIGHT, State.SUBMITTED)
    BLOCKING_STATES = (State.PENDING, State.IN_FLIGHT, State.SUBMITTED, State.FAILED)
    # Still being retried after a failed attempt: not settled, tried, and the channel's last answer an
    # error (a submitted feed clears it; a fresh action, or one an operator retried, has no attempt yet).
    # The order grid's "attempt 2 of 6 failed, trying again" and the account's sync health read it.
    RETRYING = Q(state__in=OPEN_STATES, attempts__gt=0) & ~Q(last_error="")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="channel_actions")
    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="channel_actions")
    shipment = models.ForeignKey(Shipment, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions")
    bulk_job = models.ForeignKey(
        "BulkJob", on_delete=models.PROTECT, null=True, blank=True, related_name="actions", db_index=False,
        help_text="The bulk job that queued it: the job is done once its actions are settled.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=255, help_text="What the Order Log calls this action.")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    lane = models.CharField(max_length=12, choices=Lane.choices, default=Lane.INTERACTIVE)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=6)
    attempts_before_retry = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Attempts made before an operator's retry started the count again.")
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    needs_verification = models.BooleanField(
        default=False, help_text="An earlier attempt may have landed: read the order back before sending again."
    )
    idempotency_key = models.UUIDField(unique=True)
    claim_token = models.UUIDField(
        null=True, blank=True, editable=False,
        help_text="The current claim's fencing token: a worker whose token is gone may not send or write.",
    )
    last_error = models.TextField(blank=True)
    channel_reference = models.CharField(max_length=128, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # What is due, not the whole history: these stay small however many actions are settled.
            models.Index(fields=["next_attempt_at", "id"], name="action_due_interactive_idx",
                         condition=Q(state="pending", lane="interactive")),
            models.Index(fields=["account", "next_attempt_at", "id"], name="action_due_bulk_idx",
                         condition=Q(state="pending", lane="bulk")),
            models.Index(fields=["next_attempt_at"], name="action_submitted_due_idx", condition=Q(state="submitted")),
            models.Index(fields=["lease_expires_at"], name="action_in_flight_idx", condition=Q(state="in_flight")),
            models.Index(fields=["order", "state"], name="action_order_state_idx"),
            models.Index(fields=["account", "state"], name="action_account_state_idx"),
            models.Index(fields=["bulk_job", "state"], name="action_bulk_job_state_idx"),
            # The support list filtered by a rare kind, newest first: without it PostgreSQL walks every
            # action ever sent to find none (1.6 s at 2,000,000). Acknowledge and ship are most of the
            # table, so their rows are found at once without an index.
            models.Index(fields=["id"], name="action_rare_kind_idx", condition=Q(kind__in=["cancel", "refund"])),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(attempts__lte=F("max_attempts")), name="action_attempts_within_max"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_id} ({self.get_state_display()})"

    @property
    def is_retrying(self) -> bool:
        """RETRYING, for an action already read."""
        return self.state in self.OPEN_STATES and self.attempts > 0 and self.last_error != ""


class BulkJob(models.Model):
    """A bulk action from the grid (R-GRID-3): a large selection run by a worker, its row the progress
    bar, or a small one run at once in the request and recorded here finished. It is finished only
    once the channel actions it queued are settled: Done when the channel confirmed every one, Finished
    with failures when it refused some (a job whose every call failed never reads Done)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for the channel"
        DONE = "done", "Done"
        SOME_FAILED = "refused", "Finished, some failed on the channel"
        FAILED = "failed", "Failed"

    SETTLED_STATES = (State.DONE, State.SOME_FAILED)

    action = models.CharField(max_length=32)
    label = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    order_ids = models.JSONField(default=list, blank=True)
    filters = models.JSONField(
        null=True, blank=True,
        help_text="The grid filters it acts on when every matching order was selected (resolved by the worker).",
    )
    last_order_id = models.BigIntegerField(default=0, help_text="Orders up to this id are done (filter jobs).")
    selected_up_to_id = models.BigIntegerField(
        null=True, blank=True,
        help_text="Filter jobs: the newest order the filters matched when the operator confirmed; orders that "
        "came later are not part of the job.")
    total = models.PositiveIntegerField()
    # What the operator was told before confirming, and what a filter job found when it started: the
    # job's page says how many it took and why that differs (bulk_job_count_note).
    shown_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="The orders the confirmation page said the job would act on.")
    shown_as_estimate = models.BooleanField(
        default=False, help_text="That count was the database's estimate (a large selection).")
    counted_at_start = models.PositiveIntegerField(
        null=True, blank=True, help_text="Filter jobs: the orders the filters matched when the worker started.")
    processed = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True, help_text="Reason → count.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(processed__lte=F("total")), name="bulk_job_processed_within_total"),
        ]

    def __str__(self) -> str:
        return f"{self.label} on {self.size_in_words}"

    @property
    def counted(self) -> bool:
        """A "select all" job counts the orders its filters match when a worker starts it."""
        return not (self.filters is not None and not self.total and self.state == self.State.QUEUED)

    @property
    def size_in_words(self) -> str:
        if not self.counted:
            return "the orders the filters match (counted when it starts)"
        return f"{self.total} order{'' if self.total == 1 else 's'}"


class OrderReturn(models.Model):
    """A return (RMA) opened on the channel (Walmart Returns API), linked to the order's lines."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns")
    return_order_id = models.CharField(max_length=64)
    status = models.CharField(max_length=32, blank=True)
    created_on_channel = models.DateTimeField(null=True, blank=True)
    raw_payload = ChannelJSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "return_order_id"], name="order_return_uniq"),
        ]

    def __str__(self) -> str:
        return f"Return {self.return_order_id}"


class OrderReturnLine(models.Model):
    order_return = models.ForeignKey(OrderReturn, on_delete=models.CASCADE, related_name="lines")
    order_item = models.ForeignKey(OrderItem, on_delete=models.CASCADE, related_name="return_lines")
    return_line_number = models.PositiveIntegerField()
    channel_line_number = models.CharField(max_length=32)
    qty = models.PositiveIntegerField()
    qty_refunded = models.PositiveIntegerField(default=0)
    # What the channel refunds a returned unit and the line's last item (channels.clients.ReturnLine):
    # the channel's figures, imported, so a memo books what the return will refund.
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    unit_tax = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    excess_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    excess_tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    last_item = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order_return", "return_line_number"], name="order_return_line_uniq"),
            models.CheckConstraint(condition=Q(qty_refunded__lte=F("qty")), name="order_return_line_refunded_within_qty"),
        ]


class ImportProblem(models.Model):
    """A channel order the import could not read or store (issue 8 §1): kept aside with the reason
    while the rest imports, resolved by itself when a readable version of the order imports."""

    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.PROTECT, related_name="import_problems")
    channel_order_id = models.CharField("channel order #", max_length=255, blank=True,
                                        help_text="Empty when the channel's payload carries none.")
    fingerprint = models.CharField(max_length=64, help_text="The order id, or the payload when it has none (hashed).")
    raw_payload = models.TextField(help_text="The order as the channel sent it (JSON, non-ASCII escaped).")
    error = models.TextField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    times_seen = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "fingerprint"], name="import_problem_account_fingerprint_uniq"),
        ]
        indexes = [
            models.Index(fields=["account", "channel_order_id"], condition=Q(resolved_at__isnull=True),
                         name="import_problem_open_idx"),
        ]

    def __str__(self) -> str:
        return f"Import problem {self.channel_order_id or '(no order id)'}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class TaskHandoff(models.Model):
    """Work handed to Celery (an import, a reimport, a bulk job), saved before it is sent, so a
    broker that is down loses nothing: the sweep sends what was never delivered (orders.handoff)."""

    task = models.CharField(max_length=100)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="task_handoff_unsent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class OrderLogArchive(models.Model):
    """Order Log lines older than the retention period, moved out of the working table so its lists
    stay fast for years (orders.services.retention). Still the order's history: the order page
    shows them with the rest. Nothing is deleted."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="archived_logs")
    created_at = models.DateTimeField()
    type = models.CharField(max_length=8, choices=OrderLog.Type.choices)
    initiator = models.CharField(max_length=8, choices=OrderLog.Initiator.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    message = models.TextField()
    archived_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(F("order"), F("created_at").desc(), name="order_log_archive_order_idx")]

    def __str__(self) -> str:
        return self.message[:80]


class ChannelActionArchive(models.Model):
    """Channel actions that succeeded longer ago than the retention period, moved out of the outbox
    (what it sent, when, and what the channel answered). Failed actions are never archived: they
    are an order's Error until someone retries them."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="archived_actions")
    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=ChannelAction.Kind.choices)
    description = models.CharField(max_length=255)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField()
    idempotency_key = models.UUIDField(unique=True)
    channel_reference = models.CharField(max_length=128, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "created_at"], name="action_archive_order_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_id} (archived)"


class CsvExport(models.Model):
    """A large CSV export of the grid, written in the background to a file the admin downloads once
    it is ready (orders.services.csv_exports). The file expires; this row, saying who exported
    what and when, stays."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Writing"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    filters = models.JSONField(default=dict, blank=True, help_text="The grid's filters when it was asked for.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "CSV export"
        indexes = [models.Index(fields=["expires_at"], condition=Q(state="ready"), name="csv_export_expiry_idx")]

    def __str__(self) -> str:
        return f"CSV export #{self.pk}"
