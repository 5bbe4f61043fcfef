"""The CRM mapping: the connector's default mapping (crm/<connector>.yml), extended or overridden by the file
CRM_MAPPING names. Both are the importer's mapping format with `object:` entries (db/mapping.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from db.mapping import FileSpec, MappingError, load_mapping
from errors import UserError

DEFAULTS = Path(__file__).resolve().parent


def crm_mapping(connector: str, override: str = "") -> list[FileSpec]:
    """The object entries to sync, in the order the importer writes entities."""
    default = DEFAULTS / f"{connector}.yml"
    path = default
    if override:
        path = _merged(default, Path(override))
    try:
        mapping = load_mapping(path)
    except MappingError as exc:
        raise UserError("The CRM mapping has problems:\n" + "\n".join(f"  - {p.sentence()}" for p in exc.problems)
                        ) from None
    finally:
        if path != default:
            path.unlink(missing_ok=True)
    specs = mapping.ordered()
    not_crm = [s.display for s in specs if s.crm_object is None]
    if not_crm:
        raise UserError(f"CRM_MAPPING entries need `object:` (a CRM object), not files: {', '.join(not_crm)}.")
    return specs


def _merged(default: Path, override: Path) -> Path:
    """One mapping file: the default's entries with the override's merged over them (same object and entity)."""
    base = yaml.safe_load(default.read_text())
    try:
        extra = yaml.safe_load(override.read_text(encoding="utf-8-sig")) or {}
    except OSError as exc:
        raise UserError(f"CRM_MAPPING {str(override)!r} cannot be read ({exc.strerror}).") from None
    except yaml.YAMLError as exc:
        raise UserError(f"CRM_MAPPING {str(override)!r} is not valid YAML ({exc}).") from None
    if not isinstance(extra, dict) or not isinstance(extra.get("files", []), list):
        raise UserError(f"CRM_MAPPING {str(override)!r} is a mapping with a `files:` list of `object:` entries.")
    entries = base["files"]
    for entry in extra.get("files", []):
        same = next((e for e in entries if isinstance(entry, dict) and e.get("object") == entry.get("object")
                     and e.get("entity") == entry.get("entity")), None)
        if same is None:
            entries.append(entry)
            continue
        for option, value in entry.items():
            if isinstance(value, dict) and isinstance(same.get(option), dict):
                same[option] = {**same[option], **value}
            else:
                same[option] = value
    for option, value in extra.items():
        if option != "files":
            base[option] = value
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=override.resolve().parent) as out:
        yaml.safe_dump(base, out, sort_keys=False)
    return Path(out.name)
