"""Shared machinery of the importer's database phases: lookups, bookkeeping of bad rows, batched writes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import bindparam, func, insert, select, update

from db.importer_model import EntityCounts, Problem, Row
from db.mapping import FileSpec, Mapping
from db.schema import accounts, opportunities, opportunity_history, reps

TRACKED = ("stage", "amount", "close_date", "probability", "forecast_category")
NOUN = {"reps": "rep", "accounts": "account", "opportunities": "opportunity"}
_BAD = object()  # a reference that could not be resolved (the row has been rejected)


def _chunks(items, size: int = 500):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


class _Index:
    """Finds the rows of one entity by external id, then email, then exact name."""

    def __init__(self) -> None:
        self.ext: dict[str, object] = {}
        self.email: dict[str, list] = defaultdict(list)
        self.name: dict[str, list] = defaultdict(list)

    def add(self, token, ext: str | None, name: str | None, email: str | None = None) -> None:
        if ext:
            self.ext[ext] = token
        if email and token not in self.email[email.casefold()]:
            self.email[email.casefold()].append(token)
        if name and token not in self.name[name]:
            self.name[name].append(token)

    def find(self, value: str) -> list:
        if value in self.ext:
            return [self.ext[value]]
        if "@" in value and self.email.get(value.casefold()):
            return self.email[value.casefold()]
        return self.name.get(value, [])


@dataclass
class _Batch:
    inserts: list[tuple[str, dict]] = field(default_factory=list)
    updates: list[tuple[int, dict]] = field(default_factory=list)


class RunBase:
    """State of one import run and the helpers every phase uses."""

    def __init__(self, mapping: Mapping, now: datetime):
        self.mapping = mapping
        self.now = now
        self.rows: dict[int, list[Row]] = {}
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.counts: dict[str, EntityCounts] = {e: EntityCounts() for e in mapping.entities()}
        self._rejected_rows: set[tuple] = set()
        self._rejected_ids: dict[str, list[tuple[tuple, str, int | None]]] = defaultdict(list)
        self.stage_info: dict[str, tuple[str, bool, int]] = {}  # casefold -> (name, is_closed, position)
        self._closed: dict[str, bool] = {}  # every stage name seen -> is_closed
        self._stage_drops: list[tuple[str, FileSpec]] = []
        self._history_due: dict[int, datetime] = {}  # opportunity id -> when its current state began
        self._activity_opps: set[int] = set()
        # A CSV export has no history of its own, so a changed deal gets a history row; a CRM sync reads the
        # CRM's history rows instead and turns this off (one change, one row).
        self.synthesise_history = True
        # A CSV import is one run over whole files: each phase loads the tables it checks against once. A CRM sync
        # writes a page at a time, so it loads just the accounts and deals a page names (its keys, the CRM ids it
        # refers to): whole tables per page would make a sync quadratic in size. People are few and may be named
        # by email (a CRM_MAPPING of Owner.Email), so they are always loaded whole.
        self.page_at_a_time = False

    # --- bookkeeping -----------------------------------------------------------------------------------

    def reject(self, row: Row, column: str, value: str, reason: str) -> None:
        self._add(row.spec, Problem(row.spec.display, row.line, column, value or "", reason),
                  (row.key, row.values.get("name"), row.values.get("email")))

    def reject_problems(self, spec: FileSpec, problems: list[Problem], idents: tuple) -> None:
        for p in problems:
            self._add(spec, p, idents)

    def _add(self, spec: FileSpec, problem: Problem, idents: tuple | None) -> None:
        self.problems.append(problem)
        marker = (spec.index, problem.line, problem.value if problem.line is None else "")
        if marker not in self._rejected_rows:
            self._rejected_rows.add(marker)
            self.counts[spec.entity].rejected += 1
            if idents:
                self._rejected_ids[spec.entity].append((idents, spec.display, problem.line))

    def _rejected_match(self, entity: str, value: str) -> tuple[str, int | None] | None:
        for (key, name, email), display, line in self._rejected_ids[entity]:
            if value in (key, name) or (email and isinstance(email, str) and email.casefold() == value.casefold()):
                return display, line
        return None

    def _required(self, row: Row, target: str, what: str) -> bool:
        if row.values.get(target) is not None:
            return True
        label, raw = row.source(target)
        self.reject(row, label, raw, f"{what} is required, and this row has none.")
        return False

    def _resolve(self, row: Row, target: str, index: _Index, entity: str):
        value = row.values.get(target)
        if value is None:
            return None
        hits = index.find(value)
        if len(hits) == 1:
            return hits[0]
        label, raw = row.source(target)
        noun = NOUN[entity]
        how = "external id or email" if entity == "reps" else "external id"
        if hits:
            reason = f"{len(hits)} {noun}s are named {value!r}; refer to the {noun} by {how} instead."
        elif rejected := self._rejected_match(entity, value):
            reason = f"the {noun} {value!r} was itself rejected ({rejected[0]} line {rejected[1]})."
        else:
            ways = "external id, email or name" if entity == "reps" else "external id or name"
            reason = f"no {noun} has the {ways} {value!r}."
        self.reject(row, label, raw, reason)
        return _BAD

    def _stage(self, row: Row, required: bool):
        value = row.values.get("stage")
        if value is None:
            if required:
                self._required(row, "stage", "the stage")
                return _BAD
            return None
        info = self.stage_info.get(value.casefold())
        if info:
            return info[0]
        names = ", ".join(n for n, _, _ in sorted(self.stage_info.values(), key=lambda s: s[2]))
        label, raw = row.source("stage")
        self.reject(row, label, raw, f"{value!r} is not a stage (the stages are {names}); translate it with "
                                     "`values: {stage: {...}}` or add it with a stages file.")
        return _BAD

    def _index(self, conn, entity: str, rows: list[Row] | None = None, target: str = "") -> _Index:
        """The entity's rows by external id, email and name; paging a CRM, only those `rows` name in `target`."""
        index = _Index()
        table = {"reps": reps, "accounts": accounts}.get(entity, opportunities)
        email = reps.c.email if entity == "reps" else None
        stmt = select(table.c.id, table.c.external_id, table.c.name, *([email] if email is not None else []))
        for r in self._select_by_key(conn, stmt, table, None if rows is None or entity == "reps" else
                                     {row.values.get(target) for row in rows}):
            index.add(r.id, r.external_id, r.name, r.email if email is not None else None)
        return index

    def _current(self, conn, table, rows: list[Row]) -> dict[str, dict]:
        """The table's rows by external id: all of them, or paging a CRM the given rows' own."""
        return {r.external_id: dict(r._mapping)
                for r in self._select_by_key(conn, select(table), table, {row.key for row in rows})}

    def _select_by_key(self, conn, stmt, table, keys: set | None):
        if not self.page_at_a_time or keys is None:
            yield from conn.execute(stmt)
            return
        for chunk in _chunks(sorted(k for k in keys if k)):
            yield from conn.execute(stmt.where(table.c.external_id.in_(chunk)))

    def _upsert(self, counts: EntityCounts, key, desired: dict, current: dict, batch: _Batch, base: dict,
                touch: dict | None = None) -> str:
        cur = current.get(key)
        if cur is None:
            batch.inserts.append((key, {**base, **desired, **(touch or {})}))
            counts.inserted += 1
            return "inserted"
        changes = {c: v for c, v in desired.items() if cur.get(c) != v}
        if not changes:
            counts.unchanged += 1
            return "unchanged"
        changes.update(touch or {})
        batch.updates.append((cur["id"], changes))
        cur.update(changes)
        counts.updated += 1
        return "updated"

    def _flush(self, conn, table, batch: _Batch, current: dict) -> None:
        ids = _write(conn, table, [full for _, full in batch.inserts], batch.updates)
        for (key, full), new_id in zip(batch.inserts, ids, strict=True):
            current[key] = {**full, "id": new_id}

