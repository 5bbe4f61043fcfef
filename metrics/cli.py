"""`python bot.py metrics METRIC [--period P] [--by DIMS] [--scope S] [--as EMAIL] [--format F] [--explain]`."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_decimal

from config import Settings
from db.engine import get_engine
from i18n import _, current_locale, ngettext
from metrics.clock import person_by_email, viewer_today
from metrics.evaluate import MetricResult, evaluate, metric_definition
from metrics.moments import DEFAULT_POINTS, MomentError, parse_moment, trend_moments
from metrics.periods import parse_period
from metrics.scopes import Viewer, resolve_scope
from metrics.trend_snapshots import evaluate_trend

# The CLI is an operator's tool: without --as it sees what sales ops sees (everything).
OPERATOR = Viewer(rep_id=0, name="operator", email=None, role="ops", active=True, timezone=None)


def local_today(settings: Settings, viewer: Viewer | None = None) -> date:
    """Today where the asker is (metrics.clock): their zone, else the org's (DEFAULT_TIMEZONE)."""
    return viewer_today(None if viewer is OPERATOR else viewer, settings)


def to_json_value(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    return value


def result_to_json(result: MetricResult) -> dict:
    out = {
        "metric": result.metric,
        "currency": result.currency,
        "left_out": result.left_out,
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
          f"{result.scope.label}" + (f" · {result.currency}" if result.fmt == "money" else ""), file=out)
    if result.left_out:
        print(ngettext("{n} deal was left out: its currency has no exchange rate on its date",
                       "{n} deals were left out: their currency has no exchange rate on their date",
                       result.left_out).format(n=result.left_out), file=out)
    if not rows:
        print(_("(no data)"), file=out)
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


def explain_json(result: MetricResult) -> dict:
    """`--explain --format json`: the explanation as a member of the answer, so the output stays one JSON value."""
    definition = metric_definition(result.metric)
    return {"metric": result.metric, "label": _(result.label), "definition": _(definition.description),
            "period": f"{result.period.label} = {result.period.start} .. {result.period.end}",
            "scope": result.scope.label, "dimensions_allowed": list(definition.dimensions),
            "sql": [str(sql) for sql in result.sql]}


def print_explain(result: MetricResult, out=None) -> None:
    """The metric's definition, period, scope and SQL, in DEFAULT_LOCALE (bot.py runs every command in it)."""
    out = out or sys.stdout
    definition = metric_definition(result.metric)
    lines = [
        _("metric: {name} — {label}").format(name=result.metric, label=_(result.label)),
        _("definition: {definition}").format(definition=_(definition.description)),
        _("period: {label} = {start} .. {end}").format(label=result.period.label, start=result.period.start,
                                                         end=result.period.end),
        _("scope: {scope}").format(scope=result.scope.label),
        _("dimensions allowed: {dimensions}").format(dimensions=", ".join(definition.dimensions)),
        _("currency: amounts in {currency}; each deal converted at the exchange rate valid on its close date when "
          "closed, today's when open (amount ÷ rate, half-even to the cent, deal by deal)").format(
            currency=result.org_currency),
    ]
    if result.rate is not None:
        lines.append(_("shown in {currency} at today's rate: 1 {org_currency} = {rate} {currency}").format(
            currency=result.currency, org_currency=result.org_currency,
            rate=format_decimal(result.rate.normalize(), locale=current_locale(), decimal_quantization=False)))
    if result.left_out:
        lines.append(ngettext("left out: {n} deal whose currency has no exchange rate on its date",
                              "left out: {n} deals whose currency has no exchange rate on their date",
                              result.left_out).format(n=result.left_out))
    for line in lines:
        print(line, file=out)
    for i, sql in enumerate(result.sql, 1):
        print(f"-- query {i}\n{sql};", file=out)


def _moments(args, settings: Settings, today: date) -> datetime | tuple[datetime, ...] | None:
    """--as-of D: one moment; --trend weekly|monthly [--points N]: the ends of the last N weeks or months."""
    trend, as_of = getattr(args, "trend", None), getattr(args, "as_of", None)
    if trend and as_of:
        raise MomentError(_("Ask either --as-of or --trend, not both: a trend's points are the ends of the last "
                            "weeks or months."))
    if trend:
        points = args.points or DEFAULT_POINTS[trend]
        return trend_moments(trend, points, datetime.now(settings.tz), settings.tz)
    if as_of:
        return parse_moment(as_of, today, settings.tz, settings.fiscal_year_start_month)
    return None


def run_metrics_command(args, settings: Settings) -> int:
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        viewer = person_by_email(conn, args.as_email) if args.as_email else OPERATOR
        today = local_today(settings, viewer)
        period = parse_period(args.period, today, settings.fiscal_year_start_month)
        scope = resolve_scope(conn, viewer, args.scope)  # no --scope: what the viewer's "my numbers" means
        moments = _moments(args, settings, today)
        common = dict(by=args.by, today=today, fiscal_start_month=settings.fiscal_year_start_month,
                      org_currency=settings.org_currency, currency=getattr(args, "currency", None))
        if isinstance(moments, tuple):  # a trend reads the weekly snapshots first
            result = evaluate_trend(conn, args.metric, period, scope, moments, **common)
        else:
            result = evaluate(conn, args.metric, period, scope, as_of=moments, **common)
    if args.explain and args.format == "table":
        print_explain(result)
        print()
    elif args.explain and args.format == "csv":  # the CSV stays clean for the program reading it
        print_explain(result, sys.stderr)
    if args.format == "json":
        payload = result_to_json(result)
        if args.explain:
            payload["explain"] = explain_json(result)
        print(json.dumps(payload, indent=2))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        headers = list(result.rows[0].keys()) if result.rows else ["value"]
        writer.writerow(headers)
        for row in result.rows:
            writer.writerow(["" if row.get(h) is None else row.get(h) for h in headers])
    else:
        print_table(result)
    return 0
