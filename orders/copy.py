"""Bulk inserts through PostgreSQL's COPY, for imports: no SQL to compile and no parameters to quote,
which is where most of an import page's time went with bulk_create. Other databases use bulk_create."""

import operator
from collections.abc import Callable, Sequence

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, JSONField, Model


def copy_insert(objs: Sequence[Model], *, batch_size: int = 1000) -> None:
    """Insert new model instances. With COPY their primary keys are not read back: callers that
    need them look the rows up by a natural key."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[DEFAULT_DB_ALIAS]  # the connection itself: the proxy costs a lookup per value
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    getters = [_value_getter(field, connection) for field in fields]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    # Django's cursor wrapper hides psycopg's copy(); the raw cursor has it. Its errors are turned into
    # Django's (DataError, OperationalError…) as for any query, so callers can tell them apart.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([get(obj) for get in getters])


def _value_getter(field: Field, connection) -> Callable[[Model], object]:
    """psycopg adapts plain values itself; only JSON and automatic timestamps need Django's preparation."""
    if isinstance(field, JSONField) or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    return operator.attrgetter(field.attname)
