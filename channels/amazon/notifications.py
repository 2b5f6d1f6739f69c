"""Amazon ORDER_CHANGE notifications from an SQS queue (Notifications API v1, SQS workflow;
schemas/notifications/OrderChangeNotification.json in selling-partner-api-models): each message body
is the notification JSON; `Payload.OrderChangeNotification` names the seller (SellerId), the order
(AmazonOrderId) and its marketplace (Summary.MarketplaceId).

A message is deleted once handled, or when it can never be handled (not an ORDER_CHANGE
notification); when handling fails it is left in the queue and SQS offers it again after its
visibility timeout, so a channel outage loses nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("channels.amazon.notifications")


@dataclass(frozen=True)
class OrderChange:
    seller_id: str
    marketplace_id: str
    order_id: str
    change_type: str  # OrderStatusChange | BuyerRequestedChange


class NotANotification(ValueError):
    """The message is not an ORDER_CHANGE notification we can act on (said in plain words)."""


def read_order_change(body: str) -> OrderChange:
    try:
        document = json.loads(body)
    except ValueError:
        raise NotANotification("the message is not JSON") from None
    if not isinstance(document, dict) or document.get("NotificationType") != "ORDER_CHANGE":
        raise NotANotification("the message is not an ORDER_CHANGE notification")
    change = (document.get("Payload") or {}).get("OrderChangeNotification") if isinstance(
        document.get("Payload"), dict) else None
    if not isinstance(change, dict):
        raise NotANotification("Payload.OrderChangeNotification is missing")
    summary = change.get("Summary") if isinstance(change.get("Summary"), dict) else {}
    values = {"seller_id": change.get("SellerId"), "order_id": change.get("AmazonOrderId"),
              "marketplace_id": summary.get("MarketplaceId", "")}
    for name in ("seller_id", "order_id"):
        if not isinstance(values[name], str) or not 0 < len(values[name]) <= 64:
            raise NotANotification(f"{'SellerId' if name == 'seller_id' else 'AmazonOrderId'} is missing or not an id")
    return OrderChange(change_type=str(change.get("OrderChangeType", "")), **{k: str(v) for k, v in values.items()})


def sqs_client(*, endpoint_url: str = "", region: str = "") -> Any:
    import boto3

    return boto3.client("sqs", endpoint_url=endpoint_url or None, region_name=region or None)


def consume_once(*, sqs: Any, queue_url: str, handle: Callable[[OrderChange], None], wait_seconds: int = 20) -> int:
    """One long poll of the queue (up to 10 messages); returns how many were handled."""
    answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
    handled = 0
    for message in answer.get("Messages", []):
        try:
            change = read_order_change(message.get("Body", ""))
        except NotANotification as unusable:
            logger.warning("SQS message %s dropped: %s", message.get("MessageId"), unusable)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            continue
        try:
            handle(change)
        except Exception:  # left in the queue: SQS offers it again after the visibility timeout
            logger.exception("ORDER_CHANGE for order %s not handled; it will be received again", change.order_id)
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        handled += 1
    return handled
