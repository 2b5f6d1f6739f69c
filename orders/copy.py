"""Bulk inserts through PostgreSQL's COPY, for imports: no SQL to compile and no parameters to quote,
which is where most of an import page's time went with bulk_create. Other databases use bulk_create."""

import datetime as dt
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, JSONField, Model, signals
from django.db.models.base import ModelState
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone


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
    _copy(connection, model, fields, map(_row_reader(fields, connection), objs))
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
    """A model instance for a row about to be inserted in bulk, built the quick way: its fields set
    as Django's constructor sets those of a new row, without the constructor's general work (an
    order row in 1.3 µs instead of 12; an import builds five rows an order). `values` by attname
    (`product_id`, not `product`); fields not given take their defaults, the constant ones copied
    in at once."""
    layout = _layout(model)
    if not layout.names.issuperset(values):
        raise TypeError(f"{model.__name__} has no fields {sorted(set(values) - layout.names)}")
    row = model.__new__(model)
    state = row.__dict__
    state.update(layout.constants)
    for name, make in layout.made:
        if name not in values:
            state[name] = make()
    state.update(values)
    row._state = ModelState()
    return row


@dataclass(frozen=True)
class _Layout:
    names: frozenset[str]  # every field's attname
    constants: dict[str, object]  # defaults that are values (shared by the rows, as Django shares them)
    made: tuple[tuple[str, Callable[[], object]], ...]  # defaults made for each row (dict, list, uuid4…)


_layouts: dict[type[Model], _Layout] = {}


def _layout(model: type[Model]) -> _Layout:
    """The model's fields and defaults, for `new_row`. Only for models whose fields are plain
    attributes and that have no init signals: those would need the constructor."""
    layout = _layouts.get(model)
    if layout is None:
        fields = model._meta.concrete_fields
        if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model) or not all(
                isinstance(getattr(model, field.attname, None), DeferredAttribute) for field in fields):
            raise TypeError(f"new_row() cannot build {model.__name__} rows: they need Django's constructor")
        made = [field for field in fields if field.has_default() and callable(field.default)]
        layout = _layouts[model] = _Layout(
            names=frozenset(field.attname for field in fields),
            constants={field.attname: field.get_default() for field in fields if field not in made},
            made=tuple((field.attname, field.default) for field in made))
    return layout


class JSONText(str):
    """A JSON value encoded already, as its field's encoder would have (the import's payloads, encoded
    by the process that read them): `copy_insert` writes it as it is."""


def json_value(value: Any) -> Any:
    """The value itself, decoded when it is JSONText (amounts as Decimal, as the channel clients read them)."""
    return json.loads(value, parse_float=Decimal) if isinstance(value, JSONText) else value


def _row_reader(fields: Sequence[Field], connection) -> Callable[[Model], list[object]]:
    """A row's values for COPY: the attributes read at once, then those that need preparing put in
    their place — JSON as its field encodes it, and the automatic timestamps, which take the time of
    this insert (one for all its rows, as one statement's rows have); psycopg adapts the others."""
    read = operator.attrgetter(*[field.attname for field in fields])
    now = timezone.now()
    prepared = [(index, prepare) for index, field in enumerate(fields)
                if (prepare := _preparation(field, connection, now))]

    def row(obj: Model) -> list[object]:
        values = list(read(obj)) if len(fields) > 1 else [read(obj)]
        for index, prepare in prepared:
            values[index] = prepare(obj)
        return values

    return row


def _preparation(field: Field, connection, now: dt.datetime) -> Callable[[Model], object] | None:
    if isinstance(field, JSONField):
        def prepare_json(obj: Model) -> object:
            value = getattr(obj, field.attname)
            return value if isinstance(value, JSONText) else field.get_db_prep_save(value, connection)
        return prepare_json
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        stamp = field.get_db_prep_save(now, connection)

        def prepare_timestamp(obj: Model) -> object:
            setattr(obj, field.attname, now)  # as the field's pre_save does
            return stamp
        return prepare_timestamp
    return None