def _latest_history(conn, opp_ids: list[int]) -> dict[int, datetime]:
    h = opportunity_history
    out: dict[int, datetime] = {}
    for chunk in _chunks(opp_ids):
        out.update(conn.execute(select(h.c.opportunity_id, func.max(h.c.changed_at))
                                .where(h.c.opportunity_id.in_(chunk)).group_by(h.c.opportunity_id)).all())
    return out


def _write(conn, table, inserts: list[dict], updates: list[tuple[int, dict]]) -> list[int]:
    """Insert and update in batches (rows of one batch share their columns); returns the new ids in order.

    Rows with an external id are inserted with a plain executemany and their ids read back by external id:
    a multi-row INSERT ... RETURNING is much slower on psycopg for large imports.
    """
    ids: list[int] = []
    if inserts:
        columns = sorted(set().union(*inserts))
        payload = [{c: r.get(c) for c in columns} for r in inserts]
        if "external_id" in table.c and all(r.get("external_id") for r in payload):
            conn.execute(insert(table), payload)
            found: dict[str, int] = {}
            for chunk in _chunks([r["external_id"] for r in payload]):
                found.update(conn.execute(select(table.c.external_id, table.c.id)
                                          .where(table.c.external_id.in_(chunk))).all())
            ids = [found[r["external_id"]] for r in payload]
        else:
            result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), payload)
            ids = [r[0] for r in result]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row_id, changes in updates:
        groups[tuple(sorted(changes))].append({"_id": row_id, **{f"v_{c}": v for c, v in changes.items()}})
    for columns, params in groups.items():
        stmt = update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(f"v_{c}") for c in columns})
        conn.execute(stmt, params)
    return ids
