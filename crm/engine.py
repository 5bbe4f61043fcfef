"""The sync engine: read each mapped object's pages from a connector and write them through the importer.

Per page, one transaction writes the records (the importer's phases: typed values, references resolved,
upserts by key, history rows appended by their CRM id), records the page's rejects and moves the object's
watermark, so a sync killed at any point resumes from the last committed page with nothing lost or doubled
(pages overlap by a minute; upserts make the overlap harmless). Deletions are read after the object's changes.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, delete, select, text

from crm.http import CrmUnavailable
from crm.records import Page
from crm.state import DELETIONS, read_state, rejected_ids, replace_rejects, save_state
from db.importer import dedupe, parse_rows
from db.importer_model import ENTITIES
from db.importer_phases import ImportRun
from db.importer_values import SourceTable
from db.mapping import FileSpec, Mapping
from metrics.history_snapshot import refresh_history_snapshot

log = logging.getLogger(__name__)


class Connector(Protocol):
    name: str
    full_objects: frozenset[str]
    deletable: tuple[str, ...]
    derived: dict[str, dict[str, tuple[str, ...]]]

    def fields(self, obj: str) -> set[str] | None: ...
    def read(self, obj: str, fields: list[str], since: datetime | None): ...
    def deleted(self, obj: str, since: datetime | None): ...
    def read_ids(self, obj: str, fields: list[str], ids: list[str]): ...


class SyncFailed(Exception):
    """A sync stopped on an object; what was written before it stays. The message is a sentence."""


@dataclass
class EntityChange:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    rejected: int = 0


@dataclass
class SyncReport:
    connector: str
    changes: dict[str, EntityChange] = field(default_factory=lambda: defaultdict(EntityChange))
    history_added: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = []
        for entity, c in self.changes.items():
            if entity == "opportunity_history":
                continue
            out.append(f"{entity}: {c.created} created, {c.updated} updated, {c.deleted} deleted, "
                       f"{c.rejected} rejected")
        out.append(f"opportunity_history: {self.history_added} rows added")
        return [*out, *self.notes, f"{self.connector} sync took {self.seconds:.1f} s"]

    @property
    def wrote(self) -> bool:
        return self.history_added > 0 or any(c.created or c.updated or c.deleted for c in self.changes.values())


def sync(engine: Engine, connector: Connector, specs: list[FileSpec], *, full: bool = False,
         now: datetime | None = None) -> SyncReport:
    """One sync of every mapped object, in the importer's entity order. Raises SyncFailed (a sentence) when an
    object cannot be read; the objects before it are committed, and the failure is kept in its state row."""
    started = time.monotonic()
    report = SyncReport(connector.name)
    by_object: dict[str, list[FileSpec]] = defaultdict(list)
    for spec in specs:
        by_object[spec.crm_object].append(spec)
    statistics = TableStatistics(engine)
    for obj, obj_specs in by_object.items():
        moment = now or datetime.now(UTC)
        try:
            _sync_object(engine, connector, obj, obj_specs, full, moment, report, statistics)
        except CrmUnavailable as exc:
            _failed(engine, connector.name, obj, moment, str(exc))
            raise SyncFailed(f"The {connector.name} sync stopped at {obj}: {exc} The data synced before it is "
                             "kept; the next run resumes from there.") from None
    if report.wrote:
        with engine.begin() as conn:
            refresh_history_snapshot(conn)
    report.seconds = time.monotonic() - started
    return report


def _failed(engine: Engine, connector: str, obj: str, moment: datetime, error: str) -> None:
    with engine.begin() as conn:
        state = read_state(conn, connector, obj)
        save_state(conn, replace(state, last_attempt_at=moment, last_error=error,
                                 consecutive_failures=state.consecutive_failures + 1))


def _sync_object(engine: Engine, connector: Connector, obj: str, specs: list[FileSpec], full: bool,
                 now: datetime, report: SyncReport, statistics: TableStatistics) -> None:
    available = connector.fields(obj)
    if available is None:
        _note_once(report, f"{obj}: not in this {connector.name} org; skipped.")
        return
    specs, wanted = _usable(connector, obj, specs, available, report)
    with engine.connect() as conn:
        state = read_state(conn, connector.name, obj)
        earlier_rejects = {i for i in rejected_ids(conn, connector.name, obj) if i}  # "": of no one record
    whole = obj in connector.full_objects
    pages = connector.read(obj, wanted, None if full or whole else state.watermark)
    if whole:  # the importer replaces such a set (the stages) with what it is given: give it all of it at once
        pages = [_one_page(list(pages))]
    for page in pages:
        earlier_rejects.difference_update(r.get("Id", "") for r in page.records)
        with engine.begin() as conn:
            _write_page(conn, connector.name, obj, specs, page, now, report)
            state.rows_seen += len(page.records)
            if page.watermark and (state.watermark is None or page.watermark > state.watermark):
                state.watermark = page.watermark
            state.last_attempt_at = now
            save_state(conn, state)
        statistics.after_page(report)
    _retry_rejects(engine, connector, obj, specs, wanted, sorted(earlier_rejects), now, report)
    if obj in connector.deletable:
        _sync_deletions(engine, connector, obj, specs, full, now, report)
    with engine.begin() as conn:
        save_state(conn, replace(state, last_attempt_at=now, last_success_at=now, last_error=None,
                                 consecutive_failures=0))


class TableStatistics:
    """Keeps PostgreSQL's statistics of the tables a sync grows in step with them.

    Each page looks its records up by external id. A first sync grows the tables from empty; with statistics from
    when they were small (autovacuum off, or not yet round), PostgreSQL plans those look-ups as sequential scans
    whose cost grows with the table, which makes the whole sync quadratic (100,000 deals: over 10 minutes, the
    database busy in those scans). Each table is analysed whenever the rows this sync added to it have doubled
    since its last analysis: a handful of ANALYZE runs in all, each sampling a fixed number of rows.
    """

    def __init__(self, engine: Engine, first: int = 2_000):
        self.engine = engine
        self.first = first
        self.analysed_at: dict[str, int] = {}

    def after_page(self, report: SyncReport) -> None:
        if self.engine.dialect.name != "postgresql":
            return
        added = {entity: change.created for entity, change in report.changes.items()}
        added["opportunity_history"] = report.history_added
        grown = [entity for entity, n in added.items()
                 if n >= max(self.first, 2 * self.analysed_at.get(entity, 0)) and entity in ENTITIES]
        if not grown:
            return
        with self.engine.begin() as conn:
            for entity in grown:
                conn.execute(text(f"ANALYZE {ENTITIES[entity].table.name}"))
                self.analysed_at[entity] = added[entity]


def _one_page(pages: list[Page]) -> Page:
    stamps = [p.watermark for p in pages if p.watermark]
    return Page([r for p in pages for r in p.records], max(stamps, default=None))


def _retry_rejects(engine: Engine, connector: Connector, obj: str, specs: list[FileSpec], wanted: list[str],
                   ids: list[str], now: datetime, report: SyncReport) -> None:
    """Records rejected by earlier runs and not read again by this one are read by id: a fixed record (or one
    whose owner or deal has arrived since) lands; a record gone from the CRM leaves the rejects."""
    if not ids:
        return
    seen: set[str] = set()
    for page in connector.read_ids(obj, wanted, ids):
        seen.update(r.get("Id", "") for r in page.records)
        with engine.begin() as conn:
            _write_page(conn, connector.name, obj, specs, page, now, report)
    gone = [i for i in ids if i not in seen]
    if gone:
        with engine.begin() as conn:
            replace_rejects(conn, connector.name, obj, gone, [], now)


def _note_once(report: SyncReport, note: str) -> None:
    if note not in report.notes:
        report.notes.append(note)
        log.info(note)


def _usable(connector: Connector, obj: str, specs: list[FileSpec], available: set[str],
            report: SyncReport) -> tuple[list[FileSpec], list[str]]:
    """The specs without the columns whose fields the org lacks (reported once), and the fields to read."""
    derived = connector.derived.get(obj, {})

    def present(name: str) -> bool:
        return name in available or any(src in available for src in derived.get(name, ()))

    out, wanted = [], []
    for spec in specs:
        columns = {}
        for target, sources in spec.columns.items():
            missing = [s for s in sources if not present(s)]
            if missing:
                _note_once(report, f"{obj}.{', '.join(missing)}: this {connector.name} org has no such field; "
                                   f"{spec.entity}.{target} is left as it is.")
                continue
            columns[target] = sources
        if spec.key and not present(spec.key):
            raise CrmUnavailable(f"{obj} has no field {spec.key}, the mapping's key.")
        spec = replace(spec, columns=columns, values={t: v for t, v in spec.values.items() if t in columns
                                                      or t in spec.defaults})
        out.append(spec)
        for name in spec.source_columns():
            wanted += [s for s in derived.get(name, (name,)) if s in available]
    return out, list(dict.fromkeys(wanted))


def _write_page(conn, connector: str, obj: str, specs: list[FileSpec], page: Page, now: datetime,
                report: SyncReport) -> None:
    if conn.dialect.name == "postgresql":
        # Sessions plan every execution for its values (db.engine: right for the metrics' queries); a page's
        # thousands of identical INSERTs, and the foreign-key checks each fires, are better planned once.
        conn.execute(text("SET LOCAL plan_cache_mode = auto"))
    specs = [replace(spec, index=i) for i, spec in enumerate(specs)]
    run = ImportRun(Mapping(Path(connector), connector, specs), now)
    run.synthesise_history = False
    run.page_at_a_time = True
    ids = [r.get("Id", "") for r in page.records]
    for spec in specs:
        header = list(dict.fromkeys(name for r in page.records for name in r))
        table = SourceTable(obj, header, 0, [(i + 1, [r.get(h, "") for h in header])
                                             for i, r in enumerate(page.records)])
        rows, rejected = parse_rows(spec, table)
        for problems, idents in rejected:
            run.reject_problems(spec, problems, idents)
        run.rows[spec.index] = dedupe(spec, rows, run)
    run.apply(conn)
    rejects = [(ids[p.line - 1] if p.line else "", p.column, p.value, p.reason) for p in run.problems]
    replace_rejects(conn, connector, obj, [i for i in ids if i], rejects, now)
    for entity, counts in run.counts.items():
        if entity == "opportunity_history":
            report.history_added += counts.inserted
            continue
        change = report.changes[entity]
        change.created += counts.inserted
        change.updated += counts.updated
        change.deleted += counts.removed
        change.rejected += counts.rejected


def _sync_deletions(engine: Engine, connector: Connector, obj: str, specs: list[FileSpec], full: bool,
                    now: datetime, report: SyncReport) -> None:
    with engine.connect() as conn:
        state = read_state(conn, connector.name, obj + DELETIONS)
    since = None if full else state.watermark
    for page in connector.deleted(obj, since):
        ids = [r["Id"] for r in page.records if r.get("Id")]
        with engine.begin() as conn:
            for spec in specs:
                table = ENTITIES[spec.entity].table
                if "external_id" not in table.c or not ids:
                    continue
                gone = conn.execute(select(table.c.id).where(table.c.external_id.in_(ids))).scalars().all()
                if gone:
                    conn.execute(delete(table).where(table.c.id.in_(gone)))
                    report.changes[spec.entity].deleted += len(gone)
            if page.watermark and (state.watermark is None or page.watermark > state.watermark):
                state.watermark = page.watermark
            save_state(conn, replace(state, last_attempt_at=now, last_success_at=now, last_error=None,
                                     rows_seen=state.rows_seen + len(ids)))
