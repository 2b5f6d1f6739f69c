"""Issue 10 §1 and §3: the tracking check shared by every path, partial shipments from the ship
page, one tracking number on many orders, the tracking CSV upload and shipment corrections
(R-SHIP-1..3), against the sandbox."""

import pytest
from django.urls import reverse

from orders.forms import ShipForm
from orders.models import BulkJob, ChannelAction, Order, OrderLog, OrderStatus, Shipment
from orders.services.errors import OrderActionRefused
from orders.services.importing import account_import_orders
from orders.services.shipments import Tracking, order_ship, shipment_correct
from orders.services.tracking import validate_tracking
from tests.helpers import drain_actions, ups_tracking

pytestmark = pytest.mark.django_db
GRID = reverse("admin:orders_order_changelist")
UPLOAD = reverse("admin:orders_order_upload_tracking")


def walmart_order(sandbox, account, **create):
    account.create_store_order = False
    account.save()
    [po] = sandbox.walmart.create_orders(count=1, **create)
    account_import_orders(account_id=account.pk)
    return Order.objects.get(channel_order_id=po)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# -- R-SHIP-1: the one tracking check -------------------------------------------------------------

@pytest.mark.parametrize("carrier, number, url, problem", [
    ("UPS", "!!!???", "", "tracking number is not valid"),
    ("UPS", "<script>", "", "tracking number is not valid"),
    ("UPS", "1Z999AA1\x0012345678", "", "tracking number is not valid"),
    ("UPS", "1Z1", "", "tracking number is not valid"),
    ("UPS", "1" * 41, "", "tracking number is not valid"),
    ("UPS", "1Z999AA10123456785", "", "not a valid UPS tracking number: '1Z999AA10123456785' has UPS's format but "
                                      "its check digit does not match"),
    ("USPS", "9400111899223100000001", "", "not a valid USPS tracking number"),  # check digit wrong
    ("FedEx", ups_tracking(), "", "not a FedEx tracking number"),
    ("USPS", "123456789012", "", "not a USPS tracking number"),
    ("Bob's Vans", "BV-1001", "", "tracking URL is required"),
    ("Bob's Vans", "BV-1001", "javascript:alert(1)", "tracking URL is not valid"),
    ("Bob's Vans", "BV-1001", "ftp://bob.example/1", "tracking URL is not valid"),
    ("UPS\x07", ups_tracking(), "", "carrier name is not valid"),
])
def test_r_ship_1_bad_tracking_is_refused_in_plain_words(carrier, number, url, problem):
    with pytest.raises(OrderActionRefused) as refused:
        validate_tracking(channel="walmart", tracking=Tracking(carrier=carrier, tracking_number=number,
                                                                tracking_url=url))
    assert str(refused.value).startswith(problem)


@pytest.mark.parametrize("carrier, number", [
    ("UPS", " 1Z999AA10123456784 "), ("USPS", "9400111899223100000000"), ("USPS", "LZ123456785US"),
    ("FedEx", "123456789012"), ("DHL", "3318810025"), ("LSO", "ANY-FORMAT-1"),
])
def test_r_ship_1_carrier_formats_accepted(carrier, number):
    cleaned = validate_tracking(channel="walmart", tracking=Tracking(carrier=carrier, tracking_number=number))
    assert cleaned.tracking_number == number.strip()


def test_r_ship_1_a_tracking_number_wrong_in_two_ways_is_told_both():
    """"!!!" was refused for its length only; fixed to "!!!!!" it was then refused for its characters."""
    with pytest.raises(OrderActionRefused) as refused:
        validate_tracking(channel="walmart", tracking=Tracking(carrier="UPS", tracking_number="!!!"))
    assert str(refused.value) == ("tracking number is not valid: it must be 5 to 40 characters long, not 3; "
                                  "use letters, digits, spaces and dashes only")


@pytest.mark.parametrize("carrier, typed, sent", [
    ("UPS", "1Z 999-AA1 0123 456784", "1Z999AA10123456784"),  # as printed on the label
    ("UPS", "1z999aa10123456784", "1Z999AA10123456784"),
    ("FedEx", "1234 5678 9012", "123456789012"),
    ("LSO", "ANY-FORMAT 1", "ANY-FORMAT 1"),  # a carrier whose format we do not know: as typed
])
def test_a_major_carriers_number_is_sent_without_the_spaces_and_dashes_of_its_label(carrier, typed, sent):
    cleaned = validate_tracking(channel="walmart", tracking=Tracking(carrier=carrier, tracking_number=typed))
    assert cleaned.tracking_number == sent


