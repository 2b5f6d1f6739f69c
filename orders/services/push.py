"""Importing one order the channel told us about (issue 12 §3): a Walmart ORDER_UPDATES webhook or
an Amazon ORDER_CHANGE notification names an order, and it is read and stored at once, through the
same page upsert as the periodic import (which stays as the safety net for anything not pushed).

The notification is only a hint: what is stored is what the channel answers when asked for the
order, so a forged or stale notification can at most make us read an order again."""

from __future__ import annotations

import logging

from channels.amazon.notifications import OrderChange
from channels.clients import OrderUnreadable, UnreadableOrder
from channels.models import Channel, ChannelAccount
from channels.registry import client_for

from .importing import ImportResult, upsert_page

logger = logging.getLogger("orders.push")


def order_import_pushed(*, account: ChannelAccount, channel_order_id: str) -> ImportResult:
    """Read one order from the channel and store it (or keep it aside as an import problem), with
    the account's options, as the import does. Channel errors propagate: the sender retries
    (Walmart re-sends an unanswered webhook; an SQS message not deleted comes back)."""
    try:
        page = [client_for(account).get_order(channel_order_id)]
    except OrderUnreadable as unreadable:
        page = [UnreadableOrder(channel_order_id=channel_order_id, raw=None, reason=str(unreadable))]
    result = ImportResult(pages=1)
    upsert_page(account=account, page=page, result=result)
    logger.info("%s order %s pushed by the channel: %s", account.title, channel_order_id, result)
    return result


def amazon_order_change_import(*, change: OrderChange) -> ImportResult | None:
    """An ORDER_CHANGE notification: import the order into the active account of that seller and
    marketplace. None when no account here is that seller's (logged; the message is done with)."""
    accounts = ChannelAccount.objects.filter(channel=Channel.AMAZON, is_active=True, seller_id=change.seller_id)
    if change.marketplace_id:
        accounts = accounts.filter(marketplace__code=change.marketplace_id)
    account = accounts.first()
    if account is None:
        logger.warning("ORDER_CHANGE for order %s of seller %s (%s): no active account is that seller's",
                       change.order_id, change.seller_id, change.marketplace_id or "no marketplace")
        return None
    return order_import_pushed(account=account, channel_order_id=change.order_id)
