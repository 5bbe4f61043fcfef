"""What the bot says, as plain data. Renderers (render/) turn it into Block Kit, console text or a chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Formats a value can carry; renderers format each for people ($1.2M, 63%, 41 days).
FORMATS = ("money", "ratio", "multiple", "count", "days", "text", "date")


@dataclass(frozen=True)
class Figure:
    """One key figure, shown as a field: label and value."""

    label: str
    value: Decimal | int | str | date | None
    fmt: str = "money"


@dataclass(frozen=True)
class Column:
    name: str
    fmt: str = "text"


@dataclass
class Table:
    """A compact table. `total_rows` > len(rows) means the list was cut ("and N more"); `all_rows`, when set,
    holds every row (the shown ones first), for the CSV file."""

    columns: list[Column]
    rows: list[list[Any]]
    total_rows: int | None = None
    all_rows: list[list[Any]] | None = None

    @property
    def more(self) -> int:
        return max(0, (self.total_rows or len(self.rows)) - len(self.rows))


@dataclass(frozen=True)
class ChartSpec:
    """Data for one chart. kind: bars | lines | funnel | paired | pipeline_by_stage | attainment_pace | forecast |
    leaderboard (render/charts.py draws each; assistant/chart_specs.py picks one by the data's shape).

    `series` holds (label, value) pairs (or for attainment_pace: (date, cumulative won) pairs, with `target`
    the quota and `period` bounds in `extra`; for paired: (label, (first, second)) pairs). `extra` may carry
    "fmt" (money | ratio | count | days), "legend" (paired), "conversion" (funnel), "currency".
    """

    kind: str
    title: str
    series: list[tuple[Any, Any]]
    target: Decimal | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """A button. kind: share | chart | csv | snooze_7 | snooze_30 | snooze_custom | still_active | open_crm."""

    kind: str
    label: str
    value: str = ""
    url: str | None = None
    style: str | None = None  # primary | danger | None


@dataclass(frozen=True)
class DealCard:
    record: str
    name: str
    owner: str | None
    account: str | None
    stage: str
    stage_path: list[tuple[str, datetime]]  # (stage, entered at) from history
    amount: Decimal | None
    close_date: date | None
    changes: list[str]  # human lines: "Close date 31 Oct 2026 → 30 Nov 2026 (12 Nov 2026)"
    last_activity: datetime | None
    next_step: str | None
    crm_url: str | None  # a link of its own; else renderers build one from CRM_URL_TEMPLATE and the record
    probability: int | None = None  # percent
    currency: str | None = None  # the deal's own currency and amount (`amount` is in the answer's currency)
    own_amount: Decimal | None = None


@dataclass
class Answer:
    """One reply. `kind` tells renderers the shape: metric | list | deal | help | refusal | error | info."""

    kind: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    table: Table | None = None
    lines: list[str] = field(default_factory=list)  # plain text, escaped by the renderer
    context: list[str] = field(default_factory=list)  # period, scope, data freshness
    understood: str | None = None  # "I read this as …" when the request was fuzzy
    suggestion: str | None = None
    chart: ChartSpec | None = None
    export: Table | None = None  # every row, uploaded as a CSV file (when `csv` was asked)
    actions: list[Action] = field(default_factory=list)
    deal: DealCard | None = None
    error_id: str | None = None
    request_text: str = ""  # what was asked, for the share button and the log
    currency: str = "USD"  # the currency of every money figure: ORG_CURRENCY, or the one asked for
