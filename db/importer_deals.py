"""Importer phases for deals: opportunities (with their history), opportunity_history, activities, quotas.

A deal's history stays consistent with the deal: when one is inserted, or its stage, amount, close date,
probability or forecast category changes, a history row records the new state (`_sync_history`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from db.importer_base import _BAD, TRACKED, RunBase, _Batch, _chunks, _latest_history, _noon, _write
from db.importer_model import EntityCounts, Row
from db.mapping import FileSpec
from db.schema import activities, opportunities, opportunity_history, quotas


class DealPhases(RunBase):
    # --- opportunities -----------------------------------------------------------------------------------

    def _opportunities(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["opportunities"]
        o = opportunities
        rows = [row for spec in specs for row in self.rows[spec.index]]
        current = self._current(conn, o, rows)
        keys = {row.key for row in rows}
        latest = _latest_history(conn, [current[k]["id"] for k in keys if k in current])
        people, firms = self._index(conn, "reps", rows, "owner"), self._index(conn, "accounts", rows, "account")
        plain = ("amount", "currency", "probability", "forecast_category", "created_at", "close_date", "closed_at",
                 "stage_entered_at", "last_activity_at", "next_step", "product", "source", "loss_reason",
                 "updated_at")
        for spec in specs:
            batch = _Batch()
            due: dict[str, datetime] = {}
            for row in self.rows[spec.index]:
                ok = self._required(row, "owner", "an owner")
                owner = self._resolve(row, "owner", people, "reps")
                account = self._resolve(row, "account", firms, "accounts")
                stage = self._stage(row, required=True)
                if not ok or _BAD in (owner, account, stage):
                    continue
                v = row.values
                desired = {c: v.get(c) for c in plain if spec.maps(c)}
                desired.update(owner_id=owner, stage=stage)
                if spec.maps("account"):
                    desired["account_id"] = account
                if spec.maps("name"):
                    desired["name"] = v.get("name") or row.key
                cur = current.get(row.key)
                when = self._when(desired, cur, latest)
                self._derive_dates(desired, cur, stage, when)
                explicit = desired.get("updated_at") is not None
                if not explicit:
                    desired.pop("updated_at", None)
                result = self._upsert(counts, row.key, desired, current, batch,
                                      {"external_id": row.key, "name": row.key},
                                      None if explicit else {"updated_at": self.now})
                if result == "inserted" or (result == "updated" and set(TRACKED) & set(batch.updates[-1][1])):
                    due[row.key] = when
            self._flush(conn, o, batch, current)
            for key, when in due.items():
                self._history_due[current[key]["id"]] = when

    def _when(self, desired: dict, cur: dict | None, latest: dict[int, datetime]) -> datetime:
        """When the row's current state began: its updated time, a new deal's created time, else now."""
        if desired.get("updated_at"):
            when = desired["updated_at"]
        elif cur is None and desired.get("created_at"):
            when = desired["created_at"]
        else:
            when = self.now
        last = latest.get(cur["id"]) if cur else None
        if last is not None and when <= last:
            when = max(self.now, last + timedelta(seconds=1))
        return when

    def _derive_dates(self, desired: dict, cur: dict | None, stage: str, when: datetime) -> None:
        """closed_at for closed stages and stage_entered_at on a stage change, unless the file gives them."""
        closed = self._closed.get(stage, False)
        if desired.get("closed_at") is None:
            close_date = desired.get("close_date") if "close_date" in desired else (cur or {}).get("close_date")
            if not closed:
                desired["closed_at"] = None
            elif cur and cur.get("closed_at") and self._closed.get(cur["stage"], False):
                desired["closed_at"] = cur["closed_at"]
            else:
                desired["closed_at"] = _noon(close_date) if close_date else when
        if desired.get("stage_entered_at") is None:
            if cur is not None and cur["stage"] == stage:
                desired.pop("stage_entered_at", None)
            elif cur is None and closed:
                desired["stage_entered_at"] = desired["closed_at"]
            elif cur is None and desired.get("created_at"):
                desired["stage_entered_at"] = desired["created_at"]
            else:
                desired["stage_entered_at"] = when

    # --- opportunity history -----------------------------------------------------------------------------

    def _history(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["opportunity_history"]
        h = opportunity_history
        deals = self._index(conn, "opportunities", [row for spec in specs for row in self.rows[spec.index]],
                            "opportunity")
        for spec in specs:
            resolved = []
            for row in self.rows[spec.index]:
                ok = self._required(row, "opportunity", "the opportunity")
                ok = self._required(row, "changed_at", "changed_at (when the change happened)") and ok
                opp = self._resolve(row, "opportunity", deals, "opportunities")
                stage = self._stage(row, required=False) if spec.maps("stage") else None
                if not ok or _BAD in (opp, stage):
                    continue
                desired = {c: row.values.get(c) for c in TRACKED if spec.maps(c) and c != "stage"}
                if spec.maps("stage"):
                    desired["stage"] = stage
                resolved.append((row, opp, desired))
            if spec.key:
                self._history_by_key(conn, counts, resolved)
                continue
            existing: dict[tuple, dict] = {}
            for chunk in _chunks({opp for _, opp, _ in resolved}):
                for r in conn.execute(select(h).where(h.c.opportunity_id.in_(chunk)).order_by(h.c.id)):
                    existing.setdefault((r.opportunity_id, r.changed_at), dict(r._mapping))
            seen: dict[tuple, tuple[Row, dict]] = {}
            batch = _Batch()
            for row, opp, desired in resolved:
                ident = (opp, row.values["changed_at"])
                if ident in seen:
                    if not spec.distinct or seen[ident][1] != desired:
                        first = seen[ident][0].line
                        self.reject(row, *row.source("changed_at"),
                                    f"the same opportunity already has a change at this time (line {first}).")
                    continue
                seen[ident] = (row, desired)
                self._upsert(counts, ident, desired, existing, batch,
                             {"opportunity_id": opp, "changed_at": ident[1]})
                self._history_due.setdefault(opp, self.now)
            self._flush(conn, h, batch, existing)

    def _history_by_key(self, conn, counts: EntityCounts, resolved: list[tuple[Row, int, dict]]) -> None:
        """History rows with their own ids (a CRM's): appended once by id, never rewritten."""
        h = opportunity_history
        known: set[str] = set()
        for chunk in _chunks([row.key for row, _, _ in resolved]):
            known.update(conn.execute(select(h.c.external_id).where(h.c.external_id.in_(chunk))).scalars())
        fresh = []
        for row, opp, desired in resolved:
            if row.key in known:
                counts.unchanged += 1
                continue
            known.add(row.key)
            fresh.append({"external_id": row.key, "opportunity_id": opp, "changed_at": row.values["changed_at"],
                          **{c: desired.get(c) for c in TRACKED}})
            counts.inserted += 1
        if fresh:
            conn.execute(insert(h), fresh)

    def _sync_history(self, conn) -> None:
        """Append a history row wherever a touched deal's latest history row differs from the deal itself."""
        if not self._history_due:
            return
        o, h = opportunities, opportunity_history
        rows = []
        for chunk in _chunks(sorted(self._history_due)):
            states = {r[0]: tuple(r[1:]) for r in conn.execute(
                select(o.c.id, *(o.c[c] for c in TRACKED)).where(o.c.id.in_(chunk)))}
            latest = {}
            for r in conn.execute(select(h.c.opportunity_id, h.c.changed_at, *(h.c[c] for c in TRACKED))
                                  .where(h.c.opportunity_id.in_(chunk)).order_by(h.c.changed_at, h.c.id)):
                latest[r[0]] = r
            for opp_id, state in states.items():
                last = latest.get(opp_id)
                if last is not None and tuple(last[2:]) == state:
                    continue
                when = self._history_due[opp_id]
                if last is not None and when <= last[1]:
                    when = max(self.now, last[1] + timedelta(seconds=1))
                rows.append({"opportunity_id": opp_id, "changed_at": when, **dict(zip(TRACKED, state, strict=True))})
        if rows:
            conn.execute(insert(h), rows)
            self.counts.setdefault("opportunity_history", EntityCounts()).inserted += len(rows)

    # --- activities --------------------------------------------------------------------------------------

    def _activities(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["activities"]
        a = activities
        rows = [row for spec in specs for row in self.rows[spec.index]]
        deals, firms = self._index(conn, "opportunities", rows, "opportunity"), self._index(conn, "accounts", rows,
                                                                                            "account")
        people = self._index(conn, "reps", rows, "rep")
        o = opportunities
        deal_account = dict(self._select_by_key(conn, select(o.c.id, o.c.account_id), o,
                                                {row.values.get("opportunity") for row in rows}))
        for spec in specs:
            resolved = []
            for row in self.rows[spec.index]:
                ok = self._required(row, "kind", "the kind of activity")
                ok = self._required(row, "occurred_at", "occurred_at (when it happened)") and ok
                opp = self._resolve(row, "opportunity", deals, "opportunities")
                account = self._resolve(row, "account", firms, "accounts")
                rep = self._resolve(row, "rep", people, "reps")
                if not ok or _BAD in (opp, account, rep):
                    continue
                desired = {"kind": row.values["kind"], "occurred_at": row.values["occurred_at"]}
                if spec.maps("subject"):
                    desired["subject"] = row.values.get("subject")
                if spec.maps("opportunity"):
                    desired["opportunity_id"] = opp
                if spec.maps("rep"):
                    desired["rep_id"] = rep
                if account is None and opp is not None:
                    account = deal_account.get(opp)
                if spec.maps("account") or opp is not None:
                    desired["account_id"] = account
                resolved.append((row, desired))
                if opp is not None:
                    self._activity_opps.add(opp)
            batch = _Batch()
            if spec.key:
                current = {}
                for chunk in _chunks([row.key for row, _ in resolved]):
                    for r in conn.execute(select(a).where(a.c.external_id.in_(chunk))):
                        current[r.external_id] = dict(r._mapping)
                for row, desired in resolved:
                    self._upsert(counts, row.key, desired, current, batch, {"external_id": row.key})
                self._flush(conn, a, batch, current)
                continue
            fields = ("opportunity_id", "account_id", "rep_id", "kind", "occurred_at", "subject")
            known: set[tuple] = set()
            if resolved:
                times = [d["occurred_at"] for _, d in resolved]
                for r in conn.execute(select(*(a.c[f] for f in fields))
                                      .where(a.c.occurred_at.between(min(times), max(times)))):
                    known.add(tuple(r))
            seen: dict[tuple, Row] = {}
            for row, desired in resolved:
                ident = tuple(desired.get(f) for f in fields)
                if ident in seen and not spec.distinct:
                    self.reject(row, *row.source("occurred_at"),
                                f"the same activity is already on line {seen[ident].line}; give activities a key "
                                "column, or set `distinct: true` to merge repeats.")
                    continue
                if ident in seen:  # a repeat that `distinct: true` merges
                    continue
                seen[ident] = row
                if ident in known:
                    counts.unchanged += 1
                    continue
                batch.inserts.append((str(len(batch.inserts)), dict(zip(fields, ident, strict=True))))
                counts.inserted += 1
            _write(conn, a, [full for _, full in batch.inserts], [])

    def _sync_last_activity(self, conn) -> None:
        """Opportunities' last_activity_at follows their latest activity (the mapping did not give it)."""
        o, a = opportunities, activities
        updates = []
        for chunk in _chunks(sorted(self._activity_opps)):
            latest = dict(conn.execute(select(a.c.opportunity_id, func.max(a.c.occurred_at))
                                       .where(a.c.opportunity_id.in_(chunk)).group_by(a.c.opportunity_id)).all())
            for opp_id, last in conn.execute(select(o.c.id, o.c.last_activity_at).where(o.c.id.in_(chunk))):
                newest = latest.get(opp_id)
                if newest is not None and (last is None or last < newest):
                    updates.append((opp_id, {"last_activity_at": newest}))
        _write(conn, o, [], updates)
        if updates:
            self.notes.append(f"opportunities: last_activity_at set from activities on {len(updates)} deal(s)")

    # --- quotas ------------------------------------------------------------------------------------------

    def _quotas(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["quotas"]
        q = quotas
        people = self._index(conn, "reps")
        current = {(r.rep_id, r.period_start, r.period_end): dict(r._mapping) for r in conn.execute(select(q))}
        for spec in specs:
            batch = _Batch()
            seen: dict[tuple, tuple[Row, dict]] = {}
            for row in self.rows[spec.index]:
                ok = self._required(row, "rep", "the rep")
                for target, what in (("period_start", "period_start"), ("period_end", "period_end"),
                                     ("amount", "the quota amount")):
                    ok = self._required(row, target, what) and ok
                rep = self._resolve(row, "rep", people, "reps")
                if not ok or rep is _BAD:
                    continue
                start, end = row.values["period_start"], row.values["period_end"]
                if end < start:
                    self.reject(row, *row.source("period_end"), f"the period ends before it starts ({start}).")
                    continue
                ident = (rep, start, end)
                desired = {"amount": row.values["amount"]}
                if ident in seen:
                    if not spec.distinct or seen[ident][1] != desired:
                        self.reject(row, *row.source("period_start"),
                                    f"this rep already has a quota for this period on line {seen[ident][0].line}.")
                    continue
                seen[ident] = (row, desired)
                self._upsert(counts, ident, desired, current, batch,
                             {"rep_id": rep, "period_start": start, "period_end": end})
            self._flush(conn, q, batch, current)


