"""`python bot.py check [--as EMAIL] [--format table|json|csv]`: run the integrity rules and print them.

Without `--as` the rules run over the whole org on the org's today (DEFAULT_TIMEZONE); with `--as EMAIL` over
that person's own scope (a rep's deals, a manager's tree, the org for exec and ops) on their today (metrics.clock).

table: the totals per rule, then every finding in aligned columns. json: one object
``{"generated_at": ISO, "today": ISO, "time_zone": IANA, "scope": label, "totals": {rule: n}, "findings": [{rule,
record_type, record, record_name, owner, detail, amount}]}`` with every rule in ``totals`` (zeros included) and
money as a JSON number or null. csv: a header and one row per finding. Exit status 0 whatever was found.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TextIO

from config import Settings
from db.engine import get_engine
from i18n import N_
from metrics.clock import person_by_email, viewer_today, viewer_zone
from metrics.integrity import RULES, integrity_findings
from metrics.rules_common import Finding
from metrics.scopes import default_scope

WHOLE_ORG = N_("the whole org")
FIELDS = ("rule", "record_type", "record", "record_name", "owner", "detail", "amount")


def json_amount(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def totals(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.rule for f in findings)
    return {rule: counts.get(rule, 0) for rule in RULES}


def finding_row(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "record_type": f.record_type,
        "record": f.record,
        "record_name": f.record_name,
        "owner": f.owner,
        "detail": f.detail,
        "amount": json_amount(f.amount),
    }


@dataclass(frozen=True)
class CheckRun:
    """When the check ran, the date it judged by, in which zone, and over whose deals."""

    generated_at: datetime
    today: date
    time_zone: str
    scope: str  # the scope's label; WHOLE_ORG (English, as the json says it) for the whole org


def write_json(findings: list[Finding], run: CheckRun, out: TextIO) -> None:
    payload = {
        "generated_at": run.generated_at.isoformat(),
        "today": run.today.isoformat(),
        "time_zone": run.time_zone,
        "scope": run.scope,
        "totals": totals(findings),
        "findings": [finding_row(f) for f in findings],
    }
    json.dump(payload, out, indent=2, ensure_ascii=False)
    out.write("\n")


def write_csv(findings: list[Finding], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for f in findings:
        row = finding_row(f)
        writer.writerow(["" if row[k] is None else row[k] for k in FIELDS[:-1]] + [
            "" if f.amount is None else str(f.amount)])


TableWriter = Callable[[list[Finding], CheckRun, TextIO], None]


def run_check_command(args: Any, settings: Settings, write_table: TableWriter, out: TextIO | None = None) -> int:
    """`write_table` writes the table format for people (render.check.write_table, passed in by bot.py: the
    metrics layer builds no text for people); json and csv are written here."""
    out = out or sys.stdout
    engine = get_engine(settings.database_url)
    generated_at = datetime.now(UTC)
    email = getattr(args, "as_email", None)
    with engine.connect() as conn:
        viewer = person_by_email(conn, email) if email else None
        scope = default_scope(viewer) if viewer is not None else None
        today = viewer_today(viewer, settings, generated_at)
        run = CheckRun(generated_at, today, viewer_zone(viewer, settings).key,
                       scope.label if scope is not None else WHOLE_ORG)
        findings = integrity_findings(conn, today=today, now=generated_at, settings=settings,
                                      owner_ids=None if scope is None else scope.member_ids(conn))
    fmt = getattr(args, "format", "table") or "table"
    try:
        if fmt == "json":
            write_json(findings, run, out)
        elif fmt == "csv":
            write_csv(findings, out)
        else:
            write_table(findings, run, out)
        out.flush()
    except BrokenPipeError:  # `bot.py check | head`: the reader has all it wanted
        if out is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    return 0
