"""The sandbox validates like the real APIs (SPEC §7, CONTRACTS.md), checked with raw HTTP calls."""

import base64
import time
import uuid
from decimal import Decimal

import pytest
import requests

WM_HEADERS = {"WM_SVC.NAME": "Walmart Marketplace", "Accept": "application/json"}


def wm_token(url: str) -> str:
    response = requests.post(f"{url}/v3/token", data="grant_type=client_credentials", headers={
        **WM_HEADERS, "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
        "Authorization": "Basic " + base64.b64encode(b"client:secret").decode(),
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and response.json()["expires_in"] == 900
    return response.json()["access_token"]


def wm(url, method, path, token, **kwargs):
    headers = {**WM_HEADERS, "WM_QOS.CORRELATION_ID": str(uuid.uuid4()), "WM_SEC.ACCESS_TOKEN": token}
    return requests.request(method, f"{url}{path}", headers=headers, **kwargs)


def first_error(response) -> dict:
    return response.json()["errors"]["error"][0]


def ship_body(line="1", qty="1", **tracking):
    info = {"shipDateTime": 1580821866000, "carrierName": {"carrier": "UPS"}, "methodCode": "Standard",
            "trackingNumber": "1Z", **tracking}
    return {"orderShipment": {"orderLines": {"orderLine": [{"lineNumber": line, "orderLineStatuses": {
        "orderLineStatus": [{"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": qty},
                             "trackingInfo": info}]}}]}}}


def test_walmart_auth_headers_and_token(sandbox, sandbox_url):
    assert wm(sandbox_url, "GET", "/v3/orders", "not-a-token").status_code == 401
    response = requests.get(f"{sandbox_url}/v3/orders", headers={"Accept": "application/json"})
    assert response.status_code == 400 and first_error(response)["code"].startswith("MISSING_REQUEST_HEADER")


def test_walmart_list_shapes_empty_page_and_limit(sandbox, sandbox_url):
    token = wm_token(sandbox_url)
    empty = wm(sandbox_url, "GET", "/v3/orders", token)
    assert empty.status_code == 404
    assert first_error(empty)["code"] == "CONTENT_NOT_FOUND.GMP_ORDER_API" and first_error(empty)["severity"] == "INFO"
    assert wm(sandbox_url, "GET", "/v3/orders", token, params={"limit": "201"}).status_code == 400
    sandbox.walmart.create_orders(count=3, qty=2)
    page = wm(sandbox_url, "GET", "/v3/orders", token, params={"limit": "2"}).json()["list"]
    order = page["elements"]["order"][0]
    assert page["meta"]["nextCursor"].startswith("?") and page["meta"]["totalCount"] == 3
    assert isinstance(order["orderDate"], int) and order["orderDate"] > 10**12  # epoch milliseconds
    assert order["orderLines"]["orderLine"][0]["orderLineQuantity"]["amount"] == "2"  # a string


def test_walmart_write_validation(sandbox, sandbox_url):
    token = wm_token(sandbox_url)
    [po] = sandbox.walmart.create_orders(count=1, qty=1)
    base = f"/v3/orders/{po}"
    assert "acknowledged before shipping" in first_error(wm(sandbox_url, "POST", f"{base}/shipping", token, json=ship_body()))["description"]
    assert wm(sandbox_url, "POST", f"{base}/acknowledge", token, json={}).status_code == 200
    missing = wm(sandbox_url, "POST", f"{base}/shipping", token, json=ship_body(trackingNumber=""))
    assert "trackingNumber is required" in first_error(missing)["description"]
    unknown = wm(sandbox_url, "POST", f"{base}/shipping", token, json=ship_body(carrierName={"carrier": "Bob"}))
    assert "not a known carrier" in first_error(unknown)["description"]
    other = wm(sandbox_url, "POST", f"{base}/shipping", token, json=ship_body(carrierName={"otherCarrier": "Bob"}))
    assert "trackingURL is required" in first_error(other)["description"]
    assert wm(sandbox_url, "POST", f"{base}/shipping", token, json=ship_body(qty="2")).status_code == 400  # over-ship
    assert wm(sandbox_url, "POST", f"{base}/shipping", token, json=ship_body()).status_code == 200
    cancel = {"orderCancellation": {"orderLines": {"orderLine": [{"lineNumber": "1", "orderLineStatuses": {
        "orderLineStatus": [{"status": "Cancelled", "cancellationReason": "SELLER_CANCEL_OUT_OF_STOCK",
                             "statusQuantity": {"unitOfMeasurement": "EA", "amount": "1"}}]}}]}}}
    shipped = wm(sandbox_url, "POST", f"{base}/cancel", token, json=cancel)
    assert "is in SHIPPED status" in first_error(shipped)["description"]
    refund = {"orderRefund": {"orderLines": {"orderLine": [{"lineNumber": "1", "refunds": {"refund": [{"refundCharges": {
        "refundCharge": [{"refundReason": "DamagedItem", "charge": {"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                                                                    "chargeAmount": {"currency": "USD", "amount": 5}}}]}}]}}]}}}
    assert "must be negative" in first_error(wm(sandbox_url, "POST", f"{base}/refund", token, json=refund))["description"]


def update_body(*, new: str, current: str | None, qty="1"):
    body = ship_body(qty=qty, trackingNumber=new)
    body["orderShipment"]["processMode"] = "PARTIAL_UPDATE"
    if current is not None:
        status = body["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]
        status["currentTrackingInfo"] = {"trackingNumber": current}
    return body


def test_walmart_partial_update_changes_the_package_it_names(sandbox, sandbox_url):
    """Walmart's model: a post-shipment tracking update names the package by its current tracking
    number (currentTrackingInfo); without it a line of several packages cannot say which."""
    token = wm_token(sandbox_url)
    [po] = sandbox.walmart.create_orders(count=1, qty=2, acknowledged=True)
    shipping = f"/v3/orders/{po}/shipping"
    for number in ("1ZONE", "1ZTWO"):
        assert wm(sandbox_url, "POST", shipping, token, json=ship_body(trackingNumber=number)).status_code == 200
    over = wm(sandbox_url, "POST", shipping, token, json=ship_body(trackingNumber="1ZONE"))
    assert "Qty OverShipped" in first_error(over)["description"]  # a second ship of shipped units
    unnamed = wm(sandbox_url, "POST", shipping, token, json=update_body(new="1ZNEW", current=None))
    assert "name the one to update in currentTrackingInfo" in first_error(unnamed)["description"]
    unknown = wm(sandbox_url, "POST", shipping, token, json=update_body(new="1ZNEW", current="1ZNONE"))
    assert "no shipped package has tracking number 1ZNONE" in first_error(unknown)["description"]
    too_many = wm(sandbox_url, "POST", shipping, token, json=update_body(new="1ZNEW", current="1ZONE", qty="2"))
    assert "only changes tracking of shipped qty" in first_error(too_many)["description"]

    assert wm(sandbox_url, "POST", shipping, token, json=update_body(new="1ZNEW", current="1ZONE")).status_code == 200

    line = sandbox.walmart.orders[po].lines[0]
    assert [(p["qty"], p["trackingInfo"]["trackingNumber"]) for p in line.packages] == [(1, "1ZNEW"), (1, "1ZTWO")]
    assert line.shipped == 2


def test_walmart_cancel_reason_must_be_in_the_enum_and_customer_reason_needs_a_request(sandbox, sandbox_url):
    token = wm_token(sandbox_url)
    [po] = sandbox.walmart.create_orders(count=1)

    def cancel(reason):
        body = {"orderCancellation": {"orderLines": {"orderLine": [{"lineNumber": "1", "orderLineStatuses": {
            "orderLineStatus": [{"status": "Cancelled", "cancellationReason": reason,
                                 "statusQuantity": {"unitOfMeasurement": "EA", "amount": "1"}}]}}]}}}
        return wm(sandbox_url, "POST", f"/v3/orders/{po}/cancel", token, json=body)

    assert cancel("BECAUSE").status_code == 400
    assert cancel("CUSTOMER_REQUESTED_SELLER_TO_CANCEL").status_code == 400
    assert cancel("SELLER_CANCEL_OUT_OF_STOCK").status_code == 200


def test_amazon_token_orders_and_feed_flow(sandbox, sandbox_url):
    token = requests.post(f"{sandbox_url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": "Atzr|x", "client_id": "c", "client_secret": "s"}).json()
    assert token["expires_in"] == 3600
    headers = {"x-amz-access-token": token["access_token"]}
    assert requests.get(f"{sandbox_url}/orders/v0/orders", headers={"x-amz-access-token": "bad"}).status_code == 403
    missing = requests.get(f"{sandbox_url}/orders/v0/orders", headers=headers, params={"MarketplaceIds": "ATVPDKIKX0DER"})
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "InvalidInput"
    [order_id] = sandbox.amazon.create_orders(count=1)
    listed = requests.get(f"{sandbox_url}/orders/v0/orders", headers=headers, params={
        "MarketplaceIds": "ATVPDKIKX0DER", "CreatedAfter": "2020-01-01T00:00:00Z"})
    assert listed.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert listed.json()["payload"]["Orders"][0]["AmazonOrderId"] == order_id
    bad_date = requests.post(f"{sandbox_url}/orders/v0/orders/{order_id}/shipmentConfirmation", headers=headers, json={
        "marketplaceId": "ATVPDKIKX0DER", "packageDetail": {"packageReferenceId": "1", "carrierCode": "UPS",
                                                            "trackingNumber": "1Z", "shipDate": "02/21/2022",
                                                            "orderItems": [{"orderItemId": "x", "quantity": 1}]}})
    assert bad_date.status_code == 400

    document = requests.post(f"{sandbox_url}/feeds/2021-06-30/documents", headers=headers,
                             json={"contentType": "text/xml; charset=UTF-8"})
    assert document.status_code == 201
    requests.put(document.json()["url"], data=b"<AmazonEnvelope><Message><MessageID>1</MessageID>"
                 b"<OrderAdjustment><AmazonOrderID>nope</AmazonOrderID></OrderAdjustment></Message></AmazonEnvelope>",
                 headers={"Content-Type": "text/xml; charset=UTF-8"})
    feed = requests.post(f"{sandbox_url}/feeds/2021-06-30/feeds", headers=headers, json={
        "feedType": "POST_PAYMENT_ADJUSTMENT_DATA", "marketplaceIds": ["ATVPDKIKX0DER"],
        "inputFeedDocumentId": document.json()["feedDocumentId"]})
    assert feed.status_code == 202
    status = requests.get(f"{sandbox_url}/feeds/2021-06-30/feeds/{feed.json()['feedId']}", headers=headers).json()
    assert status["processingStatus"] == "DONE"
    result = requests.get(f"{sandbox_url}/feeds/2021-06-30/documents/{status['resultFeedDocumentId']}", headers=headers)
    report = requests.get(result.json()["url"]).text
    assert "<MessagesWithError>1</MessagesWithError>" in report and "AmazonOrderID is unknown" in report


@pytest.mark.parametrize("kind", ["400", "429", "500", "503"])
def test_faults_answer_in_each_channels_shape(sandbox, sandbox_url, kind):
    sandbox.faults.add(kind=kind, path="/v3/token")
    sandbox.faults.add(kind=kind, path="/auth/o2/token")
    walmart = requests.post(f"{sandbox_url}/v3/token")
    amazon = requests.post(f"{sandbox_url}/auth/o2/token")
    assert walmart.status_code == amazon.status_code == int(kind)
    assert "error" in walmart.json()["errors"] and amazon.json()["errors"][0]["code"]
    if kind == "429":
        assert walmart.headers["X-Current-Token-Count"] == "0" and "X-Next-Replenishment-Time" in walmart.headers
        assert amazon.json()["errors"][0]["code"] == "QuotaExceeded" and "x-amzn-RateLimit-Limit" in amazon.headers
    assert [r.fault for r in sandbox.requests.all()] == [kind, kind]


def test_the_request_record_keeps_no_secrets(sandbox, sandbox_url):
    requests.post(f"{sandbox_url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": "Atzr|very-secret", "client_id": "c", "client_secret": "s3cret"})
    wm_token(sandbox_url)
    recorded = str([(r.headers, r.body) for r in sandbox.requests.all()])
    assert "very-secret" not in recorded and "s3cret" not in recorded
    assert base64.b64encode(b"client:secret").decode() not in recorded


def refund_body(line: str, amount: str, tax: str) -> dict:
    return {"orderRefund": {"orderLines": {"orderLine": [{"lineNumber": line, "isFullRefund": False, "refunds": {
        "refund": [{"refundComments": "damaged", "refundCharges": {"refundCharge": [{"refundReason": "DamagedItem",
            "charge": {"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                       "chargeAmount": {"currency": "USD", "amount": float(amount)},
                       "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": float(tax)}}}}]}}]}}]}}}


def test_walmart_refund_is_rendered_with_tax_listed_once(sandbox, sandbox_url):
    """§4: a 10.80 refund (10.00 + 0.80 tax) reads back as 10.80, not 11.60 (tax in chargeAmount and again as tax)."""
    from channels.walmart.parser import parse_order

    token = wm_token(sandbox_url)
    [po] = sandbox.walmart.create_orders(count=1, qty=2, price="10.00", acknowledged=True)
    sandbox.walmart.channel_ship(po)
    answer = wm(sandbox_url, "POST", f"/v3/orders/{po}/refund", token, json=refund_body("1", "-10.00", "-0.80"))
    assert answer.status_code == 200

    line = wm(sandbox_url, "GET", f"/v3/orders/{po}", token).json()["order"]["orderLines"]["orderLine"][0]
    [charge] = line["refund"]["refundCharges"]["refundCharge"]
    assert charge["charge"]["chargeAmount"]["amount"] == -10.0
    assert charge["charge"]["tax"]["taxAmount"]["amount"] == -0.8
    read = parse_order(wm(sandbox_url, "GET", f"/v3/orders/{po}", token).json()["order"])
    assert read.lines[0].refunded_amount == Decimal("10.80")
    # What is left to refund takes the tax off once: 2 × 10.00 + 1.60 tax + 2.00 shipping − 10.80.
    assert sandbox.walmart.orders[po].lines[0].refundable == Decimal("12.80")


def test_walmart_return_refund_is_rendered_as_price_and_tax(sandbox, sandbox_url):
    from channels.walmart.parser import parse_order

    token = wm_token(sandbox_url)
    [po] = sandbox.walmart.create_orders(count=1, qty=2, price="10.00", acknowledged=True)
    sandbox.walmart.channel_ship(po)
    return_id = sandbox.walmart.create_return(po)
    body = {"customerOrderId": sandbox.walmart.orders[po].customer_order_id, "refundLines": [
        {"returnOrderLineNumber": 1, "quantity": {"unitOfMeasure": "EA", "measurementValue": 1}}]}
    assert wm(sandbox_url, "POST", f"/v3/returns/{return_id}/refund", token, json=body).status_code == 200
    read = parse_order(wm(sandbox_url, "GET", f"/v3/orders/{po}", token).json()["order"])
    assert read.lines[0].refunded_amount == Decimal("10.80")  # one unit's price and tax, no shipping


@pytest.mark.parametrize("delay", [0.3, "0.3"])
def test_a_timeout_fault_with_a_fractional_delay_answers_late_instead_of_crashing(sandbox, sandbox_url, delay):
    posted = requests.post(f"{sandbox_url}/_sandbox/faults", json={"kind": "timeout", "path": "/v3/token",
                                                                    "delay": delay})
    assert posted.status_code == 201 and posted.json()["delay"] == 0.3
    started = time.monotonic()
    late = requests.post(f"{sandbox_url}/v3/token", timeout=5)
    assert time.monotonic() - started >= 0.3
    assert late.status_code == 400  # the answer itself (no credentials), held back, not a dropped connection
    assert [r.fault for r in sandbox.requests.all()] == ["timeout"]


@pytest.mark.parametrize("spec", [{"delay": "soon"}, {"delay": -1}, {"count": 0}, {"when": "later"}, {"colour": 1}])
def test_a_fault_with_bad_values_is_refused_when_posted(sandbox, sandbox_url, spec):
    posted = requests.post(f"{sandbox_url}/_sandbox/faults", json={"kind": "timeout", **spec})
    assert posted.status_code == 400
    assert requests.get(f"{sandbox_url}/_sandbox/faults").json() == []
