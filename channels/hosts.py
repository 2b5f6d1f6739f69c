"""Where an account's secrets may be sent. Production accounts talk only to the channels' own hosts,
over https; other hosts (the sandbox, test doubles) only when settings.CHANNEL_EXTRA_HOSTS names
them. Checked when an account is saved (admin form, add_channel_account) and again before any
client is built, so an account changed another way cannot send its credentials elsewhere either.

The host checked must be the host the HTTP client connects to. Python's urlsplit and urllib3 (what
requests uses) read some URLs differently — `https://evil.com\\@api.amazon.com` is api.amazon.com
to one and evil.com to the other — so only URLs both read alike, and that leave nothing to read
differently, are accepted: scheme, plain host name (or IPv4 address), optional port, path. No
backslash, user info, percent-encoding or non-ASCII in the address, no query or fragment."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

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

# A DNS name of ASCII labels, no trailing dot; an IPv4 address matches it too.
PLAIN_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*", re.IGNORECASE)
PLAIN_NETLOC = re.compile(rf"(?P<host>{PLAIN_HOST.pattern})(?::(?P<port>[0-9]{{1,5}}))?", re.IGNORECASE)
# Characters an address may hold at all: printable ASCII but the backslash, the percent sign and spaces.
PLAIN_URL = re.compile(r"[!-$&-\[\]-~]*")


class UntrustedChannelHost(PermanentChannelError):
    """An account would send its credentials to a host that is not the channel's."""


def _destination(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) the HTTP client would connect to, or None when the URL is anything but
    scheme://host[:port][/path] read the same way by urlsplit and by urllib3."""
    if not PLAIN_URL.fullmatch(url):
        return None
    parts = urlsplit(url)
    netloc = PLAIN_NETLOC.fullmatch(parts.netloc)
    if netloc is None or parts.query or parts.fragment or "?" in url or "#" in url:
        return None
    try:
        sent = parse_url(url)
    except LocationParseError:
        return None
    port = int(netloc["port"]) if netloc["port"] else None
    host = netloc["host"].lower()
    if (sent.scheme, sent.auth, (sent.host or "").lower(), sent.port) != (parts.scheme.lower(), None, host, port):
        return None
    return parts.scheme.lower(), host, port


def check_channel_url(*, channel: str, url: str, purpose: str = "api") -> None:
    destination = _destination(url)
    if destination is not None:
        scheme, host, port = destination
        if host in {h.lower() for h in settings.CHANNEL_EXTRA_HOSTS} and scheme in ("http", "https"):
            return
        if scheme == "https" and host in KNOWN_HOSTS.get((purpose, channel), frozenset()) and port in (None, 443):
            return
    known = KNOWN_HOSTS.get((purpose, channel), frozenset())
    label = Channel(channel).label if channel in Channel.values else channel
    raise UntrustedChannelHost(
        f"{url} is not a {label} {'token' if purpose == 'token' else 'API'} address; "
        f"use one of: {', '.join(f'https://{h}' for h in sorted(known)) or 'none'}"
    )


def default_token_url(*, base_url: str) -> str:
    """Real Amazon accounts exchange tokens at Login with Amazon; anything else (the sandbox) on its own host."""
    destination = _destination(base_url)
    if destination is not None and destination[1] in AMAZON_API_HOSTS:
        return AMAZON_TOKEN_URL
    return f"{base_url.rstrip('/')}/auth/o2/token"
