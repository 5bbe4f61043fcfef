"""`/sales commission [what if DEAL|+AMOUNT]`: the asker's estimated payout, where they stand in their plan's
bands, their projection if their commit closes, and what a named deal or amount would add. Every figure is an
estimate; a rep sees only their own (the deal in a what-if is looked up among the deals they may see)."""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import format_decimal, format_percent

from assistant.answer_parts import _context
from assistant.ask import Ask
from assistant.grammar import Request
from errors import UserError
from i18n import N_, _, current_locale
from metrics.deals import find_deal
from metrics.payout import RepPayout, band_position, payouts, tiered_payout
from metrics.scopes import default_scope
from render.answers import Answer, ChartSpec, Column, Figure, Table
from render.format import money_exact

CLOSED_WORDS = ("closed won", "closed lost")
ESTIMATE = N_("Every figure here is an estimate under your comp plan, not a payroll figure.")
_WHAT_IF = re.compile(r"\bwhat\s*if\b\s*(?P<rest>.*)$", re.IGNORECASE)
_AMOUNT = re.compile(r"^\+?\s*\$?\s*(?P<n>\d[\d,]*(?:\.\d+)?)\s*(?P<u>k|m)?$", re.IGNORECASE)
_PLUS = re.compile(r"(?:^|\s)\+\s*\$?\s*(?P<n>\d[\d,]*(?:\.\d+)?)\s*(?P<u>k|m)?\b", re.IGNORECASE)
_CLOSING = re.compile(r"\s+(?:closes|closed|closing|close|wins|won|signs|signed|lands)\s*[?.!]*$", re.IGNORECASE)


def _amount(m: re.Match) -> Decimal:
    unit = {"k": 1000, "m": 1_000_000}.get((m.group("u") or "").lower(), 1)
    return Decimal(m.group("n").replace(",", "")) * unit


def what_if_of(request: Request) -> tuple[str | None, Decimal | None]:
    """(deal name, None) or (None, amount) for `what if Acme` / `what if +50k` / `+50000`; (None, None) if none.
    The grammar keeps the words after "what if" verbatim in `args` (assistant.grammar.parse_request)."""
    raw = request.raw or ""
    m = _WHAT_IF.match(request.args or "")
    if m:
        rest = _CLOSING.sub("", m.group("rest").strip(" ?")).strip()
        if not rest:
            return None, None
        amount = _AMOUNT.match(rest)
        return (None, _amount(amount)) if amount else (rest, None)
    plus = None if _WHAT_IF.search(raw) else _PLUS.search(raw)
    return (None, _amount(plus)) if plus else (None, None)


def _pct(ratio: Decimal) -> str:
    """A whole percentage in the asker's locale ('104%')."""
    return format_percent(ratio, locale=current_locale())


def _mult(value: Decimal) -> str:
    """A comp multiplier as written in the plan, in the asker's locale: '1.5×' (en), '1,5×' (it, id)."""
    return format_decimal(value.normalize(), locale=current_locale(), decimal_quantization=False) + "×"


def _band_lines(rep: RepPayout) -> list[str]:
    band = band_position(rep.plan, rep.credited, rep.quota)
    lines = [_("You are in band {band} of {bands} ({multiplier} the base rate, {mode}); the next dollar you close "
               "pays about {next_dollar} (estimate).").format(
        band=band.index + 1, bands=len(rep.plan.tiers), multiplier=_mult(band.multiplier), mode=rep.plan.tier_mode,
        next_dollar=money_exact(band.next_dollar))]
    if band.capped:
        lines.append(_("You have reached the plan's cap: more credit adds no tiered payout (SPIFFs still count)."))
    elif band.to_next_band is not None:
        lines.append(_("{amount} more closed takes you to the next band ({multiplier}).").format(
            amount=money_exact(band.to_next_band), multiplier=_mult(band.next_multiplier)))
    return lines


def _deal_credit(ask: Ask, name: str, period):
    from metrics.payout import DealCredit

    match = find_deal(ask.conn, default_scope(ask.viewer), name)
    if match.choices:
        raise UserError(_("More than one of your deals matches “{name}”: {deals}. Use its full name or its id.")
                        .format(name=name, deals=", ".join(d.name for d in match.choices[:5])))
    if match.deal is None:
        raise UserError(_("I can't find a deal called “{name}” among your deals. Try part of its name or its CRM "
                          "id.").format(name=name))
    deal = match.deal
    if deal.stage.lower() in CLOSED_WORDS or deal.probability in (0, 100):
        raise UserError(_("{deal} is already closed ({stage}), so it cannot be added as a what-if.").format(
            deal=deal.name, stage=deal.stage))
    close = min(max(deal.close_date or ask.today, period.start), period.end)
    return deal, DealCredit(deal.id, deal.name, close, deal.amount or Decimal(0), None, None, False)


