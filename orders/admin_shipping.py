"""The order admin's shipping pages: ship chosen quantities of one order, correct a shipment's
tracking, withdraw a shipment the channel never accepted, and upload tracking numbers in bulk from
a CSV (R-SHIP-1..3). Thin: forms collect, services decide."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from .forms import OTHER_CARRIER, OrderShipForm, ShipForm
from .models import Order, Shipment
from .selectors import shipments_sharing_tracking, usual_carrier
from .services.errors import OrderActionRefused
from .services.shipments import CORRECTION_LIMITS, order_ship, shipment_correct, shipment_withdraw
from .services.tracking_upload import MAX_BYTES, UploadRefused, tracking_upload_apply, tracking_upload_check

UPLOAD_SALT = "orders.tracking-upload"


class TrackingUploadForm(forms.Form):
    file = forms.FileField(label="Tracking CSV", allow_empty_file=True, help_text="Columns: channel order #, carrier, method, tracking #; "
                           "optional: tracking URL, line (SKU or line number), quantity. One row per package line.")


def ship_url(order_id: int, quantities: dict[int, int] | None = None) -> str:
    """The ship page of an order, with the quantities to propose (item id → units)."""
    url = reverse("admin:orders_order_ship", args=[order_id])
    if quantities:
        url += "?" + "&".join(f"qty_{item_id}={qty}" for item_id, qty in sorted(quantities.items()))
    return url


class ShippingViews:
    """Mixed into the order admin."""

    def shipping_urls(self):
        return [
            path("<int:order_id>/ship/", self.admin_site.admin_view(self.ship_view), name="orders_order_ship"),
            path("shipment/<int:shipment_id>/correct/", self.admin_site.admin_view(self.correct_shipment_view),
                 name="orders_shipment_correct"),
            path("shipment/<int:shipment_id>/withdraw/", self.admin_site.admin_view(self.withdraw_shipment_view),
                 name="orders_shipment_withdraw"),
            path("upload-tracking/", self.admin_site.admin_view(self.tracking_upload_view),
                 name="orders_order_upload_tracking"),
        ]

    def _require_operator(self, request: HttpRequest) -> None:
        if not self.has_operate_permission(request):
            raise PermissionDenied

    def _page(self, request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "title": title, "opts": self.opts, **context})

    def ship_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        self._require_operator(request)
        order = get_object_or_404(Order.objects.select_related("account"), pk=order_id)
        detail = reverse("admin:orders_order_change", args=[order.pk])
        items = list(order.items.order_by("pk"))
        proposed = {}
        for item in items:
            value = request.GET.get(OrderShipForm.qty_field(item), "")
            if value.isdigit():
                proposed[item.pk] = int(value)
        form = OrderShipForm(request.POST or None, order=order, items=items,
                             initial_quantities=proposed if request.GET else None,
                             usual_carrier=usual_carrier(account_id=order.account_id))
        if form.is_bound and form.is_valid():
            try:
                shipment = order_ship(order_id=order.pk, tracking=form.tracking, quantities=form.quantities(),
                                      despite_cancel_request=form.cleaned_data.get("despite_cancel_request", False),
                                      user=request.user)
            except OrderActionRefused as refusal:
                form.add_error(None, f"Not shipped: {refusal}.")
            else:
                units = ", ".join(f"{line.order_item.sku} × {line.qty}"
                                  for line in shipment.items.select_related("order_item").order_by("pk"))
                self.message_user(request, f"Shipment recorded ({units}, {shipment.carrier} "
                                  f"{shipment.tracking_number}); queued for {order.get_channel_display()}.",
                                  messages.SUCCESS)
                shared = shipments_sharing_tracking(shipment=shipment)
                if shared:
                    where = ", ".join(f"shipment #{other.pk} of order {other.order.channel_order_id}" for other in shared)
                    self.message_user(request, f"Note: tracking # {shipment.tracking_number} is also on {where}. "
                                      "If that was a slip, correct this shipment's tracking.", messages.WARNING)
                return HttpResponseRedirect(detail)
        return self._page(request, "admin/orders/order/ship.html", f"Ship order {order.channel_order_id}",
                          order=order, form=form, detail_url=detail)

    def correct_shipment_view(self, request: HttpRequest, shipment_id: int) -> HttpResponse:
        self._require_operator(request)
        shipment = get_object_or_404(Shipment.objects.select_related("order__account"), pk=shipment_id)
        order = shipment.order
        detail = reverse("admin:orders_order_change", args=[order.pk])
        form = ShipForm(request.POST or None, channels=(order.channel,), initial=_shipment_initial(shipment))
        methods = form.fields["method"].choices
        if shipment.shipping_method and shipment.shipping_method not in dict(methods):  # kept unless changed
            form.fields["method"].choices = [(shipment.shipping_method, shipment.shipping_method), *methods]
        if form.is_bound and form.is_valid():
            try:
                shipment_correct(shipment_id=shipment.pk, tracking=form.tracking, user=request.user)
            except OrderActionRefused as refusal:
                form.add_error(None, f"Not corrected: {refusal}.")
            else:
                sent = ("queued for " + order.get_channel_display()) if shipment.source == Shipment.Source.OPERATOR \
                    else "kept here only (the channel reported this shipment)"
                self.message_user(request, f"Shipment #{shipment.pk} corrected and logged; {sent}.", messages.SUCCESS)
                return HttpResponseRedirect(detail)
        limits = CORRECTION_LIMITS.get(order.channel, "")
        if shipment.source != Shipment.Source.OPERATOR:
            limits = (f"{order.get_channel_display()} reported this shipment: the correction is kept here only; "
                      "correct it on the channel too.")
        return self._page(request, "admin/orders/order/correct_shipment.html",
                          f"Correct shipment #{shipment.pk} of order {order.channel_order_id}",
                          order=order, shipment=shipment, form=form, detail_url=detail, limits=limits)

    def withdraw_shipment_view(self, request: HttpRequest, shipment_id: int) -> HttpResponse:
        """Asks first (what the withdrawal gives back), withdraws on the confirmation."""
        self._require_operator(request)
        shipment = get_object_or_404(Shipment.objects.select_related("order__account"), pk=shipment_id)
        order = shipment.order
        detail = reverse("admin:orders_order_change", args=[order.pk])
        error = ""
        if request.method == "POST":
            try:
                shipment_withdraw(shipment_id=shipment.pk, user=request.user)
            except OrderActionRefused as refusal:
                error = f"Not withdrawn: {refusal}."
            else:
                self.message_user(request, f"Shipment #{shipment.pk} withdrawn and logged; its units are back to ship.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(detail)
        return self._page(request, "admin/orders/order/withdraw_shipment.html",
                          f"Withdraw shipment #{shipment.pk} of order {order.channel_order_id}",
                          order=order, shipment=shipment, error=error, detail_url=detail)

    def tracking_upload_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → preview with every row's problem → confirm ships the good rows. The file
        travels from preview to confirmation signed, and is checked again before anything ships."""
        self._require_operator(request)
        changelist = reverse("admin:orders_order_changelist")
        form, check, signed, error = TrackingUploadForm(), None, "", ""
        if request.method == "POST" and "signed_file" in request.POST:
            try:
                content = signing.loads(request.POST["signed_file"], salt=UPLOAD_SALT, max_age=3600).encode()
                result = tracking_upload_apply(content=content, user=request.user)
            except (signing.BadSignature, UploadRefused) as failure:
                error = str(failure) if isinstance(failure, UploadRefused) else "The upload expired: upload it again."
            else:
                text = f"Tracking upload: {result.shipments} shipment(s) recorded and queued for the channels."
                if result.refused:
                    text += f" Not shipped ({len(result.refused)}): " + "; ".join(result.refused[:20])
                self.message_user(request, text, messages.WARNING if result.refused else messages.SUCCESS)
                return HttpResponseRedirect(changelist)
        elif request.method == "POST":
            form = TrackingUploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                content = upload.read(MAX_BYTES + 1)
                try:
                    check = tracking_upload_check(content=content)
                    signed = signing.dumps(content.decode("utf-8-sig"), salt=UPLOAD_SALT, compress=True)
                except UploadRefused as refusal:
                    error = str(refusal)
        return self._page(request, "admin/orders/order/upload_tracking.html", "Upload tracking numbers",
                          form=form, check=check, signed=signed, error=error, changelist_url=changelist)


def _shipment_initial(shipment: Shipment) -> dict:
    known = shipment.carrier in dict(ShipForm(channels=(shipment.order.channel,)).fields["carrier"].choices)
    return {"carrier": shipment.carrier if known else OTHER_CARRIER, "other_carrier": "" if known else shipment.carrier,
            "tracking_number": shipment.tracking_number, "tracking_url": shipment.tracking_url,
            "method": shipment.shipping_method or "Standard"}
