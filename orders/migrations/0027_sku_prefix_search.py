"""The grid's search finds the start of a SKU in any case (UPPER(sku) LIKE 'ABC%'): on PostgreSQL the
UPPER(sku) index gets text_pattern_ops, which serves a prefix (and a whole SKU) whatever the
database's collation. SQLite has no operator classes; its search scans, which is fine at its sizes."""

from django.db import migrations

NAME, TABLE = "order_item_sku_upper_idx", "orders_orderitem"


def _rebuild(schema_editor, opclass: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")
    schema_editor.execute(f'CREATE INDEX {NAME} ON {TABLE} (UPPER(("sku")::text) {opclass})')


def pattern_ops(apps, schema_editor):
    _rebuild(schema_editor, "text_pattern_ops")


def default_ops(apps, schema_editor):
    _rebuild(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [("orders", "0026_shipment_withdrawn")]
    operations = [migrations.RunPython(pattern_ops, default_ops)]