def test_carrier_list_has_no_duplicates_and_one_other():
    for channels in [("walmart",), ("amazon",), ("amazon", "walmart")]:
        values = [value for value, _ in ShipForm(channels=channels).fields["carrier"].choices]
        labels = [label.split(" ")[0].casefold() for _, label in ShipForm(channels=channels).fields["carrier"].choices]
        assert len(values) == len(set(values)) and labels.count("other") == 1


def test_bad_tracking_never_reaches_the_service_queue(sandbox, wm_account):
    order = walmart_order(sandbox, wm_account)
    with pytest.raises(OrderActionRefused):
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number="!!!???"))
    assert not Shipment.objects.exists() and not ChannelAction.objects.filter(kind="ship").exists()


# -- §1 partial shipments from the ship page ------------------------------------------------------

def test_ship_page_ships_the_chosen_quantities_and_defaults_to_the_usual_carrier(operator_client, sandbox,
                                                                                 wm_account):
    order = walmart_order(sandbox, wm_account, lines=2, qty=2)
    first, second = order.items.order_by("pk")
    url = reverse("admin:orders_order_ship", args=[order.pk])
    page = operator_client.get(url).content.decode()
    assert f'name="qty_{first.pk}"' in page and 'value="2"' in page  # all open by default

    response = operator_client.post(url, {f"qty_{first.pk}": "1", f"qty_{second.pk}": "0", "carrier": "FedEx",
                                          "method": "Standard", "tracking_number": "123456789012"}, follow=True)
    assert "queued for Walmart" in messages_of(response)[0]
    drain_actions()
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.qty_shipped, second.qty_shipped) == (1, 0)
    assert [line.shipped for line in sandbox.walmart.orders[order.channel_order_id].lines] == [1, 0]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_SHIPPED

    form = operator_client.get(url).context["form"]
    assert form["carrier"].value() == "FedEx"  # the account's last carrier
    assert form[f"qty_{first.pk}"].value() == 1 and form[f"qty_{second.pk}"].value() == 2


def test_ship_page_refuses_more_than_open_and_nothing(operator_client, sandbox, wm_account):
    order = walmart_order(sandbox, wm_account, qty=2)
    [item] = order.items.all()
    url = reverse("admin:orders_order_ship", args=[order.pk])
    tracking = {"carrier": "UPS", "method": "Standard", "tracking_number": ups_tracking()}
    too_many = operator_client.post(url, {f"qty_{item.pk}": "3", **tracking}).content.decode()
    assert "at most 2 unit(s) are open" in too_many
    nothing = operator_client.post(url, {f"qty_{item.pk}": "0", **tracking}).content.decode()
    assert "Choose at least one unit to ship." in nothing
    assert not Shipment.objects.exists()


def test_ship_page_notes_a_tracking_number_already_on_another_shipment(operator_client, sandbox, wm_account):
    """Two page loads, the same package number twice (the outside tester): shipped, but said."""
    order = walmart_order(sandbox, wm_account, qty=2)
    [item] = order.items.all()
    url = reverse("admin:orders_order_ship", args=[order.pk])
    tracking = {"carrier": "UPS", "method": "Standard", "tracking_number": ups_tracking(4)}
    first = operator_client.post(url, {f"qty_{item.pk}": "1", **tracking}, follow=True)
    assert len(messages_of(first)) == 1
    again = operator_client.post(url, {f"qty_{item.pk}": "1", **tracking}, follow=True)
    earlier = Shipment.objects.order_by("pk").first()
    assert messages_of(again)[1] == (f"Note: tracking # {ups_tracking(4)} is also on shipment #{earlier.pk} of order "
                                     f"{order.channel_order_id}. If that was a slip, correct this shipment's tracking.")


# -- §1 one tracking number on many orders --------------------------------------------------------

