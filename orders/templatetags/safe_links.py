"""Only http(s) URLs become links. A URL from a channel (tracking URLs) or an operator is data:
anything else (javascript:, data:, ftp:, a missing scheme) is shown as plain, escaped text.
In templates: `{% load safe_links %}{{ url|http_link }}` or `{{ url|http_link:"label" }}`."""

from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html

register = template.Library()

LINK_SCHEMES = ("http", "https")


def is_http_url(value: object) -> bool:
    if not isinstance(value, str) or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(parts.hostname)


@register.filter
def http_link(url: object, text: object = None):
    """An <a> for an http(s) URL; the text (or the URL itself) as plain text otherwise."""
    label = url if text in (None, "") else text
    if is_http_url(url):
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', url, label)
    return format_html("{}", label or "")
