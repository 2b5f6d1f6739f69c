"""Dates and times as operators read them: one format (config/formats), in the operators' time zone
(settings.TIME_ZONE, default UTC) with the zone shown; the Order Log adds seconds; exports use ISO 8601."""

import datetime as dt
import functools

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format

LOG_FORMAT = "Y-m-d H:i:s T"
# The format letters the one format uses, as strftime's (T: the zone's abbreviation, as Django's).
STRFTIME = {"Y": "%Y", "m": "%m", "d": "%d", "H": "%H", "i": "%M", "s": "%S", "T": "%Z"}


def operator_datetime(value: dt.datetime | None, *, seconds: bool = False) -> str:
    if value is None:
        return "—"
    django_format = LOG_FORMAT if seconds else get_format("DATETIME_FORMAT")
    pattern = _strftime_pattern(django_format)
    local = timezone.localtime(value)
    # strftime is five times quicker than Django's formatter, which the grid felt (two cells a row).
    return local.strftime(pattern) if pattern else date_format(local, django_format)


@functools.cache
def _strftime_pattern(django_format: str) -> str | None:
    """The Django date format as a strftime pattern, or None if it uses a letter STRFTIME lacks."""
    pattern = []
    for char in django_format:
        if char in STRFTIME:
            pattern.append(STRFTIME[char])
        elif char.isalpha() or char == "\\":
            return None
        else:
            pattern.append(char.replace("%", "%%"))
    return "".join(pattern)


def iso_datetime(value: dt.datetime | None) -> str:
    """ISO 8601 with the offset, in the operators' time zone (CSV exports)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""  # as the README shows
