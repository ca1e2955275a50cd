"""Per-request savings from cached input (filled by the gateway's pricing).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.ledger.types import Money

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows written before this revision never knew their cache savings.
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("cache_savings_usd", Money(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("cache_savings_usd")
