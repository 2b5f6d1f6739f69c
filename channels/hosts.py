"""Where an account's secrets may be sent. Production accounts talk only to the channels' own hosts,
over https; other hosts (the sandbox, test doubles) only when settings.CHANNEL_EXTRA_HOSTS names
them. Checked when an account is saved in the admin and again before any client is built, so an
account changed another way cannot send its credentials elsewhere either."""

from urllib.parse import urlsplit

from django.conf import settings

from .clients import PermanentChannelError
from .models import Channel

WALMART_API_HOSTS = frozenset({"marketplace.walmartapis.com", "sandbox.walmartapis.com"})
AMAZON_API_HOSTS = frozenset(
    f"{prefix}sellingpartnerapi-{region}.amazon.com" for prefix in ("", "sandbox.") for region in ("na", "eu", "fe")
)
# Login with Amazon, where the refresh token is exchanged (the North American host serves every region).
AMAZON_TOKEN_HOSTS = frozenset({"api.amazon.com", "api.amazon.co.uk", "api.amazon.co.jp"})
AMAZON_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

KNOWN_HOSTS = {
    ("api", Channel.WALMART): WALMART_API_HOSTS,
    ("api", Channel.AMAZON): AMAZON_API_HOSTS,
    ("token", Channel.AMAZON): AMAZON_TOKEN_HOSTS,
}


class UntrustedChannelHost(PermanentChannelError):
    """An account would send its credentials to a host that is not the channel's."""


def check_channel_url(*, channel: str, url: str, purpose: str = "api") -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in {h.lower() for h in settings.CHANNEL_EXTRA_HOSTS} and parts.scheme in ("http", "https"):
        return
    known = KNOWN_HOSTS.get((purpose, channel), frozenset())
    if parts.scheme == "https" and host in known and parts.port in (None, 443):
        return
    label = Channel(channel).label if channel in Channel.values else channel
    raise UntrustedChannelHost(
        f"{url} is not a {label} {'token' if purpose == 'token' else 'API'} address; "
        f"use one of: {', '.join(f'https://{h}' for h in sorted(known)) or 'none'}"
    )


def default_token_url(*, base_url: str) -> str:
    """Real Amazon accounts exchange tokens at Login with Amazon; anything else (the sandbox) on its own host."""
    if (urlsplit(base_url).hostname or "").lower() in AMAZON_API_HOSTS:
        return AMAZON_TOKEN_URL
    return f"{base_url.rstrip('/')}/auth/o2/token"