def test_bulk_ship_needs_explicit_confirmation_for_one_number_on_many_orders(operator_client, sandbox, wm_account):
    sandbox.walmart.create_orders(count=2)
    account_import_orders(account_id=wm_account.pk)
    orders = list(Order.objects.order_by("pk"))
    data = {"action": "mark_shipped_action", "_selected_action": [o.pk for o in orders], "confirm_action": "yes",
            "carrier": "UPS", "method": "Standard", "tracking_number": ups_tracking()}
    page = operator_client.post(GRID, data).content.decode()
    assert "Confirm that all 2 orders share this tracking number" in page and "Upload tracking (CSV)" in page
    assert not Shipment.objects.exists()

    response = operator_client.post(GRID, {**data, "same_tracking_confirmed": "on"}, follow=True)
    job = BulkJob.objects.get()
    assert messages_of(response) == [  # with the way to what the channel says of it (outside tester)
        f'Mark as Shipped: 2 queued, 0 skipped. <a href="{reverse("admin:orders_bulkjob_change", args=[job.pk])}">'
        'Follow what the channel says</a> on its bulk job.']
    assert Shipment.objects.count() == 2


# -- §1 tracking CSV upload -----------------------------------------------------------------------

def upload(client, text: str | bytes):
    content = text.encode() if isinstance(text, str) else text
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(UPLOAD, {"file": SimpleUploadedFile("tracking.csv", content, content_type="text/csv")})


def test_csv_upload_previews_every_row_then_ships_only_the_good_ones(operator_client, sandbox, wm_account):
    sandbox.walmart.create_orders(count=2, qty=2)
    wm_account.create_store_order = False
    account_import_orders(account_id=wm_account.pk)
    first, second = Order.objects.order_by("pk")
    sku = first.items.get().sku
    csv_text = (
        "Channel Order #,Carrier,Method,Tracking #,Line,Quantity\n"
        f"{first.channel_order_id},UPS,Standard,{ups_tracking(1)},{sku.lower()},1\n"
        f"{second.channel_order_id},UPS,Standard,!!!???,,\n"
        f"{second.channel_order_id},=HYPERLINK(\"http://evil\"),Standard,{ups_tracking(2)},,\n"
        f"NO-SUCH-PO,UPS,Standard,{ups_tracking(3)},,\n"
        f"{first.channel_order_id},UPS,Standard,{ups_tracking(4)},{sku},5\n"
    )
    preview = upload(operator_client, csv_text)
    check = preview.context["check"]
    assert not preview.context["error"]
    assert [row.number for row in check.good] == [2]
    errors = {row.number: row.error for row in check.bad}
    assert errors[3].startswith("tracking number is not valid")
    assert "spreadsheet formula" in errors[4]
    assert errors[5] == "no order 'NO-SUCH-PO'"
    assert errors[6] == f"{sku}: 5 unit(s) asked, 1 left to ship after row 2 of this file"
    assert not Shipment.objects.exists() and not ChannelAction.objects.filter(kind="ship").exists()

    response = operator_client.post(UPLOAD, {"signed_file": preview.context["signed"]}, follow=True)
    assert messages_of(response) == ["Tracking upload: 1 shipment(s) recorded and queued for the channels."]
    drain_actions()
    assert sandbox.walmart.orders[first.channel_order_id].lines[0].shipped == 1
    assert not Shipment.objects.filter(order=second).exists()


def test_csv_upload_refuses_a_shipping_method_the_channel_does_not_take_and_reads_names_in_any_case(
        operator_client, sandbox, wm_account):
    """A method Walmart refuses ("Teleport") is a row error before anything is queued, not a shipment
    refused later with no way to correct it; "ups" and "express" are read as UPS and Express."""
    sandbox.walmart.create_orders(count=2, qty=1)
    account_import_orders(account_id=wm_account.pk)
    first, second = Order.objects.order_by("pk")
    preview = upload(operator_client, "Channel Order #,Carrier,Method,Tracking #\n"
                                      f"{first.channel_order_id},UPS,Teleport,{ups_tracking(1)}\n"
                                      f"{second.channel_order_id},ups,express,{ups_tracking(2)}\n")
    check = preview.context["check"]
    assert [(row.number, row.error) for row in check.bad] == [
        (2, ("shipping method is not valid: 'Teleport' is not one of Standard, Express, OneDay, Freight, "
             "WhiteGlove, Value"))]
    operator_client.post(UPLOAD, {"signed_file": preview.context["signed"]})
    drain_actions()
    shipment = Shipment.objects.get()
    assert (shipment.order_id, shipment.carrier, shipment.shipping_method) == (second.pk, "UPS", "Express")
    sent = sandbox.walmart.orders[second.channel_order_id].lines[0].packages[0]["trackingInfo"]
    assert (sent["carrierName"]["carrier"], sent["methodCode"]) == ("UPS", "Express")


