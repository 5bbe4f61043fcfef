"""`python bot.py metrics METRIC [--period P] [--by DIMS] [--scope S] [--as EMAIL] [--format F] [--explain]`."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config import Settings
from db.engine import get_engine
from metrics.evaluate import MetricResult, evaluate, metric_definition
from metrics.moments import DEFAULT_POINTS, MomentError, parse_moment, trend_moments
from metrics.periods import parse_period
from metrics.scopes import Viewer, resolve_scope, viewer_by_email

# The CLI is an operator's tool: without --as it sees what sales ops sees (everything).
OPERATOR = Viewer(rep_id=0, name="operator", email=None, role="ops", active=True, timezone=None)


def local_today(settings: Settings, viewer: Viewer | None = None) -> date:
    """Today where the asker is: their own zone (`reps.timezone`), else the org's (DEFAULT_TIMEZONE)."""
    tz = settings.tz
    if viewer is not None and viewer.timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):  # an unknown zone: the org's
            tz = ZoneInfo(viewer.timezone)
    return datetime.now(tz).date()


def to_json_value(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    return value


def result_to_json(result: MetricResult) -> dict:
    out = {
        "metric": result.metric,
        "period": {"start": result.period.start.isoformat(), "end": result.period.end.isoformat(),
                   "label": result.period.label},
        "scope": result.scope.label,
    }
    if result.as_of is not None:
        out["as_of"] = to_json_value(result.as_of)
    out["rows"] = [{k: to_json_value(v) for k, v in row.items()} for row in result.rows]
    return out


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:,}"
    return str(value)


def print_table(result: MetricResult, out=None) -> None:
    out = out or sys.stdout  # looked up at call time: stdout may have been replaced since import
    rows = result.rows
    print(f"{result.label} · {result.period.label} ({result.period.start} .. {result.period.end}) · "
          f"{result.scope.label}", file=out)
    if not rows:
        print("(no data)", file=out)
        return
    headers = list(rows[0].keys())
    table = [[_cell(r.get(h)) for h in headers] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in table)) for i, h in enumerate(headers)]
    numeric = [all(c == "-" or c.replace(",", "").replace(".", "").lstrip("-").isdigit() for c in
                   (line[i] for line in table)) for i in range(len(headers))]
    fmt_cell = [(lambda c, w=w, n=n: c.rjust(w) if n else c.ljust(w)) for w, n in zip(widths, numeric, strict=True)]
    print("  ".join(f(h) for f, h in zip(fmt_cell, headers, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for line in table:
        print("  ".join(f(c) for f, c in zip(fmt_cell, line, strict=True)), file=out)


def print_explain(result: MetricResult, out=None) -> None:
    out = out or sys.stdout
    definition = metric_definition(result.metric)
    print(f"metric: {result.metric} — {result.label}", file=out)
    print(f"definition: {definition.description}", file=out)
    print(f"period: {result.period.label} = {result.period.start} .. {result.period.end}", file=out)
    print(f"scope: {result.scope.label}", file=out)
    print(f"dimensions allowed: {', '.join(definition.dimensions)}", file=out)
    for i, sql in enumerate(result.sql, 1):
        print(f"-- query {i}\n{sql};", file=out)


def _moments(args, settings: Settings, today: date) -> datetime | tuple[datetime, ...] | None:
    """--as-of D: one moment; --trend weekly|monthly [--points N]: the ends of the last N weeks or months."""
    trend, as_of = getattr(args, "trend", None), getattr(args, "as_of", None)
    if trend and as_of:
        raise MomentError("Ask either --as-of or --trend, not both: a trend's points are the ends of the last "
                          "weeks or months.")
    if trend:
        points = args.points or DEFAULT_POINTS[trend]
        return trend_moments(trend, points, datetime.now(settings.tz), settings.tz)
    if as_of:
        return parse_moment(as_of, today, settings.tz, settings.fiscal_year_start_month)
    return None


def run_metrics_command(args, settings: Settings) -> int:
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        viewer = viewer_by_email(conn, args.as_email) if args.as_email else OPERATOR
        today = local_today(settings, viewer)
        period = parse_period(args.period, today, settings.fiscal_year_start_month)
        scope = resolve_scope(conn, viewer, args.scope)  # no --scope: what the viewer's "my numbers" means
        result = evaluate(conn, args.metric, period, scope, by=args.by, today=today,
                          fiscal_start_month=settings.fiscal_year_start_month,
                          as_of=_moments(args, settings, today))
    if args.explain:
        print_explain(result)
        print()
    if args.format == "json":
        print(json.dumps(result_to_json(result), indent=2))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        headers = list(result.rows[0].keys()) if result.rows else ["value"]
        writer.writerow(headers)
        for row in result.rows:
            writer.writerow(["" if row.get(h) is None else row.get(h) for h in headers])
    else:
        print_table(result)
    return 0
