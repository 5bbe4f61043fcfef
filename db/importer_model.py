"""What the importer knows about the sales entities, and how it describes a problem with the input.

`ENTITIES` lists, per entity a mapping can load, the target columns it accepts with the parser each needs
(`kind`) and, for references, the entity they point to; `Problem` is one bad row, missing column or bad
mapping entry, reported as file, line, column, value and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from db import schema

if TYPE_CHECKING:
    from db.mapping import FileSpec

# --- problems ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: a bad row, a missing column, a bad mapping entry."""

    file: str
    line: int | None
    column: str
    value: str
    reason: str
    cell: bool = True  # about a cell's value (shown even when empty), not about the file or the mapping

    def sentence(self) -> str:
        where = self.file
        if self.line:
            where += f", line {self.line}"
        if self.column:
            where += f', column "{self.column}"'
        if self.value or (self.cell and self.column):
            value = self.value if len(self.value) <= 80 else self.value[:77] + "..."
            where += f', value "{value}"'
        return f"{where}: {self.reason}"


def problems_message(headline: str, problems: list[Problem], advice: str = "", cap: int = 20, tail: str = "") -> str:
    """One line for one problem; else the headline, the count and a capped list, one problem a line."""
    advice = f" {advice}" if advice else ""
    if len(problems) == 1:
        return f"{headline}: {problems[0].sentence()}{advice}"
    files = len({p.file for p in problems})
    lines = [f"{headline}: {len(problems)} problems in {files} file{'s' if files > 1 else ''}.{advice}"]
    lines += [f"  - {p.sentence()}" for p in problems[:cap]]
    if len(problems) > cap:
        lines.append(f"  ... and {len(problems) - cap} more{tail}")
    return "\n".join(lines)


# --- what each entity accepts -----------------------------------------------------------------------------

ENTITY_ORDER = ("stages", "reps", "accounts", "opportunities", "opportunity_history", "activities", "quotas",
                "exchange_rates")


@dataclass(frozen=True)
class Target:
    """A column a mapping may fill. `kind` picks the parser; `ref` names the entity a reference points to."""

    name: str
    kind: str
    ref: str | None = None
    max_len: int | None = None


def _targets(table, spec: dict[str, str]) -> dict[str, Target]:
    out = {}
    for name, kind in spec.items():
        ref = kind[4:] if kind.startswith("ref:") else None
        column = table.c.get(name)
        length = getattr(column.type, "length", None) if column is not None else None
        out[name] = Target(name, "ref" if ref else kind, ref, length)
    return out


@dataclass(frozen=True)
class EntitySpec:
    name: str
    table: object
    targets: dict[str, Target]
    key_required: bool  # the key becomes external_id
    required: tuple[str, ...] = ()  # targets that must be mapped (a column or a default)
    aliases: dict[str, str] = field(default_factory=dict)


ENTITIES: dict[str, EntitySpec] = {
    "stages": EntitySpec(
        "stages",
        schema.stages,
        _targets(schema.stages, {
            "name": "text", "position": "int", "probability": "percent", "forecast_category": "forecast_category",
            "is_closed": "bool", "is_won": "bool", "expected_days": "int",
        }),
        key_required=False,
    ),
    "reps": EntitySpec(
        "reps",
        schema.reps,
        _targets(schema.reps, {
            "name": "text", "email": "email", "slack_user_id": "text", "role": "role", "manager": "ref:reps",
            "team": "text", "region": "text", "segment": "text", "active": "bool", "timezone": "timezone",
            "start_date": "date",
        }),
        key_required=True,
    ),
    "accounts": EntitySpec(
        "accounts",
        schema.accounts,
        _targets(schema.accounts, {
            "name": "text", "industry": "text", "segment": "text", "region": "text", "owner": "ref:reps",
            "created_at": "timestamp",
        }),
        key_required=True,
    ),
    "opportunities": EntitySpec(
        "opportunities",
        schema.opportunities,
        _targets(schema.opportunities, {
            "name": "text", "account": "ref:accounts", "owner": "ref:reps", "stage": "stage", "amount": "money",
            "currency": "currency", "probability": "percent", "forecast_category": "forecast_category",
            "created_at": "timestamp", "close_date": "date", "closed_at": "timestamp",
            "stage_entered_at": "timestamp", "last_activity_at": "timestamp", "next_step": "text",
            "product": "text", "source": "text", "loss_reason": "text", "updated_at": "timestamp",
        }),
        key_required=True,
        required=("owner", "stage"),
    ),
    "opportunity_history": EntitySpec(
        "opportunity_history",
        schema.opportunity_history,
        _targets(schema.opportunity_history, {
            "opportunity": "ref:opportunities", "changed_at": "timestamp", "stage": "stage", "amount": "money",
            "close_date": "date", "probability": "percent", "forecast_category": "forecast_category",
        }),
        key_required=False,
        required=("opportunity", "changed_at"),
    ),
    "activities": EntitySpec(
        "activities",
        schema.activities,
        _targets(schema.activities, {
            "opportunity": "ref:opportunities", "account": "ref:accounts", "rep": "ref:reps", "kind": "kind",
            "subject": "text", "occurred_at": "timestamp",
        }),
        key_required=False,
        required=("kind", "occurred_at"),
        aliases={"owner": "rep"},
    ),
    "quotas": EntitySpec(
        "quotas",
        schema.quotas,
        _targets(schema.quotas, {
            "rep": "ref:reps", "period_start": "date", "period_end": "date", "amount": "money",
        }),
        key_required=False,
        required=("rep", "period_start", "period_end", "amount"),
        aliases={"owner": "rep"},
    ),
    "exchange_rates": EntitySpec(
        "exchange_rates",
        schema.exchange_rates,
        _targets(schema.exchange_rates, {
            "currency": "currency", "rate": "rate", "valid_from": "date", "valid_to": "date",
        }),
        key_required=False,
        required=("currency", "rate", "valid_from"),
    ),
}


# --- rows and counts (shared by the importer's phases) ----------------------------------------------------


@dataclass
class Row:
    """One source row after parsing: typed values per target column (references and stages still text)."""

    spec: FileSpec
    line: int
    key: str | None
    values: dict
    sources: dict[str, tuple[str, str]]  # target -> (source column label, text as written) for messages

    def source(self, target: str) -> tuple[str, str]:
        return self.sources.get(target, (target, ""))

    @property
    def key_column(self) -> str:
        return self.spec.key or ""


@dataclass
class EntityCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    removed: int = 0

    def line(self, entity: str) -> str:
        text = f"{entity}: {self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        if self.removed:
            text += f", {self.removed} removed"
        return text + f", {self.rejected} rejected"
