"""Answers for any metric of the metrics layer: one figure with its parts, a breakdown by any dimension the
metric allows, and a side-by-side comparison of two periods or two people with the change."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal

from assistant.answer_parts import LIST_LIMIT, _actions, _breakdown_table, _context, _explain, ranked, velocity_note
from assistant.ask import Ask
from assistant.chart_specs import chart_for, paired_chart
from errors import UserError
from i18n import N_, _, current_locale
from metrics.evaluate import MetricResult, metric_definition
from metrics.periods import Period
from metrics.scopes import Scope
from render.answers import Answer, Figure

# The parts a metric returns beside its value, as figures.
EXTRA_FIGURES = {
    "open_count": (N_("Open deals"), "count"), "won_count": (N_("Won deals"), "count"),
    "lost_count": (N_("Lost deals"), "count"), "open_amount": (N_("Pipeline"), "money"),
    "won_amount": (N_("Closed won"), "money"), "lost_amount": (N_("Closed lost"), "money"),
    "quota": (N_("Quota"), "money"), "cycle_days_mean": (N_("Mean cycle"), "days"), "pace": (N_("Pace"), "ratio"),
}
# Metrics that have no single figure to compare (stage conversion is a row per stage).
NOT_COMPARABLE = ("conversion",)
def _definition_or_sentence(name: str):
    return metric_definition(name)


def _figures(result: MetricResult) -> list[Figure]:
    row = result.rows[0] if result.rows else {}
    out = [Figure(_(result.label), row.get("value"), result.fmt)]
    for key, value in row.items():
        if key in EXTRA_FIGURES and key != "pace":
            label, fmt = EXTRA_FIGURES[key]
            out.append(Figure(_(label), value, fmt))
    return out


def metric_answer(ask: Ask) -> Answer:
    """Any metric by name: "what's my weighted pipeline", "average deal size this year by segment"."""
    name = ask.request.metric or "pipeline"
    definition = _definition_or_sentence(name)
    period, scope = ask.period(), ask.scope()
    total = ask.metric(definition.name, period, scope)
    label = _(definition.label)
    answer = Answer(kind="metric", title=f"{label} · {scope.label}", figures=_figures(total),
                    context=_context(ask, period, scope), actions=_actions(ask, chart=False))
    results, split = [total], None
    if ask.request.by:
        split = ask.metric(definition.name, period, scope, ask.request.by)
        split = ranked(split, ask.request.limit, ask.request.filters.get("sort") == "smallest")
        answer.table = _breakdown_table(split, label.lower(), ())
        results.append(split)
    if "chart" in ask.request.options:
        answer.chart = chart_for(ask, definition.name, period, scope, label, split)
    if definition.name == "velocity":
        answer.lines.extend(note for note in [velocity_note(total)] if note)
    elif total.rows and total.rows[0].get("value") is None:
        answer.lines.append(_why_empty(definition.name))
    return _explain(ask, answer, *results)


def _why_empty(name: str) -> str:
    if name in ("attainment", "gap", "coverage", "quota"):
        return _("No quota is set for this period, so this cannot be worked out.")
    return _("There is nothing to measure in this period.")


def _value(ask: Ask, name: str, period: Period, scope: Scope) -> MetricResult:
    return ask.metric(name, period, scope)


def change_text(before: Decimal | int | None, after: Decimal | int | None, fmt: str) -> tuple[Figure, str | None]:
    """The change from `before` to `after`: points for ratios (−4 pts), else the difference and its percentage."""
    if before is None or after is None:
        return Figure(_("Change"), None, fmt), None
    delta = Decimal(after) - Decimal(before)
    if fmt == "ratio":
        pts = (delta * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
        sign = "+" if pts > 0 else "\u2212" if pts < 0 else "±"
        shown = abs(pts).quantize(Decimal("1")) if pts == pts.to_integral_value() else abs(pts)
        number = format_decimal(shown, locale=current_locale(), decimal_quantization=False)
        return Figure(_("Change"), _("{points} pts").format(points=f"{sign}{number}"), "text"), None
    pct = None
    if before:
        share = (delta / Decimal(before) * 100).quantize(Decimal("1"))
        pct = f"{'+' if share > 0 else chr(0x2212) if share < 0 else '±'}{abs(share)}%"
    return Figure(_("Change"), delta, fmt), pct


def compare_answer(ask: Ask) -> Answer:
    """A metric for two periods ("win rate vs last year") or two people ("dana vs mei reed"), with the change."""
    name = ask.request.metric or "pipeline"
    definition = _definition_or_sentence(name)
    period, scope = ask.period(), ask.scope()
    compare = ask.request.compare
    label = _(definition.label)
    if compare.kind == "period":
        other_period, other_scope = compare.period, scope
        labels = (period.label, other_period.label)
        title = _("{metric} · {scope}: {first} vs {second}").format(
            metric=label, scope=scope.label, first=period.label, second=other_period.label)
    else:
        other_period, other_scope = period, ask.compare_scope()
        if other_scope is None:
            raise UserError(_("Compare with whom? I could not find the second person or team."))
        labels = (scope.label, other_scope.label)
        title = _("{metric}: {first} vs {second}").format(metric=label, first=scope.label, second=other_scope.label)
    first = _value(ask, definition.name, period, scope)
    second = _value(ask, definition.name, other_period, other_scope)
    now_value, then_value = first.value, second.value
    change, pct = change_text(then_value, now_value, definition.fmt)
    answer = Answer(kind="metric", title=title,
                    figures=[Figure(labels[0], now_value, definition.fmt),
                             Figure(labels[1], then_value, definition.fmt), change],
                    context=_context(ask, period, scope), actions=_actions(ask, chart=False))
    if pct:
        answer.lines.append(_("{change} against {other}.").format(change=pct, other=labels[1]))
    if "chart" in ask.request.options:
        chart_title = title if compare.kind == "period" else f"{title} · {period.label}"
        answer.chart = paired_chart(chart_title, label, labels, now_value, then_value, definition.fmt)
    if compare.kind == "period":
        answer.context.insert(1, _("compared with {period}").format(period=other_period.described))
    return _explain(ask, answer, first, second)


__all__ = ["LIST_LIMIT", "NOT_COMPARABLE", "change_text", "compare_answer", "metric_answer"]
