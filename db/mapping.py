"""Mapping files for `bot.py import` (DESIGN §3): parse the YAML, check it, and say what each file maps onto.

A mapping names CSV files (or inline `rows:`), the entity each one loads, the column that identifies a row
(`key`), which source column feeds which target column (`columns`), value translations (`values`), constants
(`defaults`) and how dates are written (`date_format`, `timezone`). Everything wrong with the mapping is collected
as `Problem`s so one run can report all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from db.importer_model import ENTITIES, ENTITY_ORDER, EntitySpec, Problem
from db.importer_values import BadValue, parse_value, translate

# --- the parsed mapping -----------------------------------------------------------------------------------


@dataclass
class FileSpec:
    """One entry of `files:`."""

    index: int
    entity: str
    display: str  # the path as written (or "<mapping> rows" for inline rows), used in messages
    path: Path | None
    key: str | None  # source column of the key (external_id; the stage name for stages)
    columns: dict[str, tuple[str, ...]]  # target -> source column(s), joined by a space when several
    values: dict[str, dict[str, str | None]]
    defaults: dict[str, str]
    distinct: bool
    date_formats: tuple[str, ...]
    timezone: ZoneInfo
    delimiter: str = ","
    rows: list[tuple[int, dict[str, str]]] | None = None  # inline rows: (mapping line, {field: text})
    line: int | None = None
    crm_object: str | None = None  # `object:` in place of `path:`: a CRM object, read by `bot.py sync`

    @property
    def spec(self) -> EntitySpec:
        return ENTITIES[self.entity]

    def maps(self, target: str) -> bool:
        return target in self.columns or target in self.defaults

    def source_columns(self) -> list[str]:
        cols = [self.key] if self.key else []
        for sources in self.columns.values():
            cols += [c for c in sources if c not in cols]
        return cols


@dataclass
class Mapping:
    path: Path
    display: str
    files: list[FileSpec]

    def ordered(self) -> list[FileSpec]:
        """Files in dependency order (stages, reps, accounts, opportunities, history, activities, quotas)."""
        return sorted(self.files, key=lambda f: (ENTITY_ORDER.index(f.entity), f.index))

    def entities(self) -> list[str]:
        present = {f.entity for f in self.files}
        return [e for e in ENTITY_ORDER if e in present]


class MappingError(Exception):
    """Every problem found. `checkable`: the entries whose files can still be checked although the mapping has
    problems (a bad target column does not stop us from saying which source columns the CSV lacks)."""

    def __init__(self, problems: list[Problem], checkable: Mapping | None = None):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.checkable = checkable


# --- YAML with line numbers, every scalar a string ----------------------------------------------------------


class _LineDict(dict):
    line: int | None = None
    lines: dict

    def line_of(self, key) -> int | None:
        return self.lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    """Safe YAML where plain scalars stay strings (`Yes`, `010`, `2026-01-01` are text), except null."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag.endswith((":null", ":merge"))]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (dict, list)):
            raise yaml.constructor.ConstructorError(None, None, "a key cannot be a list or a mapping",
                                                    key_node.start_mark)
        key = "" if key is None else key
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- parsing and checking ---------------------------------------------------------------------------------

_TOP_KEYS = {"date_format", "timezone", "files"}
_FILE_KEYS = {"path", "rows", "object", "entity", "key", "columns", "values", "defaults", "distinct", "date_format",
              "timezone", "delimiter"}
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


class _Checker:
    def __init__(self, display: str):
        self.flawed: list[FileSpec] = []  # entries with problems whose files can still be read and checked
        self.display = display
        self.problems: list[Problem] = []

    def bad(self, line: int | None, option: str, value, reason: str) -> None:
        shown = "" if value is None else value if isinstance(value, str) else _short(value)
        self.problems.append(Problem(self.display, line, option, shown, reason, cell=False))


