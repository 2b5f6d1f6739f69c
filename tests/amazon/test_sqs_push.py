"""Amazon pushes orders (issue 12 §3): ORDER_CHANGE notifications arrive in an SQS queue; the consumer
imports each named order at once and deletes the message, drops what can never be handled, and leaves
a message whose import failed in the queue to be received again. SQS is moto's server on this machine."""

import json
import socket

import pytest
from django.core.management import call_command

from channels.amazon.notifications import consume_once, sqs_client
from orders.models import Order

pytestmark = pytest.mark.django_db
SELLER = "A3TH9S8BH6GOGM"


@pytest.fixture(scope="module")
def sqs_endpoint():
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def queue(sqs_endpoint, monkeypatch, request):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    sqs = sqs_client(endpoint_url=sqs_endpoint)
    url = sqs.create_queue(QueueName=f"order-change-{abs(hash(request.node.nodeid))}",
                           Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)


def order_change(order_id: str, seller: str = SELLER) -> str:
    return json.dumps({
        "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
        "EventTime": "2026-12-01T10:00:00.000Z",
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel", "SellerId": seller, "AmazonOrderId": order_id,
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {"TimeOfOrderChange": "2026-12-01T10:00:00.000Z", "ChangeReason": "Order status"},
            "Summary": {"MarketplaceId": "ATVPDKIKX0DER", "OrderStatus": "Unshipped", "OrderItems": []}}},
        "NotificationMetadata": {"ApplicationId": "app", "SubscriptionId": "sub", "PublishTime": "2026-12-01T10:00:00Z",
                                 "NotificationId": "n-1"}})


def left_in(sqs, url) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_an_order_change_imports_the_order_and_is_deleted(sandbox, az_account, queue, sqs_endpoint):
    sqs, url = queue
    az_account.seller_id = SELLER
    az_account.save()
    [order_id] = sandbox.amazon.create_orders(count=1)
    sqs.send_message(QueueUrl=url, MessageBody=order_change(order_id))
    sqs.send_message(QueueUrl=url, MessageBody="not a notification")
    sqs.send_message(QueueUrl=url, MessageBody=order_change("111-1111111-1111111", seller="SOMEONEELSE"))

    call_command("consume_amazon_notifications", queue_url=url, endpoint_url=sqs_endpoint, polls=1, wait=1)

    assert Order.objects.filter(account=az_account, channel_order_id=order_id).exists()
    assert left_in(sqs, url) == 0  # imported, unreadable and unknown-seller messages are all done with


def test_a_message_whose_import_fails_stays_in_the_queue(sandbox, az_account, queue):
    sqs, url = queue
    az_account.seller_id = SELLER
    az_account.save()
    [order_id] = sandbox.amazon.create_orders(count=1)
    sandbox.faults.add(kind="500", path="/orders/2026-01-01/orders/", count=3)  # every read retry fails
    sqs.send_message(QueueUrl=url, MessageBody=order_change(order_id))
    from orders.services.push import amazon_order_change_import

    handle = lambda change: amazon_order_change_import(change=change)  # noqa: E731
    assert consume_once(sqs=sqs, queue_url=url, handle=handle, wait_seconds=1) == 0
    assert left_in(sqs, url) == 1 and not Order.objects.exists()
    assert consume_once(sqs=sqs, queue_url=url, handle=handle, wait_seconds=2) == 1  # received again after 1 s
    assert Order.objects.filter(channel_order_id=order_id).exists() and left_in(sqs, url) == 0
