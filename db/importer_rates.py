"""Importer phase for exchange rates (DESIGN §3a): one row per currency and start day, upserted on both.

A rate is how many units of the currency make one unit of the org currency (Salesforce's ConversionRate), valid
from `valid_from` through `valid_to` (inclusive; empty = until a later rate of the same currency starts).
"""

from __future__ import annotations

from sqlalchemy import select

from db.importer_base import RunBase, _Batch
from db.importer_model import Row
from db.mapping import FileSpec
from db.schema import exchange_rates


class RatePhases(RunBase):
    def _exchange_rates(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["exchange_rates"]
        r = exchange_rates
        current = {(x.currency, x.valid_from): dict(x._mapping) for x in conn.execute(select(r))}
        for spec in specs:
            batch = _Batch()
            seen: dict[tuple, tuple[Row, dict]] = {}
            for row in self.rows[spec.index]:
                ok = True
                for target, what in (("currency", "the currency"), ("rate", "the rate"),
                                     ("valid_from", "the first day the rate is valid (valid_from)")):
                    ok = self._required(row, target, what) and ok
                if not ok:
                    continue
                start, end = row.values["valid_from"], row.values.get("valid_to")
                if end is not None and end < start:
                    self.reject(row, *row.source("valid_to"), f"the rate stops being valid before it starts ({start}).")
                    continue
                ident = (row.values["currency"], start)
                desired = {"rate": row.values["rate"], "valid_to": end}
                if row.key:
                    desired["external_id"] = row.key
                if ident in seen:
                    if not spec.distinct or seen[ident][1] != desired:
                        self.reject(row, *row.source("valid_from"),
                                    f"{ident[0]} already has a rate from {start} on line {seen[ident][0].line}.")
                    continue
                seen[ident] = (row, desired)
                self._upsert(counts, ident, desired, current, batch, {"currency": ident[0], "valid_from": start})
            self._flush(conn, r, batch, current)