def test_csv_upload_preview_says_a_repeated_row_repeats_an_earlier_one(operator_client, walmart_account):
    from tests.factories import create_order

    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    row = f"{order.channel_order_id},UPS,Standard,{ups_tracking(6)}\n"
    preview = upload(operator_client, "Channel Order #,Carrier,Method,Tracking #\n" + row + row)
    [repeated] = preview.context["check"].bad
    assert (repeated.number, repeated.error) == (3, "nothing left to ship on this order after row 2 of this file")


def test_csv_upload_preview_says_which_orders_the_buyer_asked_to_cancel(operator_client, sandbox, wm_account):
    order = walmart_order(sandbox, wm_account, intent_to_cancel=True, acknowledged=True)
    preview = upload(operator_client, "Channel Order #,Carrier,Method,Tracking #\n"
                                      f"{order.channel_order_id},UPS,Standard,{ups_tracking(5)}\n")
    [row] = preview.context["check"].bad
    assert row.error.startswith("the buyer asked to cancel this order")


def test_csv_upload_preview_says_when_one_tracking_number_is_on_several_orders(operator_client, walmart_account):
    """A tracking # is one package: on two orders of the file, or on an order shipped before, each row
    says so (it still ships: sellers do combine orders into one box)."""
    from tests.factories import ShipmentFactory, create_order

    first, second, third, earlier = (create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
                                     for _ in range(4))
    ShipmentFactory(order=earlier, tracking_number=ups_tracking(8))
    csv_text = ("Channel Order #,Carrier,Method,Tracking #\n"
                f"{first.channel_order_id},UPS,Standard,{ups_tracking(7)}\n"
                f"{second.channel_order_id},UPS,Standard,{ups_tracking(7).lower()}\n"
                f"{third.channel_order_id},UPS,Standard,{ups_tracking(8)}\n")

    preview = upload(operator_client, csv_text)

    warnings = {row.channel_order_id: row.warning for row in preview.context["check"].good}
    assert warnings == {first.channel_order_id: f"the same tracking # is on order {second.channel_order_id}",
                        second.channel_order_id: f"the same tracking # is on order {first.channel_order_id}",
                        third.channel_order_id: f"the same tracking # is on order {earlier.channel_order_id}"}
    assert f"— note: the same tracking # is on order {earlier.channel_order_id}" in preview.content.decode()
    alone = upload(operator_client, f"Channel Order #,Carrier,Method,Tracking #\n"
                                    f"{first.channel_order_id},UPS,Standard,{ups_tracking(9)}\n")
    assert [row.warning for row in alone.context["check"].good] == [""]


def test_csv_upload_preview_shows_the_bad_quantity_as_uploaded_beside_its_error(operator_client, walmart_account):
    """The operator fixes their file from the preview: a quantity that is not a number of units is shown
    as they wrote it (escaped), not blanked."""
    import re

    from tests.factories import create_order

    order = create_order(account=walmart_account, status=OrderStatus.UNSHIPPED, n_items=1)
    sku = order.items.get().sku
    quantities = ["two", "<b>3</b>", "1.5", "0"]
    csv_text = "Channel Order #,Carrier,Method,Tracking #,Line,Quantity\n" + "".join(
        f"{order.channel_order_id},UPS,Standard,{ups_tracking(n)},{sku},{qty}\n" for n, qty in enumerate(quantities, 1))

    preview = upload(operator_client, csv_text)

    html = preview.content.decode()
    rows = re.findall(r'<tr class="bad">(.*?)</tr>', html, re.S)
    assert len(rows) == len(quantities)
    for row, shown in zip(rows, ["two", "&lt;b&gt;3&lt;/b&gt;", "1.5", "0"]):
        assert f'<td class="qty">{shown}</td>' in row
        assert "is not a whole number of units above 0" in row
    assert "<b>3</b>" not in html  # the file's text is never markup


@pytest.mark.parametrize("content, problem", [
    (b"", "The file is empty."),
    (b"\x89PNG\x00\x00garbage", "binary data"),
    ("Order,Carrier\nX,UPS\n".encode(), "missing: tracking #"),
    ("caf\xe9".encode("latin-1") + b",x\n", "not UTF-8"),
])
def test_csv_upload_refuses_garbage_files(operator_client, content, problem):
    page = upload(operator_client, content)
    assert problem in page.context["error"] and page.context["check"] is None


def test_tampered_confirmation_is_refused(operator_client):
    page = operator_client.post(UPLOAD, {"signed_file": "forged:value"}).content.decode()
    assert "upload it again" in page and not Shipment.objects.exists()


