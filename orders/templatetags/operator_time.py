from django import template

from ..datetimes import operator_datetime

register = template.Library()


@register.filter
def with_seconds(value) -> str:
    """The Order Log's time: the one date-time format, with seconds."""
    return operator_datetime(value, seconds=True)
