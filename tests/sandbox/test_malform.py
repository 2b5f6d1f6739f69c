"""The sandbox control API sends a chosen order malformed in its listing page, then readable again."""

import requests


def test_walmart_and_amazon_orders_can_be_sent_malformed_and_mended(sandbox, sandbox_url):
    [po] = sandbox.walmart.create_orders(count=1)
    [amazon_id] = sandbox.amazon.create_orders(count=1)

    for path, body in [(f"walmart/orders/{po}/malform", {"set": {"orderLines": "none"}, "delete": ["orderDate"]}),
                       (f"amazon/orders/{amazon_id}/malform", {"set": {"order": None}})]:
        requests.post(f"{sandbox_url}/_sandbox/{path}", json=body, timeout=5).raise_for_status()

    sent = sandbox.walmart.render_as_sent(sandbox.walmart.orders[po])
    assert sent["orderLines"] == "none" and "orderDate" not in sent
    assert sandbox.amazon.as_sent(sandbox.amazon.orders[amazon_id])["order"] is None

    requests.post(f"{sandbox_url}/_sandbox/walmart/orders/{po}/mend", json={}, timeout=5).raise_for_status()
    assert sandbox.walmart.render_as_sent(sandbox.walmart.orders[po])["orderLines"]["orderLine"]