# -- §3 corrections -------------------------------------------------------------------------------

def test_shipment_correction_is_logged_and_resent_to_walmart(operator_client, sandbox, wm_account):
    order = walmart_order(sandbox, wm_account)
    shipment = order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    drain_actions()
    url = reverse("admin:orders_shipment_correct", args=[shipment.pk])
    assert 'class="correct-shipment"' in operator_client.get(
        reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    refused = operator_client.post(url, {"carrier": "UPS", "method": "Standard", "tracking_number": "<script>"}).content.decode()
    assert "Tracking number is not valid" in refused

    operator_client.post(url, {"carrier": "FedEx", "method": "Standard", "tracking_number": "123456789012"})
    drain_actions()
    shipment.refresh_from_db()
    assert (shipment.carrier, shipment.tracking_number) == ("FedEx", "123456789012")
    log = OrderLog.objects.filter(order=order, message__startswith=f"Shipment #{shipment.pk} corrected").get()
    assert f"carrier UPS → FedEx; tracking number {ups_tracking(1)} → 123456789012" in log.message
    update = sandbox.requests.all(method="POST", path="/shipping$")[-1].body["orderShipment"]
    assert update.get("processMode") == "PARTIAL_UPDATE"
    line = sandbox.walmart.orders[order.channel_order_id].lines[0]
    assert line.tracking["trackingNumber"] == "123456789012" and line.shipped == 1


def test_amazon_correction_edits_the_same_package(sandbox, az_account):
    [amazon_id] = sandbox.amazon.create_orders(count=1, items=2)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=amazon_id)
    first, second = order.items.order_by("pk")
    one = order_ship(order_id=order.pk, quantities={first.pk: 1},
                     tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(1)))
    two = order_ship(order_id=order.pk, quantities={second.pk: 1},
                     tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(2)))
    drain_actions()
    shipment_correct(shipment_id=one.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    drain_actions()
    packages = [call.body["packageDetail"] for call in sandbox.requests.all(method="POST", path="shipmentConfirmation")]
    assert [p["packageReferenceId"] for p in packages] == [str(one.pk), str(two.pk), str(one.pk)]
    assert packages[-1]["trackingNumber"] == ups_tracking(3)


def test_amazon_correction_of_one_package_of_an_item_edits_that_package_only(sandbox, az_account):
    """Amazon's confirmShipment names a package by packageReferenceId within the order: confirmed
    again under the same id, it edits that package (never ships more units, never touches another)."""
    [amazon_id] = sandbox.amazon.create_orders(count=1, qty=3)
    account_import_orders(account_id=az_account.pk)
    order = Order.objects.get(channel_order_id=amazon_id)
    [item] = order.items.all()
    one, two = (order_ship(order_id=order.pk, quantities={item.pk: 1},
                           tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(n))) for n in (1, 2))
    drain_actions()

    shipment_correct(shipment_id=one.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    drain_actions()

    channel = sandbox.amazon.orders[amazon_id]
    assert channel.items[0].shipped == 2  # one unit still open, as here
    assert {ref: package["trackingNumber"] for ref, package in channel.packages.items()} == {
        str(one.pk): ups_tracking(3), str(two.pk): ups_tracking(2)}
    order.refresh_from_db()
    assert order.sync_state == "ok"


# -- a buyer's cancellation request is never shipped over silently --------------------------------

def _overrides_sent(sandbox) -> list[bool]:
    return [line["intentToCancelOverride"] for request in sandbox.requests.all(method="POST", path="/shipping$")
            for line in request.body["orderShipment"]["orderLines"]["orderLine"]]


def test_an_order_the_buyer_asked_to_cancel_is_not_shipped_unless_the_operator_says_so(sandbox, wm_account):
    order = walmart_order(sandbox, wm_account, intent_to_cancel=True, acknowledged=True)
    assert order.buyer_cancel_requested
    with pytest.raises(OrderActionRefused, match="^the buyer asked to cancel this order"):
        order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)))
    assert not order.shipments.exists()

    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(3)),
               despite_cancel_request=True)
    drain_actions()

    assert _overrides_sent(sandbox) == [True]
    assert order.logs.filter(message__contains="cancellation request is overridden").count() == 1
    assert ChannelAction.objects.get(order=order, kind="ship").state == ChannelAction.State.SUCCEEDED


