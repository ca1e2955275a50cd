"""Initial ledger: requests, teams, API keys, budgets.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.ledger.types import Money, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128)),
        sa.Column("category", sa.String(64)),
        sa.Column("confidence", sa.Float),
        sa.Column("verdict", sa.String(64)),
        sa.Column("requested_model", sa.String(256), nullable=False),
        sa.Column("model", sa.String(256)),
        sa.Column("deployment", sa.String(256)),
        sa.Column("provider", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("tool_repairs", sa.Integer, nullable=False),
        sa.Column("fallbacks", sa.Integer, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_code", sa.String(128)),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ttft_ms", sa.Float),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("cached_input_tokens", sa.BigInteger, nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", Money(), nullable=False),
        sa.Column("baseline_usd", Money(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_requests"),
    )
    op.create_index("ix_requests_started_at", "requests", ["started_at"])
    op.create_index("ix_requests_team_started_at", "requests", ["team", "started_at"])
    op.create_index("ix_requests_key_id_started_at", "requests", ["key_id", "started_at"])

    op.create_table(
        "teams",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("constraints", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_teams"),
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("team", sa.String(128)),
        sa.Column("name", sa.String(256)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime()),
        sa.Column("rpm", sa.Integer),
        sa.Column("tpm", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )

    op.create_table(
        "budgets",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("scope_id", sa.String(128), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("limit_usd", Money(), nullable=False),
        sa.Column("soft_fraction", sa.Float),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "scope_id", "period", name="pk_budgets"),
        sa.CheckConstraint("scope IN ('key', 'team')", name="ck_budgets_scope"),
        sa.CheckConstraint("period IN ('day', 'week', 'month')", name="ck_budgets_period"),
        sa.CheckConstraint("soft_fraction IS NULL OR (soft_fraction > 0 AND soft_fraction <= 1)",
                           name="ck_budgets_soft_fraction"),
    )


def downgrade() -> None:
    op.drop_table("budgets")
    op.drop_table("api_keys")
    op.drop_table("teams")
    op.drop_index("ix_requests_key_id_started_at", table_name="requests")
    op.drop_index("ix_requests_team_started_at", table_name="requests")
    op.drop_index("ix_requests_started_at", table_name="requests")
    op.drop_table("requests")
