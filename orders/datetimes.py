"""Dates and times as operators read them: one format (config/formats), in the operators' time zone
(settings.TIME_ZONE, default UTC) with the zone shown; the Order Log adds seconds; exports use ISO 8601."""

import datetime as dt

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format

LOG_FORMAT = "Y-m-d H:i:s T"


def operator_datetime(value: dt.datetime | None, *, seconds: bool = False) -> str:
    if value is None:
        return "—"
    return date_format(timezone.localtime(value), LOG_FORMAT if seconds else get_format("DATETIME_FORMAT"))


def iso_datetime(value: dt.datetime | None) -> str:
    """ISO 8601 with the offset, in the operators' time zone (CSV exports)."""
    return timezone.localtime(value).isoformat() if value else ""