def test_the_operators_ship_anyway_holds_when_the_request_reaches_walmart_before_our_import(sandbox, wm_account):
    """The operator ships knowingly (a re-import was bringing the buyer's request in); the request is on
    Walmart but not here yet: the override goes with the shipment and Walmart takes it."""
    order = walmart_order(sandbox, wm_account, acknowledged=True)
    sandbox.walmart.request_cancellation(order.channel_order_id)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(5)),
               despite_cancel_request=True)
    drain_actions()
    assert _overrides_sent(sandbox) == [True]
    assert ChannelAction.objects.get(order=order, kind="ship").state == ChannelAction.State.SUCCEEDED


def test_an_ordinary_shipment_overrides_nothing_on_walmart(sandbox, wm_account):
    order = walmart_order(sandbox, wm_account, acknowledged=True)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(4)))
    drain_actions()
    assert _overrides_sent(sandbox) == [False]


def test_r_sync_3_a_shipment_whose_send_is_retried_shows_waiting_not_error(sandbox, wm_account, fast_retries):
    """The shipment row read "Error" all through the retry the operator had asked for."""
    from orders.models import SyncState
    from orders.outbox import order_retry_failed_actions

    order = walmart_order(sandbox, wm_account)
    sandbox.faults.add(kind="500", path="/shipping$", count=4)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(8)))
    drain_actions()
    shipment = Shipment.objects.get(order=order)
    assert shipment.sync_state == SyncState.ERROR

    order_retry_failed_actions(order_id=order.pk)
    shipment.refresh_from_db()
    assert shipment.sync_state == SyncState.PENDING
    drain_actions()
    shipment.refresh_from_db()
    assert shipment.sync_state == SyncState.OK


def test_an_order_whose_shipment_the_channel_refused_is_still_work_to_ship(sandbox, wm_account, fast_retries):
    """Every try of the shipment failed: the units are shipped here only, Walmart still waits for them
    and will cancel them on its deadline, so the order stays in to-ship, past ship-by and the cockpit's
    counts until a shipment reaches Walmart."""
    import datetime as dt

    from django.utils import timezone

    from orders.filters import to_ship_q

    order = walmart_order(sandbox, wm_account, qty=1)
    Order.objects.filter(pk=order.pk).update(sale_date=timezone.now() - dt.timedelta(days=10),
                                             ship_by_date=timezone.now() - dt.timedelta(days=9))
    sandbox.faults.add(kind="500", path="/shipping$", count=50)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(9)))
    drain_actions()
    assert ChannelAction.objects.get(order=order, kind="ship").state == "failed"

    for pile in ("all", "overdue", "auto_cancel_risk"):
        assert Order.objects.filter(to_ship_q(pile), pk=order.pk).exists(), pile
    sandbox.faults.clear()
    from orders.outbox import order_retry_failed_actions
    order_retry_failed_actions(order_id=order.pk)
    drain_actions()
    assert not Order.objects.filter(to_ship_q("all"), pk=order.pk).exists()


def test_a_walmart_line_with_units_in_two_statuses_says_both(operator_client, sandbox, wm_account):
    """One line of 2, 1 unit shipped: Walmart's line is neither Acknowledged nor Shipped as a whole."""
    order = walmart_order(sandbox, wm_account, qty=2)
    item = order.items.get()
    order_ship(order_id=order.pk, tracking=Tracking(carrier="UPS", tracking_number=ups_tracking(10)),
               quantities={item.pk: 1})
    drain_actions()
    sandbox.walmart.orders[order.channel_order_id].touch()
    sandbox.walmart.changed()
    account_import_orders(account_id=wm_account.pk)

    item.refresh_from_db()
    assert item.channel_line_status == "Mixed"
    page = operator_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "with units in different statuses (1 shipped, 1 not shipped yet)" in page


def test_ship_page_says_the_buyer_asked_to_cancel_before_anything_is_submitted(operator_client, sandbox, wm_account):
    """The grid flagged the request, the ship form said nothing until Submit (outside tester)."""
    order = walmart_order(sandbox, wm_account, lines=2)
    sandbox.walmart.request_cancellation(order.channel_order_id, line_numbers=["1"])
    account_import_orders(account_id=wm_account.pk)
    first, second = order.items.order_by("pk")

    page = operator_client.get(reverse("admin:orders_order_ship", args=[order.pk])).content.decode()
    assert 'id="ship-cancel-request"' in page and "The buyer asked to cancel this order." in page
    assert page.count("(Cancellation Requested)") == 1
    assert "Left unticked, nothing is shipped: cancel the order as the buyer asked instead." in page
