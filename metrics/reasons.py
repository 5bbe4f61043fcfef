"""A finding's reason as data: a code naming a sentence template, and the figures that fill it.

The integrity and stalled-deal rules used to write their reasons as finished English sentences. A reason is now
``{"code": ..., "params": {...}}`` (JSON: stored as it is in the `reason` columns of bot_alerts and
bot_integrity_findings) and is written out where it is read, in the reader's language, by render.reasons, with
money, dates and counted nouns formatted for that locale. The English sentence (`english`) is still kept as the
finding's `detail`: the CLI's stable text and the fallback for rows stored before reasons were data.

Each template's placeholders are typed by `KINDS` (what is not listed is text shown as it is):
money (org currency), money:<param> (in the currency named by that param), date, days, days_decimal, pct (0–100),
multiple, count, and counted nouns (times, changes, points, samples), category (a forecast category), quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from i18n import N_

TEMPLATES: dict[str, str] = {
    # integrity rules (metrics.integrity)
    "missing_amount.none": N_("no amount on a deal in {stage}"),
    "missing_amount.zero": N_("zero amount on a deal in {stage}"),
    "negative_amount": N_("amount is negative ({amount})"),
    "amount_outlier.segment": N_("amount {amount} is {ratio} the median of the {segment} segment ({median}) "
                                 "and above its 99th percentile ({p99})"),
    "amount_outlier.no_segment": N_("amount {amount} is {ratio} the median of deals with no segment ({median}) "
                                    "and above its 99th percentile ({p99})"),
    "missing_exchange_rate.closed": N_("amount {amount} has no exchange rate to {org_currency} on its close date "
                                       "{day}: it is left out of every total"),
    "missing_exchange_rate.open": N_("amount {amount} has no exchange rate to {org_currency} on today ({day}), "
                                     "as the deal is open: it is left out of every total"),
    "past_close_date": N_("open deal with close date {close_date}, {days} in the past"),
    "close_before_created.close_date": N_("close date {close_date} is before the deal was created ({created})"),
    "close_before_created.closed": N_("closed on {closed}, before the deal was created ({created})"),
    "change_after_close": N_("{changes} recorded after it closed on {closed} (latest {latest})"),
    "probability_off_stage": N_("probability {probability} is {points} from the {stage} default of "
                                "{stage_probability}"),
    "forecast_category_mismatch.closed": N_("forecast category {category} on a deal in {stage} "
                                            "(a {stage} deal is {stage_category})"),
    "forecast_category_mismatch.closed_on_open": N_("forecast category closed on an open deal in {stage}"),
    "forecast_category_mismatch.unknown": N_("forecast category {category} is not one of {categories}"),
    "forecast_category_mismatch.too_high": N_("forecast category {category} is more than one step above the "
                                              "{stage} default ({stage_category})"),
    "late_stage_no_next_step": N_("no next step on a deal in {stage} ({category}, {probability})"),
    "owner_inactive": N_("open deal owned by {owner}, who is inactive"),
    "owner_unknown": N_("open deal with no owner"),
    "rep_without_quota.quarter": N_("no quota for {quarter} ({start}..{end})"),
    "rep_without_quota.period": N_("no quota for {start}..{end}"),
    "duplicate_opportunity.name": N_('duplicate of {first_record} "{first_name}" (same account and name)'),
    "duplicate_opportunity.figures": N_('duplicate of {first_record} "{first_name}" '
                                        "(same account, amount and close date)"),
    "duplicate_account": N_('same name as account {first_record} "{first_name}"'),
    # stalled-deal rules (metrics.stalled)
    "no_activity.created": N_("no activity for {days} (since it was created on {last_date}; threshold {threshold})"),
    "no_activity.activity": N_("no activity for {days} (since the last one on {last_date}; threshold {threshold})"),
    "no_activity.created_segment": N_("no activity for {days} (since it was created on {last_date}; "
                                      "threshold {threshold} for {segment})"),
    "no_activity.activity_segment": N_("no activity for {days} (since the last one on {last_date}; "
                                       "threshold {threshold} for {segment})"),
    "stuck_in_stage.expected": N_("in {stage} for {days} since {entered} (above the stage's expected {threshold})"),
    "stuck_in_stage.percentile": N_("in {stage} for {days} since {entered} (above the 75th percentile for won "
                                    "deals, {threshold} from {samples})"),
    "stuck_in_stage.default": N_("in {stage} for {days} since {entered} (above the default {threshold})"),
    "stalled_past_close_date": N_("close date {close_date} passed {days} ago and the deal is still open"),
    "close_date_pushed": N_("close date pushed later {pushes} in the last {window} (from {first_from} to {last_to})"),
}

KINDS: dict[str, str] = {
    "amount": "money", "median": "money", "p99": "money", "ratio": "multiple",
    "day": "date", "close_date": "date", "created": "date", "closed": "date", "latest": "date", "start": "date",
    "end": "date", "last_date": "date", "entered": "date", "first_from": "date", "last_to": "date",
    "days": "days", "threshold": "days", "window": "days",
    "changes": "changes", "pushes": "times", "points": "points", "samples": "samples",
    "probability": "pct", "stage_probability": "pct",
    "category": "category", "stage_category": "category",
}
# A template whose params need a kind other than the shared one above.
KIND_OVERRIDES: dict[str, dict[str, str]] = {
    "missing_exchange_rate.closed": {"amount": "money:currency"},
    "missing_exchange_rate.open": {"amount": "money:currency"},
    "forecast_category_mismatch.unknown": {"category": "quoted"},
    "stuck_in_stage.percentile": {"threshold": "days_decimal"},
}
# English nouns counted by a placeholder (their translations are plural forms in render.reasons).
COUNTED = {"times": "time", "changes": "change", "points": "point", "samples": "sample", "days": "day"}


def reason(code: str, **params: Any) -> dict[str, Any]:
    """A reason for `code` (a key of TEMPLATES) with its params made JSON-ready: Decimals as text, dates as ISO
    dates (a datetime keeps its date), floats as text; ints and text as they are."""
    if code not in TEMPLATES:
        raise KeyError(f"unknown reason code {code!r}")
    return {"code": code, "params": {name: _jsonable(value) for name, value in params.items()}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, float)):
        return str(value)
    return value


def kind_of(code: str, name: str) -> str:
    """How the param `name` of the template `code` is formatted."""
    return KIND_OVERRIDES.get(code, {}).get(name) or KINDS.get(name, "text")


def template_of(reason_data: Mapping[str, Any] | None) -> str | None:
    """The English template of a stored reason, None when there is none or its code is unknown."""
    if not isinstance(reason_data, Mapping):
        return None
    return TEMPLATES.get(str(reason_data.get("code")))


def english(reason_data: Mapping[str, Any]) -> str:
    """The reason as the plain English sentence kept as a finding's `detail` (ISO dates, 1,234.50 amounts)."""
    code, params = reason_data["code"], reason_data.get("params") or {}
    return TEMPLATES[code].format(**{name: _plain(kind_of(code, name), value, params)
                                     for name, value in params.items()})


def _plain(kind: str, value: Any, params: Mapping[str, Any]) -> str:
    from metrics.rules_common import money, plural

    if value is None:
        return "none"
    if kind == "money":
        return money(Decimal(value))
    if kind.startswith("money:"):
        return f"{params.get(kind.split(':', 1)[1])} {money(Decimal(value))}"
    if kind == "days_decimal":
        return f"{float(value):.1f} days"
    if kind in COUNTED:
        return plural(int(value), COUNTED[kind])
    if kind == "pct":
        return f"{value}%"
    if kind == "multiple":
        return f"{float(value):,.1f}×"
    if kind == "quoted":
        return repr(value)
    return str(value)
