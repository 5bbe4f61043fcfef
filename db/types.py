"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

# Money is exact: NUMERIC(18, 2) on PostgreSQL; on SQLite the value comes back as Decimal.
Money = Numeric(18, 2, asdecimal=True)


class UTCDateTime(TypeDecorator):
    """A time-zone-aware timestamp, stored in UTC.

    PostgreSQL keeps it as `timestamptz`; SQLite has no time zones, so the value is stored as naive UTC and
    made aware again on the way out. Naive input is refused: every instant the bot handles carries its zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be time-zone aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