def commission(ask: Ask) -> Answer:
    period = ask.period()
    viewer = ask.viewer
    common = {"today": ask.today, "fiscal": ask.fiscal, "cache": ask.cache}
    mine = payouts(ask.conn, period, [viewer.rep_id], **common)
    if not mine or not mine[0].plans:
        if viewer.role != "rep":
            return _team_table(ask, period)
        return Answer(kind="info", title=_("Your commission"),
                      lines=[_("You have no comp plan for this period, so there is no payout to estimate. "
                               "Sales ops assigns plans.")], context=_context(ask, period, None))
    rep = mine[0]
    if rep.value is None and viewer.role != "rep":
        why = (_("Your plan is {plan}, but with a zero quota for this period your own payout cannot be estimated; "
                 "these are your reps' estimates.") if _zero_quota(rep) else
               _("Your plan is {plan}, but with no quota for this period your own payout cannot be estimated; "
                 "these are your reps' estimates."))
        return _team_table(ask, period, why.format(plan=rep.plan.name))
    if rep.value is None:
        why = (_("Your plan is {plan}, but you have a zero quota for this period, so no payout can be estimated.")
               if _zero_quota(rep) else
               _("Your plan is {plan}, but you have no quota for this period, so no payout can be estimated."))
        return Answer(kind="info", title=_("Your commission"),
                      lines=[why.format(plan=rep.plan.name)],
                      context=_context(ask, period, None))
    projected = payouts(ask.conn, period, [viewer.rep_id], projected=True, **common)[0]
    figures = [Figure(_("Earned so far (estimate)"), rep.value), Figure(_("Attainment"), rep.attainment, "ratio"),
               Figure(_("Closed won credited"), rep.credited), Figure(_("Quota"), rep.quota),
               Figure(_("If your commit closes (estimate)"), projected.value),
               Figure(_("SPIFFs (estimate)"), rep.spiffs)]
    lines = [_(ESTIMATE), *_band_lines(rep)]
    name, amount = what_if_of(ask.request)
    added_point = None
    if name or amount:
        from metrics.payout import DealCredit

        if name:
            found, credit = _deal_credit(ask, name, period)
            label = _("{deal} closing").format(deal=found.name)
        else:
            credit = DealCredit(0, "what-if", min(max(ask.today, period.start), period.end), amount, None, None,
                                False)
            label = _("Another {amount} closed").format(amount=money_exact(amount))
        after = payouts(ask.conn, period, [viewer.rep_id], extra={viewer.rep_id: [credit]}, **common)[0]
        added = after.value - rep.value
        reached = band_position(after.plan, after.credited, after.quota)
        before = band_position(rep.plan, rep.credited, rep.quota)
        sentence = (_("{what} adds {amount} (estimate), taking you to {attainment} and the accelerator.")
                    if reached.multiplier > 1 >= before.multiplier else
                    _("{what} adds {amount} (estimate), taking you to {attainment}."))
        lines.append(sentence.format(what=label, amount=money_exact(added), attainment=_pct(after.attainment)))
        added_point = (after.attainment, after.value)
    answer = Answer(kind="metric", title=_("Your commission · {period}").format(period=period.label),
                    figures=figures, lines=lines,
                    context=_context(ask, period, None))
    if "chart" in ask.request.options or added_point is not None:
        answer.chart = payout_curve(rep, projected, added_point)
    return answer


def payout_curve(rep: RepPayout, projected: RepPayout, what_if=None) -> ChartSpec:
    """Payout against attainment from 0 to past the furthest point marked (the plan's tiered payout only, at the
    rep's quota), with the rep's point, the projected point and a what-if point."""
    top = max(Decimal("1.5"), (projected.attainment or 0) * Decimal("1.2"), (rep.attainment or 0) * Decimal("1.2"))
    steps = 60
    plan = rep.plan
    series = []
    for i in range(steps + 1):
        a = top * i / steps
        series.append((a, tiered_payout(plan, a * rep.quota, rep.quota).quantize(Decimal("0.01"))))
    marks = {_("You now"): (rep.attainment, rep.value),
             _("If commit closes"): (projected.attainment, projected.value)}
    if what_if is not None:
        marks[_("What if")] = what_if
    return ChartSpec("payout_curve", _("Estimated payout · {plan}").format(plan=rep.plan.name), series,
                     extra={"marks": marks, "edges": [t.upper for t in rep.plan.tiers if t.upper is not None]})


def _zero_quota(rep: RepPayout) -> bool:
    return rep.note.startswith("zero")


def _team_table(ask: Ask, period, why: str | None = None) -> Answer:
    """A manager or exec without a plan of their own: their reps' estimated payouts."""
    scope = default_scope(ask.viewer)
    reps = payouts(ask.conn, period, scope.member_ids(ask.conn), today=ask.today, fiscal=ask.fiscal,
                   cache=ask.cache, by_deal=False)
    reps = [r for r in reps if r.rep_id != ask.viewer.rep_id]
    rows = [[r.name, r.plan.name if r.plan else "-", r.attainment, r.credited, r.value, _(r.note) if r.note else ""]
            for r in sorted(reps, key=lambda r: (r.value is None, -(r.value or 0)))]
    table = Table([Column(_("rep")), Column(_("plan")), Column(_("attainment"), "ratio"),
                   Column(_("credited"), "money"), Column(_("payout (est.)"), "money"), Column(_("note"))], rows)
    total = sum((r.value for r in reps if r.value is not None), Decimal(0))
    why = why or _("You have no comp plan of your own; these are your reps' estimated payouts.")
    return Answer(kind="metric", title=_("Estimated payouts · {scope}").format(scope=scope.label),
                  figures=[Figure(_("Total (estimate)"), total), Figure(_("Reps"), len(reps), "count")],
                  table=table, lines=[why, _("Every figure is an estimate, not a payroll figure.")],
                  context=_context(ask, period, scope))
