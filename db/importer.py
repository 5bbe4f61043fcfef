"""`python bot.py import MAPPING.yml [--skip-bad]`: load CSV exports through a mapping (DESIGN §3).

The steps, in order:
1. read and check the mapping (`db.mapping`) and every file it names: a missing file, a missing column or a bad
   mapping stops the import before anything is read into the database, with or without --skip-bad;
2. turn each row's text into typed values and drop repeated keys (`distinct: true` merges agreeing repeats);
3. in ONE transaction, write the entities in dependency order (stages, reps, accounts, opportunities,
   opportunity_history, activities, quotas), resolving references and upserting by key (`db.importer_phases`);
4. if any row was bad: without --skip-bad roll everything back and list the bad rows; with it, keep the good
   rows and write the rejects to a CSV.
Re-importing the same files changes nothing: rows are compared before they are written.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from db.after_load import AfterLoad, vacuum_sales_tables
from db.importer_model import ENTITY_ORDER, EntityCounts, Problem, Row, problems_message
from db.importer_phases import ImportRun
from db.importer_values import BadValue, SourceError, SourceTable, parse_value, read_csv, translate
from db.mapping import FileSpec, Mapping, MappingError, load_mapping
from errors import UserError

MESSAGE_CAP = 20


@dataclass
class ImportReport:
    counts: dict[str, EntityCounts]
    rejects: list[Problem] = field(default_factory=list)
    rejects_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [self.counts[e].line(e) for e in ENTITY_ORDER if e in self.counts]
        out += self.notes
        if self.rejects_path is not None:
            out.append(f"{len(self.rejects)} problem(s) in rejected rows, listed in {self.rejects_path}")
        return out


# --- public API -------------------------------------------------------------------------------------------


def import_mapping(engine: Engine, mapping_path: Path | str, skip_bad: bool = False, now: datetime | None = None,
                   rejects_path: Path | str | None = None, after_load: AfterLoad | None = None) -> ImportReport:
    """Import every file of the mapping in one transaction; raises UserError (and writes nothing) on bad input.
    `after_load` (the history snapshot's rebuild) runs once the rows are in (db/after_load.py)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    mapping_path = Path(mapping_path)
    try:
        mapping = load_mapping(mapping_path)
        tables = load_sources(mapping)
    except MappingError as exc:
        raise UserError(problems_message(
            "The import did not start (nothing was written)", exc.problems + file_problems(exc.checkable),
            "--skip-bad cannot skip problems with the mapping or its files.", MESSAGE_CAP)) from None

    run = ImportRun(mapping, now)
    for spec in mapping.ordered():
        rows, rejected = parse_rows(spec, tables[spec.index])
        for problems, idents in rejected:
            run.reject_problems(spec, problems, idents)
        run.rows[spec.index] = dedupe(spec, rows, run)

    target = Path(rejects_path) if rejects_path else _default_rejects_path(mapping_path)
    with engine.begin() as conn:
        try:
            run.apply(conn)
        except DBAPIError as exc:  # raised inside the transaction: it rolls back
            reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            raise UserError("The import stopped on a database error and was rolled back (nothing was written): "
                            f"{reason}") from exc
        if run.problems and not skip_bad:
            written = None
            if len(run.problems) > MESSAGE_CAP:
                written = write_rejects(run.problems, target)
            tail = f" (all of them are listed in {written})" if written else ""
            raise UserError(problems_message(
                "The import was refused (nothing was written)", run.problems,
                "Fix the rows, or run again with --skip-bad to import the good ones.", MESSAGE_CAP, tail))
        if after_load is not None:
            after_load.refresh(conn)
    vacuum_sales_tables(engine)
    if after_load is not None:
        after_load.tidy(engine)
    report = ImportReport(run.counts, list(run.problems), notes=run.notes)
    if run.problems:
        report.rejects_path = write_rejects(run.problems, target)
    return report


def run_import_command(args, settings, after_load: AfterLoad | None = None) -> int:
    """The CLI: `bot.py import MAPPING.yml [--skip-bad]`. Prints one summary line per entity."""
    from db.engine import DatabaseURLError, get_engine

    try:
        engine = get_engine(settings.database_url)
    except DatabaseURLError as exc:
        raise UserError(str(exc)) from None
    report = import_mapping(engine, args.mapping, skip_bad=args.skip_bad, after_load=after_load)
    for line in report.lines():
        print(line)
    return 0


def _default_rejects_path(mapping_path: Path) -> Path:
    return mapping_path.resolve().parent / f"{mapping_path.stem}.rejects.csv"


def write_rejects(problems: list[Problem], path: Path) -> Path:
    """Write the rejects (file, line, column, value, reason) to `path`, or to a temp file if it is read-only."""
    try:
        handle = path.open("w", newline="", encoding="utf-8")
    except OSError:
        fd, name = tempfile.mkstemp(prefix="import-rejects-", suffix=".csv")
        path = Path(name)
        handle = open(fd, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    with handle:
        out = csv.writer(handle)
        out.writerow(["file", "line", "column", "value", "reason"])
        for p in problems:
            out.writerow([p.file, p.line or "", p.column, p.value, p.reason])
    return path


# --- reading --------------------------------------------------------------------------------------------


def file_problems(checkable: Mapping | None) -> list[Problem]:
    """What is wrong with the files of a mapping that has problems of its own, so one run reports both kinds."""
    if checkable is None:
        return []
    try:
        load_sources(checkable)
    except MappingError as exc:
        return exc.problems
    return []


def load_sources(mapping: Mapping) -> dict[int, SourceTable]:
    """Read every file once and check the columns the mapping names; MappingError lists all that is missing."""
    problems: list[Problem] = []
    cache: dict[tuple[Path, str], SourceTable | SourceError] = {}
    tables: dict[int, SourceTable] = {}
    for spec in mapping.files:
        if spec.crm_object is not None:
            problems.append(Problem(spec.display, spec.line, "", "", "this entry reads a CRM object; "
                                    "`python bot.py sync` reads those, `import` reads CSV files.", cell=False))
            continue
        if spec.rows is not None:
            header = list(dict.fromkeys(name for _, row in spec.rows for name in row))
            rows = [(line, [row.get(h, "") for h in header]) for line, row in spec.rows]
            tables[spec.index] = SourceTable(spec.display, header, spec.line or 0, rows)
            continue
        cache_key = (spec.path, spec.delimiter)
        if cache_key not in cache:
            try:
                cache[cache_key] = read_csv(spec.path, spec.display, spec.delimiter)
            except SourceError as exc:
                cache[cache_key] = exc
                problems.append(Problem(spec.display, exc.line, "", "", exc.reason, cell=False))
        table = cache[cache_key]
        if isinstance(table, SourceError):
            continue
        table = SourceTable(spec.display, table.header, table.header_line, table.rows)
        for column in spec.source_columns():
            index, why = table.find_column(column)
            if index is None:
                problems.append(Problem(spec.display, table.header_line, column, "",
                                        f"the mapping ({spec.entity}) reads this column, but {why}", cell=False))
        tables[spec.index] = table
    if problems:
        raise MappingError(problems)
    return tables


def parse_rows(spec: FileSpec, table: SourceTable) -> tuple[list[Row], list[tuple[list[Problem], tuple]]]:
    """Typed rows, and for each row that could not be typed its problems (one per bad value) and the texts
    that could identify it (key, name, email), so a reference to it can say it was rejected."""
    entity = spec.spec
    index = {col: table.find_column(col)[0] for col in spec.source_columns()}
    targets = list(dict.fromkeys([*spec.columns, *spec.defaults]))
    key_column = entity.table.c.get("name" if spec.entity == "stages" else "external_id")
    key_len = getattr(getattr(key_column, "type", None), "length", None)
    width = len(table.header)
    rows: list[Row] = []
    rejected: list[tuple[list[Problem], tuple]] = []
    for line, cells in table.rows:
        def cell(col: str, cells=cells) -> str:
            i = index[col]
            return cells[i].strip() if i is not None and i < len(cells) else ""

        bad: list[Problem] = []
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            bad.append(Problem(spec.display, line, "", "",
                               f"the row has {len(cells)} values but the header has {width} columns."))
        key = cell(spec.key) if spec.key else None
        if spec.key and not key and (entity.key_required or spec.entity == "stages"):
            bad.append(Problem(spec.display, line, spec.key, "",
                               "the key column is empty, so the row cannot be identified."))
        elif key and key_len and len(key) > key_len:
            bad.append(Problem(spec.display, line, spec.key, key, f"the key is longer than {key_len} characters."))
        values: dict = {}
        sources: dict[str, tuple[str, str]] = {}
        for target in targets:
            if target in spec.columns:
                cols = spec.columns[target]
                label = " + ".join(cols)
                raw = " ".join(part for part in (cell(c) for c in cols) if part)
            else:
                label, raw = f"defaults.{target}", ""
            text = raw or spec.defaults.get(target, "")
            text = translate(spec.values.get(target), text)
            sources[target] = (label, raw or text)
            if not text:
                values[target] = None
                continue
            tdef = entity.targets[target]
            try:
                values[target] = parse_value(tdef.kind, text, spec.date_formats, spec.timezone, tdef.max_len)
            except BadValue as exc:
                bad.append(Problem(spec.display, line, label, raw or text, f"the value {exc}"))
        if spec.entity == "stages" and key and not values.get("name"):
            values["name"] = key
            sources.setdefault("name", (spec.key or "name", key))
        if bad:
            idents = (key, sources.get("name", ("", ""))[1], sources.get("email", ("", ""))[1])
            rejected.append((bad, idents))
            continue
        rows.append(Row(spec, line, key, values, sources))
    return rows, rejected


def dedupe(spec: FileSpec, rows: list[Row], run) -> list[Row]:
    """One row per key. Repeats are bad rows, unless `distinct: true`, which merges repeats that agree."""
    if not spec.key:
        return rows
    first: dict[str, Row] = {}
    out: list[Row] = []
    for row in rows:
        ident = row.values["name"].casefold() if spec.entity == "stages" else row.key
        seen = first.get(ident)
        if seen is None:
            first[ident] = row
            out.append(row)
            continue
        if not spec.distinct:
            run.reject(row, row.key_column, row.key or "",
                       f"the key appears again (first at line {seen.line}); each row needs its own key "
                       f"(set `distinct: true` if the file repeats {spec.entity} on purpose).")
            continue
        conflicts = [t for t, v in row.values.items()
                     if v is not None and seen.values.get(t) is not None and v != seen.values[t]]
        if conflicts:
            t = conflicts[0]
            label, raw = row.source(t)
            run.reject(row, label, raw,
                       f"{spec.entity} {row.key!r} has {t} {raw!r} here but {seen.source(t)[1]!r} at line "
                       f"{seen.line}; the repeated rows must agree.")
            continue
        for t, v in row.values.items():
            if v is not None and seen.values.get(t) is None:
                seen.values[t] = v
                seen.sources[t] = row.sources[t]
    return out
