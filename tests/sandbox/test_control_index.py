"""Issue 10 §7: GET /_sandbox/ lists the control API, every route it lists answers, and the README
lists the same routes."""

from pathlib import Path

import requests

from channels.sandbox.server import CONTROL_API, Sandbox

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_index_lists_the_control_api_and_the_readme_the_same(sandbox_url):
    index = requests.get(f"{sandbox_url}/_sandbox/", timeout=5).json()["control_api"]
    listed = {(route["method"], route["path"]) for route in index}
    assert ("POST", "/_sandbox/faults") in listed and ("POST", "/_sandbox/walmart/orders/<purchaseOrderId>/ship") in listed
    for method, path in listed:
        assert f"| `{method} {path}` |" in README, (method, path)


BODIES = {  # routes that need one to answer 2xx
    ("POST", "/_sandbox/faults"): {"kind": "500", "path": "^/nothing$"},
    ("POST", "/_sandbox/walmart/webhooks"): {"url": "http://127.0.0.1:9/webhooks/walmart/1/", "secret": "s3cret"},
    ("POST", "/_sandbox/limits"): {"enabled": False},
}


def test_every_route_the_index_lists_is_one_the_sandbox_serves(sandbox_url, sandbox):
    [po] = sandbox.walmart.create_orders(count=1, acknowledged=True)
    [amazon_id] = sandbox.amazon.create_orders(count=1)
    for route in CONTROL_API:
        if route.path == "/_sandbox/reset":
            continue
        path = route.path.replace("<purchaseOrderId>", po).replace("<AmazonOrderId>", amazon_id)
        body = BODIES.get((route.method, route.path))
        if path.endswith(("/return", "/ship")) and "walmart" in path:
            sandbox.walmart.channel_ship(po)  # a return needs shipped lines
        answer = requests.request(route.method, f"{sandbox_url}{path}", json=body, timeout=5)
        assert answer.status_code in (200, 201), (route, answer.status_code, answer.text)


def test_the_sandbox_state_survives_a_save_and_a_load(tmp_path):
    sandbox = Sandbox()
    [po] = sandbox.walmart.create_orders(count=1, products=[("KT-MUG-16", "Insulated Travel Mug 16 oz", "14.99")])
    sandbox.walmart.channel_ship(po)
    [amazon_id] = sandbox.amazon.create_orders(count=1, paid=False)
    sandbox.save(tmp_path / "state")

    loaded = Sandbox.load(tmp_path / "state")
    assert loaded.walmart.orders[po].lines[0].name == "Insulated Travel Mug 16 oz"
    assert loaded.walmart.orders[po].lines[0].shipped == 1
    assert loaded.amazon.orders[amazon_id].status == "Pending"
    assert loaded.walmart.create_orders(count=1) != [po]  # numbering goes on
    with loaded.walmart.lock, loaded.amazon.lock:  # locks are made anew
        pass
