"""Which client serves an account. Clients are kept per account and credentials, so a worker
reuses its connection pool and cached token across actions."""

from __future__ import annotations

import hashlib
import threading

from django.conf import settings

from .clients import ChannelClient
from .hosts import check_channel_url, default_token_url
from .models import Channel, ChannelAccount
from .pacing import AMAZON_LIMITS, WALMART_LIMITS, Pacer

_clients: dict[tuple, ChannelClient] = {}
_lock = threading.Lock()


def client_for(account: ChannelAccount) -> ChannelClient:
    key = (account.pk, account.channel, account.base_url, account.token_url, account.orders_api, _timeout(),
           hashlib.sha256(account.encrypted_credentials.encode()).hexdigest())
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _build(account)
            _clients[key] = client
        return client


def _build(account: ChannelAccount) -> ChannelClient:
    """Raises UntrustedChannelHost before any secret leaves for a host that is not the channel's."""
    credentials = account.credentials
    check_channel_url(channel=account.channel, url=account.base_url)
    if account.channel == Channel.WALMART:
        from .walmart.client import WalmartClient

        return WalmartClient(
            base_url=account.base_url,
            client_id=credentials.get("client_id", ""),
            client_secret=credentials.get("client_secret", ""),
            timeout=_timeout(),
            pacer=Pacer(account_key=_pace_key(account), limits=WALMART_LIMITS, label="Walmart"),
        )
    if account.channel == Channel.AMAZON:
        from .amazon.client import AmazonClient

        token_url = account.token_url or default_token_url(base_url=account.base_url)
        check_channel_url(channel=account.channel, url=token_url, purpose="token")
        return AmazonClient(
            base_url=account.base_url,
            token_url=token_url,
            client_id=credentials.get("client_id", ""),
            client_secret=credentials.get("client_secret", ""),
            refresh_token=credentials.get("refresh_token", ""),
            marketplace_id=account.marketplace.code,
            merchant_id=account.seller_id,
            orders_api=account.orders_api,
            timeout=_timeout(),
            pacer=Pacer(account_key=_pace_key(account), limits=AMAZON_LIMITS, label="Amazon"),
        )
    raise ValueError(f"no client for channel {account.channel!r}")


def _pace_key(account: ChannelAccount) -> str:
    """The account's buckets; its creation time keeps a recreated account (same id) off old buckets."""
    created = account.created_at.timestamp() if account.created_at else 0
    return f"{account.channel}:{account.pk}:{created:.0f}"


def _timeout() -> tuple[float, float]:
    return (settings.CHANNEL_HTTP_CONNECT_TIMEOUT, settings.CHANNEL_HTTP_READ_TIMEOUT)


def forget_clients() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
