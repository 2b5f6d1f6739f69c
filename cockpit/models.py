from django.conf import settings
from django.db import models
from django.db.models import F, Q

from channels.models import ChannelAccount
from orders.models import Order


class ReconciliationRun(models.Model):
    """One comparison of an account's recent orders as the channel shows them with ours."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="reconciliation_runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created_from = models.DateTimeField(help_text="Orders created on the channel since then were compared.")
    orders_checked = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0, help_text="Orders found different from the channel.")
    orders_left_to_sync = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Orders not compared: changed on the channel lately, or with a change of ours on its "
        "way, or not imported yet — the import's work, not drift.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(F("account"), F("started_at").desc(), name="reconcile_run_account_idx")]

    def __str__(self) -> str:
        return f"Reconciliation of {self.account} at {self.started_at:%Y-%m-%d %H:%M}"


class Discrepancy(models.Model):
    """An order on which we and the channel disagree (issue 15 §4): what differs, until a later
    reconciliation finds both sides agreeing again. Never deleted: resolved, with how."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="discrepancies")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="discrepancies")
    differences = models.JSONField(default=list, help_text="[{field, line, ours, channel}] as last compared.")
    summary = models.TextField(help_text="What differs, in words.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    last_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="discrepancies")
    last_step = models.CharField(max_length=255, blank=True, help_text="The last resync or resend, and when.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "order needing attention"
        verbose_name_plural = "orders needing attention"
        ordering = ["-last_seen_at", "-id"]
        permissions = [
            # At most 50 characters: `migrate auth zero` shortens the column back to auth's original size.
            ("reconcile_account", "Can reconcile, resync and resend with the channel"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(resolved_at__isnull=True),
                                    name="discrepancy_one_open_per_order"),
        ]
        indexes = [
            models.Index(F("account"), F("last_seen_at").desc(), name="discrepancy_open_idx",
                         condition=Q(resolved_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.order} differs from the channel"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class SavedView(models.Model):
    """The order grid's filters and sort saved under a name: the owner's, or shared with everyone."""

    name = models.CharField(max_length=60)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    shared = models.BooleanField(default=False, help_text="Shown to everyone above the grid.")
    query = models.CharField(max_length=1000, help_text="The grid's query string (filters and sort only).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name_uniq"),
        ]
        indexes = [models.Index(fields=["shared"], name="saved_view_shared_idx", condition=Q(shared=True))]

    def __str__(self) -> str:
        return self.name


class DailyAccountStats(models.Model):
    """One account's day, counted from our orders (cockpit.stats refreshes it): what the seller
    performance rates and the charts read, so their pages read a few hundred rows, not the orders.
    Order figures belong to the day of sale; due/late to the day of the ship-by date; the histograms
    to the day of sale (shipments, imports) or of the change (channel actions)."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField()
    orders = models.PositiveIntegerField(default=0, help_text="Sold that day (every fulfillment).")
    merchant_orders = models.PositiveIntegerField(default=0, help_text="Sold that day, shipped by the merchant.")
    shipped_orders = models.PositiveIntegerField(default=0)
    tracking_problem_orders = models.PositiveIntegerField(default=0)
    seller_canceled_orders = models.PositiveIntegerField(default=0)
    refunded_orders = models.PositiveIntegerField(default=0)
    due_orders = models.PositiveIntegerField(default=0, help_text="Due to ship that day (ship-by date passed).")
    late_orders = models.PositiveIntegerField(default=0, help_text="Of those, not shipped by their ship-by date.")
    failed_actions = models.PositiveIntegerField(default=0, help_text="Channel actions that failed that day.")
    ship_hours = models.JSONField(default=list, help_text="Shipments by hours from sale (cockpit.stats buckets).")
    import_minutes = models.JSONField(default=list, help_text="Orders by minutes from sale to imported.")
    confirm_seconds = models.JSONField(default=list, help_text="Channel actions by seconds from queued to confirmed.")
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "day"]
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="daily_stats_account_day_uniq")]
        indexes = [models.Index(fields=["day"], name="daily_stats_day_idx")]

    def __str__(self) -> str:
        return f"{self.account} {self.day}"
