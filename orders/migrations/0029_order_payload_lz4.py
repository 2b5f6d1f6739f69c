"""An order's payload from the channel (raw_payload, about 2 KB of JSON a Walmart order) compressed
with lz4 instead of PostgreSQL's default pglz: the import writes one with every order, and pglz was a
quarter of PostgreSQL's CPU for a page's orders (BENCHMARKS.md, 2026-12-03, "lz4"). Only the
compression of values written from now on changes: payloads stored before stay pglz, and both are
read alike. A server built without lz4 keeps pglz; SQLite has no such setting."""

from django.db import migrations

KEEP_PGLZ_WHEN_UNSUPPORTED = """
DO $$ BEGIN
    ALTER TABLE orders_order ALTER COLUMN raw_payload SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: order payloads stay compressed with pglz';
END $$
"""


def compress_with(method: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(KEEP_PGLZ_WHEN_UNSUPPORTED.format(method=method))
    return run


class Migration(migrations.Migration):
    dependencies = [("orders", "0028_bulk_job_counts_shown")]
    operations = [migrations.RunPython(compress_with("lz4"), compress_with("DEFAULT"))]
