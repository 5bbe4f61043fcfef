"""Small builders for hand-made test data. Every test states the rows it needs; nothing is implied."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import Engine, insert

from db.schema import accounts, activities, opportunities, opportunity_history, quotas, reps

_ids = itertools.count(1)


def at(d: date, hour: int = 12) -> datetime:
    """Noon UTC on a date: a convenient aware instant."""
    return datetime.combine(d, time(hour), tzinfo=UTC)


class Factory:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _insert(self, table, values: dict) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(table).returning(table.c.id), values).scalar_one()

    def rep(self, name: str, role: str = "rep", manager: int | None = None, **kw) -> int:
        slug = name.lower().replace(" ", ".")
        values = {
            "external_id": kw.pop("external_id", f"rep-{slug}"),
            "name": name,
            "email": kw.pop("email", f"{slug}@example.com"),
            "role": role,
            "manager_id": manager,
            "active": kw.pop("active", True),
            "timezone": kw.pop("timezone", "UTC"),
            **kw,
        }
        return self._insert(reps, values)

    def account(self, name: str, **kw) -> int:
        return self._insert(accounts, {"external_id": kw.pop("external_id", f"acc-{next(_ids)}"), "name": name, **kw})

    def deal(
        self,
        owner: int | None,
        stage: str,
        amount: Decimal | str | int | None,
        close_date: date | None,
        created: date = date(2026, 1, 5),
        **kw,
    ) -> int:
        """An opportunity, with one history row recording its current state at creation unless history=False."""
        write_history = kw.pop("history", True)
        amount = None if amount is None else Decimal(str(amount))
        values = {
            "external_id": kw.pop("external_id", f"opp-{next(_ids)}"),
            "name": kw.pop("name", f"Deal {next(_ids)}"),
            "owner_id": owner,
            "stage": stage,
            "amount": amount,
            "currency": kw.pop("currency", "USD"),
            "created_at": at(created),
            "close_date": close_date,
            "stage_entered_at": kw.pop("stage_entered_at", at(created)),
            "updated_at": kw.pop("updated_at", at(created)),
            **kw,
        }
        opp_id = self._insert(opportunities, values)
        if write_history:
            self.history(opp_id, at(created), stage=stage, amount=amount, close_date=close_date,
                         probability=values.get("probability"), forecast_category=values.get("forecast_category"))
        return opp_id

    def history(self, opp_id: int, changed_at: datetime, **fields) -> int:
        return self._insert(opportunity_history, {"opportunity_id": opp_id, "changed_at": changed_at, **fields})

    def activity(self, opp_id: int | None, rep_id: int | None, occurred_at: datetime, kind: str = "call") -> int:
        return self._insert(
            activities, {"opportunity_id": opp_id, "rep_id": rep_id, "kind": kind, "occurred_at": occurred_at}
        )

    def quota(self, rep_id: int, start: date, end: date, amount: Decimal | str | int) -> int:
        return self._insert(
            quotas, {"rep_id": rep_id, "period_start": start, "period_end": end, "amount": Decimal(str(amount))}
        )
