"""Bulk inserts through PostgreSQL's COPY, for imports: no SQL to compile and no parameters to quote,
which is where most of an import page's time went with bulk_create. Other databases use bulk_create."""

import json
import operator
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, JSONField, Model


def copy_insert(objs: Sequence[Model], *, with_pk: bool = False) -> None:
    """Insert new model instances. Without `with_pk` their primary keys are not read back (callers
    that need them set them first with `reserve_ids`, and pass with_pk=True)."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[DEFAULT_DB_ALIAS]  # the connection itself: the proxy costs a lookup per value
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000)
        return
    fields = [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]
    getters = [_value_getter(field, connection) for field in fields]
    _copy(connection, model, fields, ([get(obj) for get in getters] for obj in objs))
    if with_pk:
        for obj in objs:  # saved rows now, as after bulk_create
            obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS


def copy_rows(model: type[Model], field_names: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Insert plain rows (values in `field_names` order, database-ready) without building model
    instances: for the many small rows of an import (Order Log lines)."""
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [model._meta.get_field(name) for name in field_names]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**{field.attname: value for field, value in zip(fields, row)})
                                   for row in rows], batch_size=1000)
        return
    _copy(connection, model, fields, rows)


def _copy(connection, model: type[Model], fields: Sequence[Field], rows: Iterable[Sequence[object]]) -> None:
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    # Django's cursor wrapper hides psycopg's copy(); the raw cursor has it. Its errors are turned into
    # Django's (DataError, OperationalError…) as for any query, so callers can tell them apart.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """`count` primary keys for rows this transaction is about to insert, so rows pointing at them
    can be built before anything is written. PostgreSQL: from the column's own sequence. SQLite:
    above the highest id — writers are serialised (IMMEDIATE transactions), so nobody else inserts
    meanwhile."""
    if count <= 0:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk, count])
            return [row[0] for row in cursor.fetchall()]
        if not connection.in_atomic_block:
            raise RuntimeError("reserve_ids() must run inside the transaction that inserts the rows")
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(pk)}) FROM {connection.ops.quote_name(table)}")
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(highest, row[0] if row else 0) + 1
        return list(range(start, start + count))


def new_row(model: type[Model], **values: object) -> Model:
    """A model instance for a row about to be inserted in bulk, built the quick way (Django's
    positional constructor, about three times faster than keywords). `values` by attname
    (`product_id`, not `product`); fields not given take their defaults."""
    row = model(*[values.pop(field.attname) if field.attname in values else field.get_default()
                  for field in model._meta.concrete_fields])
    if values:
        raise TypeError(f"{model.__name__} has no fields {sorted(values)}")
    return row


class JSONText(str):
    """A JSON value encoded already, as its field's encoder would have (the import's payloads, encoded
    by the process that read them): `copy_insert` writes it as it is."""


def json_value(value: Any) -> Any:
    """The value itself, decoded when it is JSONText (amounts as Decimal, as the channel clients read them)."""
    return json.loads(value, parse_float=Decimal) if isinstance(value, JSONText) else value


def _value_getter(field: Field, connection) -> Callable[[Model], object]:
    """psycopg adapts plain values itself; only JSON and automatic timestamps need Django's preparation."""
    if isinstance(field, JSONField):
        def get_json(obj: Model) -> object:
            value = getattr(obj, field.attname)
            return value if isinstance(value, JSONText) else field.get_db_prep_save(value, connection)
        return get_json
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    return operator.attrgetter(field.attname)
