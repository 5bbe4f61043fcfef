"""The database half of the importer: one method per entity, run in dependency order inside one transaction.

Each phase compares the rows it is given with what the database holds and writes only the differences, so a
re-import of the same files changes nothing. References (owner, manager, account, rep, opportunity) resolve by
external id, then email (reps), then exact name, against the database as it stands after the earlier phases.
Bad rows are reported through `ImportRun.reject` and skipped; the caller decides whether to commit.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, func, insert, select, update

from db.importer_base import _BAD, RunBase, _Batch, _Index, _write
from db.importer_deals import DealPhases
from db.importer_model import Problem, Row
from db.importer_rates import RatePhases
from db.mapping import FileSpec
from db.schema import accounts, opportunities, reps, stages


class ImportRun(DealPhases, RatePhases, RunBase):
    """One import: `apply` runs the phases in dependency order on one connection (one transaction)."""

    # --- the run ---------------------------------------------------------------------------------------

    def apply(self, conn) -> None:
        by_entity: dict[str, list[FileSpec]] = defaultdict(list)
        for spec in self.mapping.ordered():
            by_entity[spec.entity].append(spec)
        for r in conn.execute(select(stages)):
            self.stage_info[r.name.casefold()] = (r.name, r.is_closed, r.position)
            self._closed[r.name] = r.is_closed
        if by_entity["stages"]:
            self._stages(conn, by_entity["stages"])
        if by_entity["reps"]:
            self._reps(conn, by_entity["reps"])
        if by_entity["accounts"]:
            self._accounts(conn, by_entity["accounts"])
        if by_entity["opportunities"]:
            self._opportunities(conn, by_entity["opportunities"])
        if by_entity["opportunity_history"]:
            self._history(conn, by_entity["opportunity_history"])
        if self.synthesise_history:
            self._sync_history(conn)
        if by_entity["activities"]:
            self._activities(conn, by_entity["activities"])
            if not any(s.maps("last_activity_at") for s in by_entity["opportunities"]):
                self._sync_last_activity(conn)
        if by_entity["quotas"]:
            self._quotas(conn, by_entity["quotas"])
        if by_entity["exchange_rates"]:
            self._exchange_rates(conn, by_entity["exchange_rates"])
        self._drop_stages(conn)

    # --- stages ----------------------------------------------------------------------------------------

    def _stages(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["stages"]
        existing = {r.name.casefold(): dict(r._mapping) for r in conn.execute(select(stages))}
        new_set: dict[str, dict] = {}
        position = 0
        for spec in specs:
            for row in self.rows[spec.index]:
                position += 1
                v = row.values
                name = v["name"]
                cur = new_set.get(name.casefold()) or existing.get(name.casefold())

                def pick(col, fallback, v=v, cur=cur, spec=spec):
                    if spec.maps(col) and v.get(col) is not None:
                        return v[col]
                    return cur[col] if cur else fallback

                is_won = bool(pick("is_won", False))
                is_closed = bool(pick("is_closed", False)) or is_won
                probability = pick("probability", 100 if is_won else 0 if is_closed else None)
                if probability is None:
                    self.reject(row, row.source("name")[0], name,
                                "a new stage needs a probability (add a probability column or default).")
                    continue
                desired = {
                    "position": v["position"] if spec.maps("position") and v.get("position") is not None
                    else position,
                    "probability": probability,
                    "forecast_category": pick("forecast_category",
                                              "closed" if is_won else "omitted" if is_closed else "pipeline"),
                    "is_closed": is_closed,
                    "is_won": is_won,
                    "expected_days": pick("expected_days", None),
                }
                if cur is None:
                    conn.execute(insert(stages), {"name": name, **desired})
                    counts.inserted += 1
                    stored = name
                else:
                    stored = cur["name"]
                    changes = {c: val for c, val in desired.items() if cur[c] != val}
                    if changes:
                        conn.execute(update(stages).where(stages.c.name == stored).values(changes))
                        counts.updated += 1
                    else:
                        counts.unchanged += 1
                new_set[name.casefold()] = {"name": stored, **desired}
                self._closed[stored] = is_closed
        kept = {ids[0].casefold() for ids, _, _ in self._rejected_ids["stages"] if ids[0]}
        self.stage_info = {k: (r["name"], r["is_closed"], r["position"]) for k, r in new_set.items()}
        for fold, r in existing.items():
            if fold in kept and fold not in new_set:
                self.stage_info[fold] = (r["name"], r["is_closed"], r["position"])
            elif fold not in new_set:
                self._stage_drops.append((r["name"], specs[0]))

    def _drop_stages(self, conn) -> None:
        for name, spec in self._stage_drops:
            used = conn.execute(select(func.count()).select_from(opportunities)
                                .where(opportunities.c.stage == name)).scalar_one()
            if used:
                self._add(spec, Problem(spec.display, None, spec.key or "name", name,
                                        f"the stages file leaves this stage out, but {used} opportunities are still "
                                        "in it; keep it in the file or move those deals to another stage first."),
                          None)
            else:
                conn.execute(delete(stages).where(stages.c.name == name))
                self.counts["stages"].removed += 1

    # --- reps ------------------------------------------------------------------------------------------

    def _reps(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["reps"]
        current = {r.external_id: dict(r._mapping) for r in conn.execute(select(reps))}
        live = self._unique_emails([row for spec in specs for row in self.rows[spec.index]], current)
        managers = self._resolve_managers(live, current)
        manager_keys = {m for m in managers.values() if isinstance(m, str)}
        manager_keys |= {m[1] for m in managers.values() if isinstance(m, tuple)}
        own = ("email", "slack_user_id", "role", "team", "region", "segment", "active", "timezone", "start_date")
        status: dict[int, str] = {}
        live_ids = {id(r) for r in live}
        for spec in specs:
            batch = _Batch()
            for row in self.rows[spec.index]:
                if id(row) not in live_ids:
                    continue
                desired = {c: row.values.get(c) for c in own if spec.maps(c)}
                for c in ("role", "active"):
                    if desired.get(c) is None:
                        desired.pop(c, None)
                if spec.maps("name"):
                    desired["name"] = row.values.get("name") or row.key
                was = (current.get(row.key) or {}).get("role") or "rep"
                if "role" not in desired and row.key in manager_keys and was == "rep":
                    desired["role"] = "manager"
                status[id(row)] = self._upsert(counts, row.key, desired, current, batch,
                                               {"external_id": row.key, "name": row.key, "role": "rep",
                                                "active": True})
            self._flush(conn, reps, batch, current)
        # managers named only as a reference become reps with role manager
        emails = {(r.get("email") or "").casefold() for r in current.values()}
        batch = _Batch()
        created = sorted({m[1] for m in managers.values() if isinstance(m, tuple)})
        for value in created:
            is_email = "@" in value and value.casefold() not in emails
            name = value.split("@")[0].replace(".", " ").replace("_", " ").title() if "@" in value else value
            self._upsert(counts, value, {}, current, batch, {"external_id": value, "name": name,
                                                             "email": value if is_email else None,
                                                             "role": "manager", "active": True})
        self._flush(conn, reps, batch, current)
        if created:
            self.notes.append(f"reps: created {len(created)} manager(s) named only as someone's manager, with role "
                              f"manager: {', '.join(created)}")
        updates = []
        for row in live:
            if not row.spec.maps("manager"):
                continue
            m = managers.get(id(row))
            target = None if m is None else current[m if isinstance(m, str) else m[1]]["id"]
            cur = current[row.key]
            if cur.get("manager_id") != target:
                updates.append((cur["id"], {"manager_id": target}))
                cur["manager_id"] = target
                if status[id(row)] == "unchanged":
                    status[id(row)] = "updated"
                    counts.unchanged -= 1
                    counts.updated += 1
        _write(conn, reps, [], updates)

    def _unique_emails(self, rows: list[Row], current: dict) -> list[Row]:
        in_file = {row.key for row in rows}
        holder: dict[str, str] = {}
        for ext, r in current.items():
            if ext not in in_file and r["email"]:
                holder[r["email"].casefold()] = ext
        keep = []
        for row in rows:
            email = row.values.get("email") if row.spec.maps("email") else (current.get(row.key) or {}).get("email")
            if email:
                first = holder.setdefault(email.casefold(), row.key)
                if first != row.key:
                    label, raw = row.source("email")
                    self.reject(row, label, raw, f"this email already belongs to rep {first!r}; emails must be unique.")
                    continue
            keep.append(row)
        return keep

    def _resolve_managers(self, live: list[Row], current: dict) -> dict[int, object]:
        """id(row) -> the manager's external id, ("new", text) for a manager to create, or None."""
        while True:
            names = {ext: (r["name"], r["email"]) for ext, r in current.items()}
            for row in live:
                name, email = names.get(row.key, (row.key, None))
                if row.spec.maps("name") and row.values.get("name"):
                    name = row.values["name"]
                if row.spec.maps("email") and row.values.get("email"):
                    email = row.values["email"]
                names[row.key] = (name, email)
            index = _Index()
            for ext, (name, email) in names.items():
                index.add(ext, ext, name, email)
            managers: dict[int, object] = {}
            survivors = []
            for row in live:
                value = row.values.get("manager") if row.spec.maps("manager") else None
                if value is None:
                    managers[id(row)] = None
                    survivors.append(row)
                    continue
                hits = index.find(value)
                if len(hits) == 1 and hits[0] == row.key:
                    label, raw = row.source("manager")
                    self.reject(row, label, raw, "a rep cannot be their own manager.")
                    continue
                if len(hits) == 1:
                    managers[id(row)] = hits[0]
                elif not hits and not self._rejected_match("reps", value):
                    managers[id(row)] = ("new", value)
                else:
                    self._resolve(row, "manager", index, "reps")
                    continue
                survivors.append(row)
            if len(survivors) == len(live):
                return managers
            live[:] = survivors

    # --- accounts ----------------------------------------------------------------------------------------

    def _accounts(self, conn, specs: list[FileSpec]) -> None:
        counts = self.counts["accounts"]
        rows = [row for spec in specs for row in self.rows[spec.index]]
        current = self._current(conn, accounts, rows)
        people = self._index(conn, "reps", rows, "owner")
        for spec in specs:
            batch = _Batch()
            for row in self.rows[spec.index]:
                owner = self._resolve(row, "owner", people, "reps")
                if owner is _BAD:
                    continue
                desired = {c: row.values.get(c) for c in ("industry", "segment", "region", "created_at")
                           if spec.maps(c)}
                if spec.maps("owner"):
                    desired["owner_id"] = owner
                if spec.maps("name"):
                    desired["name"] = row.values.get("name") or row.key
                self._upsert(counts, row.key, desired, current, batch, {"external_id": row.key, "name": row.key})
            self._flush(conn, accounts, batch, current)

