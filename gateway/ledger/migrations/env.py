"""Alembic environment for the ledger: runs on the connection gateway.ledger.migrate hands it."""

from __future__ import annotations

from alembic import context

from gateway.ledger.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run ledger migrations through `gateway db upgrade` (gateway.ledger.migrate)")

# Batch mode lets ALTERs that SQLite lacks (dropping a column) work by copying the table.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
