"""`python bot.py check [--format table|json|csv]`: run the integrity rules over the whole org and print them.

table: the totals per rule, then every finding in aligned columns. json: one object
``{"generated_at": ISO, "today": ISO, "totals": {rule: n}, "findings": [{rule, record_type, record, record_name,
owner, detail, amount}]}`` with every rule in ``totals`` (zeros included) and money as a JSON number or null.
csv: a header and one row per finding. Exit status 0 whatever was found.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

from config import Settings
from db.engine import get_engine
from metrics.integrity import RULES, integrity_findings
from metrics.rules_common import Finding, money

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


def write_json(findings: list[Finding], generated_at: datetime, today, out: TextIO) -> None:
    payload = {
        "generated_at": generated_at.isoformat(),
        "today": today.isoformat(),
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


def _aligned(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                                  strict=True))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def write_table(findings: list[Finding], generated_at: datetime, today, out: TextIO) -> None:
    counts = totals(findings)
    print(f"Integrity check for {today} (generated {generated_at:%Y-%m-%d %H:%M} UTC): "
          f"{len(findings)} finding{'s' if len(findings) != 1 else ''}", file=out)
    print(file=out)
    rows = [[rule, RULES[rule], str(n)] for rule, n in counts.items()]
    for line in _aligned(["rule", "title", "findings"], rows, right={2}):
        print(line, file=out)
    if not findings:
        print("\nNo findings: the data passes every rule.", file=out)
        return
    print(file=out)
    rows = [[f.rule, f.record, f.record_name, f.owner or "-", "-" if f.amount is None else money(f.amount), f.detail]
            for f in findings]
    for line in _aligned(["rule", "record", "name", "owner", "amount", "detail"], rows, right={4}):
        print(line, file=out)


def run_check_command(args: Any, settings: Settings, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    engine = get_engine(settings.database_url)
    generated_at = datetime.now(UTC)
    today = generated_at.astimezone(settings.tz).date()
    with engine.connect() as conn:
        findings = integrity_findings(conn, today=today, now=generated_at, settings=settings)
    fmt = getattr(args, "format", "table") or "table"
    try:
        if fmt == "json":
            write_json(findings, generated_at, today, out)
        elif fmt == "csv":
            write_csv(findings, out)
        else:
            write_table(findings, generated_at, today, out)
        out.flush()
    except BrokenPipeError:  # `bot.py check | head`: the reader has all it wanted
        if out is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    return 0
