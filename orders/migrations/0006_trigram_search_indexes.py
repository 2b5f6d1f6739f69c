"""Trigram indexes for the grid's substring search (buyer name, item title) on PostgreSQL.
SQLite has no such index; its searches scan, which is fine at its sizes."""

from django.db import migrations

INDEXES = [
    ("order_buyer_name_trgm_idx", "orders_order", 'UPPER(("buyer_name")::text) gin_trgm_ops'),
    ("order_item_title_trgm_idx", "orders_orderitem", 'UPPER(("title")::text) gin_trgm_ops'),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_orderreturn_orderreturnline_and_more")]
    operations = [migrations.RunPython(create, drop)]