def _short(value) -> str:
    text = repr(value) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_mapping(path: Path | str) -> Mapping:
    """Read and check a mapping file; raises MappingError listing every problem."""
    path = Path(path)
    display = str(path)
    check = _Checker(display)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError([Problem(display, None, "", "", "the mapping file does not exist.")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError([Problem(display, None, "", "", f"the mapping file cannot be read ({exc}).")]) from None
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        raise MappingError([Problem(display, mark.line + 1 if mark else None, "", "",
                                    f"this is not valid YAML ({what}); check the indentation, quotes and "
                                    "brackets on this line and the one before.", cell=False)]) from None
    if not isinstance(doc, dict):
        raise MappingError([Problem(display, None, "", "",
                                    "a mapping file is a YAML mapping with a `files:` list (see examples/).")])
    for key in doc:
        if key not in _TOP_KEYS:
            check.bad(doc.line_of(key), str(key), "", f"unknown option; the top level takes {_list(_TOP_KEYS)}.")
    formats = _formats(check, doc, ())
    tz = _zone(check, doc, ZoneInfo("UTC"))
    files = doc.get("files")
    specs: list[FileSpec] = []
    if not isinstance(files, list) or not files:
        check.bad(doc.line_of("files"), "files", files, "the mapping needs a `files:` list with at least one entry.")
    else:
        for i, entry in enumerate(files):
            spec = _file_spec(check, path, i, entry, formats, tz)
            if spec is not None:
                specs.append(spec)
    if check.problems:
        checkable = sorted(specs + check.flawed, key=lambda f: f.index)
        raise MappingError(check.problems, Mapping(path, display, checkable))
    return Mapping(path, display, specs)


def _list(items) -> str:
    return ", ".join(sorted(items))


def _formats(check: _Checker, node: _LineDict, inherited: tuple[str, ...]) -> tuple[str, ...]:
    raw = node.get("date_format")
    if raw is None:
        return inherited
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(x, str) and "%" in x for x in items):
        check.bad(node.line_of("date_format"), "date_format", raw,
                  'date_format is a strptime pattern such as "%m/%d/%Y", or a list of them.')
        return inherited
    return tuple(items)


def _zone(check: _Checker, node: _LineDict, inherited: ZoneInfo) -> ZoneInfo:
    raw = node.get("timezone")
    if raw is None:
        return inherited
    try:
        return ZoneInfo(str(raw))
    except (ZoneInfoNotFoundError, ValueError):
        check.bad(node.line_of("timezone"), "timezone", raw,
                  "timezone is an IANA zone such as UTC or America/New_York (used for times written without one).")
        return inherited


def _file_spec(check: _Checker, mapping_path: Path, i: int, entry, formats, tz) -> FileSpec | None:
    where = f"files[{i}]"
    if not isinstance(entry, dict):
        check.bad(None, where, entry, "each entry of `files:` is a mapping with path, entity, key and columns.")
        return None
    line = entry.line
    before = len(check.problems)
    for key in entry:
        if key not in _FILE_KEYS:
            check.bad(entry.line_of(key), f"{where}.{key}", "",
                      f"unknown option; a file entry takes {_list(_FILE_KEYS)}.")
    entity = entry.get("entity")
    if entity is None:
        check.bad(line, f"{where}.entity", "", f"missing `entity:`; use one of {', '.join(ENTITY_ORDER)}.")
        return None
    if entity not in ENTITIES:
        check.bad(entry.line_of("entity"), f"{where}.entity", entity,
                  f"unknown entity; use one of {', '.join(ENTITY_ORDER)}.")
        return None
    spec = ENTITIES[entity]

    raw_path, rows, crm_object = entry.get("path"), entry.get("rows"), entry.get("object")
    path = None
    inline: list[tuple[int, dict[str, str]]] | None = None
    display = ""
    if sum(x is not None for x in (raw_path, rows, crm_object)) != 1:
        check.bad(line, f"{where}.path", raw_path or "", "each file entry needs one of `path:` (a CSV file), "
                  "`rows:` (a list of rows) or `object:` (a CRM object, for `bot.py sync`).")
    elif crm_object is not None:
        if not isinstance(crm_object, str) or not crm_object.strip():
            check.bad(entry.line_of("object"), f"{where}.object", crm_object, "object names a CRM object, e.g. "
                      "Opportunity.")
        else:
            crm_object = display = crm_object.strip()
    elif raw_path is not None:
        if not isinstance(raw_path, str) or not raw_path.strip():
            check.bad(entry.line_of("path"), f"{where}.path", raw_path, "path is a file name, relative to the mapping.")
        else:
            display = raw_path.strip()
            path = Path(display).expanduser()
            if not path.is_absolute():
                path = mapping_path.resolve().parent / path
    else:
        display = f"{mapping_path.name} ({where}.rows)"
        inline = _inline_rows(check, entry, where)

    # columns: target -> source column(s); inline rows map their own field names
    columns: dict[str, tuple[str, ...]] = {}
    raw_columns = entry.get("columns")
    if raw_columns is None:
        raw_columns = {}
    if not isinstance(raw_columns, dict):
        check.bad(entry.line_of("columns"), f"{where}.columns", raw_columns,
                  "columns maps target columns to source columns, e.g. {name: Deal Name, amount: Amount}.")
        raw_columns = {}
    for target, source in raw_columns.items():
        name = spec.aliases.get(target, target)
        opt = f"{where}.columns.{target}"
        if name not in spec.targets:
            check.bad(raw_columns.line_of(target), opt, target, _unknown_target(spec, target))
            continue
        sources = source if isinstance(source, list) else [source]
        if not sources or not all(isinstance(s, str) and s.strip() for s in sources):
            check.bad(raw_columns.line_of(target), opt, source,
                      "name the source column (or a list of columns to join).")
            continue
        columns[name] = tuple(s.strip() for s in sources)
    key = entry.get("key")
    if key is not None and (not isinstance(key, str) or not key.strip()):
        check.bad(entry.line_of("key"), f"{where}.key", key, "key names one source column.")
        key = None
    key = key.strip() if key else None
    if inline is not None:
        for _, row in inline:
            for name in row:
                target = spec.aliases.get(name, name)
                if name != key and target not in columns and target in spec.targets:
                    columns[target] = (name,)
        known = set(spec.targets) | set(spec.aliases) | {key} | {c for s in columns.values() for c in s}
        for row_line, row in inline:
            for name in row:
                if name not in known:
                    check.bad(row_line, f"{where}.rows", name, _unknown_target(spec, name))

    if spec.key_required and not key:
        check.bad(line, f"{where}.key", "",
                  f"{entity} need `key:`, the source column that identifies a row (it becomes the external id).")
    if entity == "stages" and not key:
        if "name" in columns:
            key = columns["name"][0]
        else:
            check.bad(line, f"{where}.key", "", "stages need `key:` (or columns.name), the column with the stage name.")

    values = _values(check, entry, spec, where)
    defaults = _defaults(check, entry, spec, where)
    for target in spec.required:
        if target not in columns and target not in defaults:
            check.bad(line, f"{where}.columns", "",
                      f"{entity} need a `{target}` column; add it under columns (or defaults).")
    for target in values:
        if target not in columns and target not in defaults and not (entity == "stages" and target == "name"):
            check.bad(entry["values"].line_of(target), f"{where}.values.{target}", target,
                      f"values are given for `{target}`, which no column or default fills.")

    distinct = _bool_option(check, entry, "distinct", where)
    delimiter = entry.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        check.bad(entry.line_of("delimiter"), f"{where}.delimiter", delimiter, "delimiter is one character, e.g. ';'.")
        delimiter = ","
    file_formats = _formats(check, entry, formats)
    file_tz = _zone(check, entry, tz)
    for target, text in defaults.items():
        kind = spec.targets[target].kind
        if kind in ("ref", "stage"):
            continue
        mapped = translate(values.get(target), text.strip())
        if not mapped:
            continue
        try:
            parse_value(kind, mapped, file_formats, file_tz, spec.targets[target].max_len)
        except BadValue as exc:
            check.bad(entry["defaults"].line_of(target), f"{where}.defaults.{target}", text, f"the default {exc}")
    file_spec = FileSpec(i, entity, display, path, key, columns, values, defaults, distinct, file_formats, file_tz,
                         delimiter, inline, line, crm_object)
    if len(check.problems) > before:
        if path is not None or inline is not None:
            check.flawed.append(file_spec)
        return None
    return file_spec


def _unknown_target(spec: EntitySpec, target) -> str:
    names = sorted(set(spec.targets) | set(spec.aliases))
    if target in ("id", "external_id"):
        return f"the external id of {spec.name} comes from `key:`; {spec.name} columns are {', '.join(names)}."
    return f"{spec.name} have no column `{target}`; use one of {', '.join(names)}."


def _inline_rows(check: _Checker, entry, where) -> list[tuple[int, dict[str, str]]] | None:
    rows = entry.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        check.bad(entry.line_of("rows"), f"{where}.rows", rows, "rows is a list of mappings, one per row.")
        return None
    out = []
    for row in rows:
        bad = [k for k, v in row.items() if isinstance(v, (dict, list))]
        for k in bad:
            check.bad(row.line_of(k), f"{where}.rows.{k}", row[k], "a row value is a single value.")
        out.append((row.line, {str(k): "" if v is None else str(v) for k, v in row.items()}))
    return out


def _values(check: _Checker, entry, spec: EntitySpec, where) -> dict[str, dict[str, str | None]]:
    raw = entry.get("values")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        check.bad(entry.line_of("values"), f"{where}.values", raw,
                  "values maps a target column to {source value: stored value}, e.g. {stage: {Won: Closed Won}}.")
        return {}
    out = {}
    for target, table in raw.items():
        name = spec.aliases.get(target, target)
        if name not in spec.targets:
            check.bad(raw.line_of(target), f"{where}.values.{target}", target, _unknown_target(spec, target))
            continue
        if not isinstance(table, dict) or any(isinstance(v, (dict, list)) for v in table.values()):
            check.bad(raw.line_of(target), f"{where}.values.{target}", table,
                      "each entry of values is a mapping {source value: stored value}.")
            continue
        out[name] = {str(k): (None if v is None else str(v)) for k, v in table.items()}
    return out


def _defaults(check: _Checker, entry, spec: EntitySpec, where) -> dict[str, str]:
    raw = entry.get("defaults")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        check.bad(entry.line_of("defaults"), f"{where}.defaults", raw,
                  "defaults maps a target column to a value, e.g. {currency: USD}.")
        return {}
    out = {}
    for target, value in raw.items():
        name = spec.aliases.get(target, target)
        if name not in spec.targets:
            check.bad(raw.line_of(target), f"{where}.defaults.{target}", target, _unknown_target(spec, target))
        elif isinstance(value, (dict, list)):
            check.bad(raw.line_of(target), f"{where}.defaults.{target}", value, "a default is a single value.")
        elif value is not None:
            out[name] = str(value)
    return out


def _bool_option(check: _Checker, entry, name: str, where: str) -> bool:
    raw = entry.get(name)
    if raw is None:
        return False
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    check.bad(entry.line_of(name), f"{where}.{name}", raw, f"{name} is true or false.")
    return False
