"""Evaluate a metric: compile, run (through the cache), merge the per-source rows, derive the value.

This is the one entry point handlers, jobs and the CLI use for KPIs.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Connection

from errors import UserError
from i18n import _
from metrics import special
from metrics.asof import as_of_query
from metrics.cache import ResultCache
from metrics.compile import DIM_PREFIX, Window, deal_and_quota_query, deal_query, quota_query
from metrics.currency import rate_on, to_display
from metrics.model import DEAL_MEASURES, DIMENSIONS, METRICS, Ctx, Metric, as_decimal
from metrics.periods import Period, format_day
from metrics.result import CENT, MetricResult, left_out, quantize, run_query
from metrics.scopes import Scope

ALL_METRIC_NAMES = tuple(METRICS) + tuple(special.SPECIAL_METRICS)


class MetricError(UserError):
    """An unknown metric or a dimension the metric does not allow."""


def metric_definition(name: str) -> Metric | special.SpecialMetric:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key in METRICS:
        return METRICS[key]
    if key in special.SPECIAL_METRICS:
        return special.SPECIAL_METRICS[key]
    close = difflib.get_close_matches(key, ALL_METRIC_NAMES, n=1, cutoff=0.6)
    message = _("There is no metric called {name!r}.").format(name=name) + _did_you_mean(close)
    raise MetricError(message + " " + _("Metrics: {names}.").format(names=", ".join(ALL_METRIC_NAMES)))


def _did_you_mean(close: list[str]) -> str:
    """" Did you mean 'x'?" in the language being spoken, or nothing without a close match."""
    return " " + _("Did you mean {options}?").format(options=repr(close[0])) if close else ""


def parse_dimensions(text: str | tuple[str, ...] | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not text:
        return ()
    names = text.split(",") if isinstance(text, str) else list(text)
    out = []
    accepted = (*allowed, "rep_id") if "owner" in allowed else allowed  # the owner, by id (model.Dimension.internal)
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in accepted:
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            message = _("Cannot break this metric down by {name!r}.").format(name=raw.strip()) + _did_you_mean(close)
            raise MetricError(message + " " + _("Dimensions: {names}.").format(
                names=", ".join(a for a in allowed if a != "rep_id")))
        if name not in out:
            out.append(name)
    return tuple(out)


class CurrencyError(UserError):
    """A currency asked for with no exchange rate today."""


def money_keys(result: MetricResult) -> list[str]:
    """The row keys holding money, besides the dimensions."""
    keys = {k for row in result.rows for k in row if k not in result.by}
    return sorted(k for k in keys if _fmt_of(k, result.fmt) == "money")


def in_currency(conn: Connection, result: MetricResult, currency: str | None, today: date) -> MetricResult:
    """The result with its money in `currency` at today's rate (the org currency needs none)."""
    code = (currency or result.org_currency).strip().upper()
    if code == result.org_currency:
        return result
    rate = rate_on(conn, code, today)
    if rate is None:
        raise CurrencyError(_("There is no exchange rate for {currency} valid today ({date}), so I can't show this "
                              "in {currency}. Amounts are in {org_currency}; sales ops can import rates "
                              "(`exchange_rates` in the mapping) or sync them from the CRM.").format(
            currency=code, date=format_day(today), org_currency=result.org_currency))
    keys = money_keys(result)
    for row in result.rows:
        for key in keys:
            row[key] = to_display(row.get(key), rate)
    result.currency, result.rate = code, rate
    return result


def _merge(parts: list[list[dict]], by: tuple[str, ...]) -> list[dict]:
    keys = [DIM_PREFIX + b for b in by]
    if not keys:  # one row per source: no pandas needed
        merged: dict = {}
        for part in parts:
            if part:
                merged.update(part[0])
        return [merged]
    frames = [pd.DataFrame(p) for p in parts if p]
    if not frames:
        return []
    df = frames[0]
    for other in frames[1:]:
        df = df.merge(other, on=keys, how="outer", sort=False)
    df = df.astype(object).where(pd.notna(df), None)
    return df.to_dict("records")


def _derive_forecast(row: dict) -> None:
    closed = as_decimal(row.get("won_amount") or 0)
    commit = closed + as_decimal(row.get("commit_amount") or 0)
    best = commit + as_decimal(row.get("best_case_amount") or 0)
    pipeline = best + as_decimal(row.get("pipeline_category_amount") or 0)
    row.update(closed=closed, commit=commit, best_case=best, pipeline=pipeline)


def _fmt_of(name: str, metric_fmt: str) -> str:
    if name in ("pace",):
        return "ratio"
    if name.endswith("_count"):
        return "count"
    measure = DEAL_MEASURES.get(name)
    if measure is not None:
        return "money" if measure.money else "days" if name.startswith("cycle") else "count"
    if name in ("quota", "closed", "commit", "best_case", "pipeline", "won_amount", "open_amount"):
        return "money"
    return metric_fmt


def _is_trend(moments: tuple[datetime, ...] | None) -> bool:
    return moments is not None and len(moments) > 1


def _merge_points(parts: list[list[dict]], dims: tuple[str, ...], moments: tuple[datetime, ...]) -> list[dict]:
    """A trend's rows: for each moment, its deal rows merged with the quota rows (which do not move with it); a
    moment with no deals still gets its row."""
    deal_rows, quota_rows = parts[0], parts[1] if len(parts) > 1 else []
    keys = [DIM_PREFIX + b for b in dims]
    quota_by_key = {tuple(r[k] for k in keys): r for r in quota_rows}
    out = []
    for moment in moments:
        at_moment = [r for r in deal_rows if r["as_of"] == moment]
        if not dims and not at_moment:
            at_moment = [{}]
        for row in at_moment:
            merged = {**quota_by_key.get(tuple(row.get(k) for k in keys), {}), **row, "as_of": moment}
            out.append(merged)
    return out


