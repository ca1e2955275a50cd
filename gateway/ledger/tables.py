"""The ledger schema: requests, teams, API keys and budgets (SQLAlchemy Core tables)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from gateway.ledger.types import Money, UtcDateTime

# Stable constraint names, so that migrations can drop what they created on both dialects.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
})

SCOPES = ("key", "team")
PERIODS = ("day", "week", "month")

requests = Table(
    "requests", metadata,
    # The gateway's request id is the natural key: inserts are idempotent on it.
    Column("request_id", String(128), primary_key=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("key_id", String(128), nullable=False),
    Column("team", String(128)),
    Column("category", String(64)),
    Column("confidence", Float),
    Column("verdict", String(64)),
    Column("requested_model", String(256), nullable=False),
    Column("model", String(256)),
    Column("deployment", String(256)),
    Column("provider", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("tool_repairs", Integer, nullable=False, default=0),
    Column("fallbacks", Integer, nullable=False, default=0),
    Column("status", Integer, nullable=False),
    Column("error_code", String(128)),
    Column("stream", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("input_tokens", BigInteger, nullable=False, default=0),
    Column("cached_input_tokens", BigInteger, nullable=False, default=0),
    Column("cache_write_tokens", BigInteger, nullable=False, default=0),
    Column("output_tokens", BigInteger, nullable=False, default=0),
    Column("reasoning_tokens", BigInteger, nullable=False, default=0),
    Column("cost_usd", Money(), nullable=False),
    Column("baseline_usd", Money(), nullable=False),
    Column("cache_savings_usd", Money()),
    Index(None, "started_at"),
    Index(None, "team", "started_at"),
    Index(None, "key_id", "started_at"),
)

teams = Table(
    "teams", metadata,
    Column("name", String(128), primary_key=True),
    Column("constraints", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(64), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("team", String(128)),
    Column("name", String(256)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("rpm", Integer),
    Column("tpm", BigInteger),
)

budgets = Table(
    "budgets", metadata,
    Column("scope", String(8), primary_key=True),
    Column("scope_id", String(128), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("limit_usd", Money(), nullable=False),
    Column("soft_fraction", Float),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("scope IN ('key', 'team')", name="scope"),
    CheckConstraint("period IN ('day', 'week', 'month')", name="period"),
    CheckConstraint("soft_fraction IS NULL OR (soft_fraction > 0 AND soft_fraction <= 1)", name="soft_fraction"),
)
