"""The one source of ClickHouse DDL: table definitions, rendered DDL and versioned migrations.

`tables.py` describes every table once; `render.py` turns a definition into single-node DDL;
`migrate.py` applies the numbered migrations idempotently when the collector starts.
"""

from ingest_schema.migrate import MIGRATIONS, apply_migrations
from ingest_schema.tables import TABLES, Column, Table

__all__ = ["MIGRATIONS", "TABLES", "Column", "Table", "apply_migrations"]