def _output_row(metric: Metric, raw: dict, dims: tuple[str, ...], pace: Decimal) -> dict:
    for name in metric.deal_measures:  # a group with no deals summed nothing: 0, not unknown
        if raw.get(name) is None and DEAL_MEASURES[name].agg in ("sum", "count"):
            raw[name] = 0
    if raw.get("quota") is not None:  # a prorated quota is money: cents, on both databases, before any ratio
        raw["quota"] = Decimal(str(raw["quota"])).quantize(CENT)
    if metric.name == "forecast":
        _derive_forecast(raw)
    raw["pace"] = pace
    out = {"as_of": raw["as_of"]} if "as_of" in raw else {}
    out.update({b: raw.get(DIM_PREFIX + b) for b in dims})
    out["value"] = quantize(metric.value(raw), metric.fmt)
    for extra in metric.extras:
        out[extra] = quantize(raw.get(extra), _fmt_of(extra, metric.fmt))
    return out


def evaluate(
    conn: Connection,
    name: str,
    period: Period,
    scope: Scope,
    *,
    by: str | tuple[str, ...] | None = (),
    today: date,
    fiscal_start_month: int = 1,
    cache: ResultCache | None = None,
    org_currency: str = "USD",
    currency: str | None = None,
    as_of: datetime | tuple[datetime, ...] | None = None,
) -> MetricResult:
    """The metric for the period and scope, money in the org currency (or in `currency`, at today's rate); now, or
    as the data stood at `as_of` (metrics.asof): several moments (a trend) give one row per moment and group, each
    with an `as_of` key."""
    definition = metric_definition(name)
    dims = parse_dimensions(by, definition.dimensions)
    ctx = Ctx(conn.dialect.name, fiscal_start_month, org_currency)
    moments = (as_of,) if isinstance(as_of, datetime) else as_of
    if isinstance(definition, special.SpecialMetric):
        result = definition.evaluate(conn, ctx, period, scope, dims, today, cache, moments)
        return in_currency(conn, result, currency, today)
    metric: Metric = definition
    window = Window(period.start, period.end, today)
    deal_q = quota_q = None
    if metric.deal_measures and metric.needs_quota and not dims and not _is_trend(moments):
        deal_q = deal_and_quota_query(ctx, metric.deal_measures, window, scope)
    else:
        if metric.deal_measures:
            deal_q = deal_query(ctx, metric.deal_measures, window, scope, dims)
        if metric.needs_quota:
            quota_q = quota_query(ctx, window, scope, dims)
    if moments and deal_q is not None:
        deal_q = as_of_query(conn, deal_q, scope, moments)
    queries = [q for q in (deal_q, quota_q) if q is not None]
    parts = [run_query(conn, q, cache) for q in queries]
    if _is_trend(moments):
        merged = _merge_points(parts if deal_q is not None else [[], *parts], dims, moments)
    else:
        merged = _merge(parts, dims)
    rows = []
    for raw in merged:
        at = raw.get("as_of")
        rows.append(_output_row(metric, raw, dims, period.elapsed_fraction(at.date() if at else (
            moments[0].date() if moments else today))))
    result = MetricResult(
        metric=metric.name,
        label=metric.label,
        fmt=metric.fmt,
        description=metric.description,
        period=period,
        scope=scope,
        by=dims,
        rows=rows,
        queries=queries,
        dialect=conn.dialect,
        left_out=left_out(parts),
        org_currency=org_currency,
        currency=org_currency,
        as_of=moments[0] if moments and len(moments) == 1 else None,
    )
    return in_currency(conn, result, currency, today)


def evaluate_together(conn: Connection, names: tuple[str, ...], period: Period, scope: Scope, *,
                      by: str | tuple[str, ...] | None = (), today: date, fiscal_start_month: int = 1,
                      cache: ResultCache | None = None, org_currency: str = "USD") -> dict[str, list[dict]]:
    """The rows of several deal metrics without a quota (win rate, deal size, cycle…) from one grouped query over
    the union of their measures: one scan of the deals instead of one a metric. Each metric's rows are those
    `evaluate` gives, except that a group another metric counts appears with that metric's empty value."""
    metrics = [metric_definition(name) for name in names]
    if not all(isinstance(m, Metric) and m.deal_measures and not m.needs_quota for m in metrics):
        raise ValueError(f"not deal metrics without a quota: {names}")
    dims = parse_dimensions(by, metrics[0].dimensions)
    ctx = Ctx(conn.dialect.name, fiscal_start_month, org_currency)
    measures = tuple(dict.fromkeys(m for metric in metrics for m in metric.deal_measures))
    raw_rows = _merge([run_query(conn, deal_query(ctx, measures, Window(period.start, period.end, today), scope,
                                                  dims), cache)], dims)
    pace = period.elapsed_fraction(today)
    return {m.name: [_output_row(m, dict(raw), dims, pace) for raw in raw_rows] for m in metrics}


__all__ = ["DIMENSIONS", "MetricError", "MetricResult", "evaluate", "evaluate_together", "metric_definition",
           "parse_dimensions"]
