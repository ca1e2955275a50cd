"""Column types that keep money exact and times in UTC on both PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_PRECISION = 20
MONEY_SCALE = 10
_UNIT = Decimal(1).scaleb(-MONEY_SCALE)  # 1e-10 USD
_PER_UNIT = Decimal(10) ** MONEY_SCALE


class Money(TypeDecorator[Decimal]):
    """USD as NUMERIC(20, 10); on SQLite an integer count of 1e-10 USD.

    SQLite has no decimal type: NUMERIC values become floats there and SUM() drifts. Integers
    keep sums exact, and the same Decimal comes back on both dialects.
    """

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value).quantize(_UNIT, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(amount * _PER_UNIT)
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _PER_UNIT).quantize(_UNIT)
        return Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp (TIMESTAMPTZ; on SQLite, naive UTC text that sorts)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores aware UTC times only")
        value = value.astimezone(UTC)
        # SQLite keeps text: dropping the offset keeps one format, so comparisons stay lexical.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
