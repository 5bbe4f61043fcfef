"""One function per `/sales` subcommand: Ask in, Answer out. Figures come from the metrics layer only."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal

from assistant import accuracy_answers, call_answers, trend_answers
from assistant.answer_parts import LIST_LIMIT, _actions, _breakdown_table, _context, _explain, ranked, velocity_note
from assistant.as_of_answers import check_as_of, said_as_of
from assistant.ask import Ask, since_default, viewer_zone
from assistant.chart_specs import breakdown_chart, chart_for, chart_title, funnel_chart
from assistant.comp_answers import commission
from assistant.currency_view import in_display_currency, org_filter
from assistant.exports import EXPORT_LIMIT, with_exports
from assistant.grammar import INTENTS
from assistant.metric_answers import NOT_COMPARABLE, compare_answer, metric_answer
from assistant.reading_words import dimension_name, option_name, sort_name
from assistant.scorecard_answers import scorecard
from assistant.waterfall_answers import waterfall
from errors import UserError
from i18n import N_, _, ngettext
from metrics.changes import KIND_TITLES, KINDS, changes_overview
from metrics.deals import CHOICES, DealRow, deal_history, find_deal
from metrics.periods import parse_period
from metrics.scopes import Scope, default_scope
from render.answers import Action, Answer, ChartSpec, Column, DealCard, Figure, Table
from render.format import date_text, day_heading, moment_text, money_exact
from render.reasons import reason_text

HELP_EXAMPLES = {
    "help": N_("this list"),
    "pipeline": N_("`/sales pipeline` · `/sales pipeline west team next quarter by stage chart`"),
    "quota": N_("`/sales quota` · `/sales quota team` · “how am I tracking to quota?”"),
    "forecast": N_("`/sales forecast q3` — closed, commit, best case, pipeline vs quota"),
    "deals": N_("`/sales deals this week` — open deals closing in a period"),
    "deal": N_("`/sales deal Acme renewal` — one deal: stage path, changes, last activity"),
    "stalled": N_("`/sales stalled` · “which of Dana's deals are stuck?”"),
    "winrate": N_("`/sales winrate last quarter by owner`"),
    "cycle": N_("`/sales cycle ytd` — median and mean days to close"),
    "funnel": N_("`/sales funnel this year` — stage-to-stage conversion"),
    "leaderboard": N_("`/sales leaderboard team` — ranked by attainment, then closed won"),
    "changes": N_("`/sales changes since last week` — new, advanced, slipped, won, lost"),
    "integrity": N_("`/sales integrity` — data-quality findings (sales ops)"),
    "digest": N_("`/sales digest preview` · `time 07:30` · `pause 5d` · `off` · `on`"),
    "settings": N_("`/sales settings` — your role, scope, time zone and digest · `/sales settings language id|it|en`"),
    "commission": N_("`/sales commission` · `/sales comp what if Acme renewal` · `what if +50k` — estimated payout"),
    "scorecard": N_("`/sales scorecard` · `/sales scorecard team` — you vs your team's median, and the bottleneck"),
    "call": N_("`/sales call` — submit your forecast call for the quarter (commit, best case, a note)"),
    "calls": N_("`/sales calls [team]` — each person's call beside the system's roll-up and quota; who hasn't called"),
    "status": N_("`/sales status` — how fresh the CRM data is, per object (sales ops, execs)"),
    "waterfall": N_("`/sales waterfall my team this quarter` · `/sales waterfall q3 by stage` — how the pipeline "
                    "moved: created, pulled in, pushed out, won, lost…"),
    "trend": N_("`/sales trend pipeline|commit|forecast|winrate|attainment [who] [weekly|monthly]` — as of the end of "
                "each of the last 13 weeks or 12 months, with a chart"),
    "accuracy": N_("`/sales accuracy [who] [last 4 quarters]` — commit, best case and calls at mid-quarter vs "
                   "actual, the mean error, and a chart"),
}


def help_(ask: Ask) -> Answer:
    lines = [f"*{name}* — {_(HELP_EXAMPLES[name])}" for name in INTENTS]
    lines.append(_("*as of* — any deal figure as the data stood then: `/sales pipeline as of oct 1` · "
                   "“what was my forecast on 2026-10-01?”"))
    return Answer(kind="help", title=_("What I can answer"),
                  lines=[_("Ask `/sales <what> [who] [when]`, words in any order, or ask me in plain English."),
                         *lines, _("Who: `me`, `team`, a name, an email, a team name, `org`. "
                                   "When: `this quarter`, `q3`, `fy2027`, `last 30 days`, `2026-10`, `ytd`…")],
                  understood=None)


def pipeline(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    by = ask.request.by or ("stage",)
    total = ask.metric("weighted_pipeline", period, scope)
    split = ranked(ask.metric("pipeline", period, scope, by), ask.request.limit,
                   ask.request.filters.get("sort") == "smallest")
    row = total.rows[0]
    answer = Answer(kind="metric", title=_("Open pipeline · {scope}").format(scope=scope.label),
                    figures=[Figure(_("Pipeline"), row["open_amount"]), Figure(_("Weighted"), row["value"]),
                             Figure(_("Open deals"), row["open_count"], "count")],
                    table=_breakdown_table(split, _("pipeline"), (("open_count", _("deals"), "count"),)),
                    context=_context(ask, period, scope), actions=_actions(ask))
    if "chart" in ask.request.options:
        answer.chart = breakdown_chart(ask, split, _("Open pipeline"))
    return _explain(ask, answer, total, split)


def quota(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    att = ask.metric("attainment", period, scope)
    cov = ask.metric("coverage", period, scope)
    row, cov_row = att.rows[0], cov.rows[0]
    gap = None if row["quota"] is None else row["quota"] - (row["won_amount"] or 0)
    answer = Answer(kind="metric", title=_("Quota attainment · {scope}").format(scope=scope.label),
                    figures=[Figure(_("Attainment"), row["value"], "ratio"), Figure(_("Pace"), row["pace"], "ratio"),
                             Figure(_("Closed won"), row["won_amount"]), Figure(_("Quota"), row["quota"]),
                             Figure(_("Gap to quota"), gap), Figure(_("Coverage"), cov_row["value"], "multiple")],
                    context=_context(ask, period, scope), actions=_actions(ask))
    if row["quota"] is None:
        answer.lines.append(_("No quota is set for this period, so attainment cannot be computed."))
    if scope.kind != "rep" or ask.request.by:
        by = ask.request.by or ("owner",)
        split = ask.metric("attainment", period, scope, by)
        split.rows.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0)))
        answer.table = _breakdown_table(split, _("attainment"),
                                        (("won_amount", _("closed won"), "money"), ("quota", _("quota"), "money")))
    if "chart" in ask.request.options:
        daily = ask.metric("closed_won", period, scope, ("day",))
        running, series = Decimal(0), []
        for r in daily.rows:
            running += r["value"] or 0
            series.append((r["day"], running))
        answer.chart = ChartSpec("attainment_pace", chart_title(_("Closed won vs pace"), (), scope, period), series,
                                 target=row["quota"], extra={"start": period.start, "end": period.end})
    return _explain(ask, answer, att, cov)


def forecast(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    result = ask.metric("forecast", period, scope)
    r = result.rows[0]
    answer = Answer(kind="metric", title=_("Forecast · {scope}").format(scope=scope.label),
                    figures=[Figure(_("Closed"), r["closed"]), Figure(_("Commit"), r["commit"]),
                             Figure(_("Best case"), r["best_case"]), Figure(_("Pipeline"), r["pipeline"]),
                             Figure(_("Quota"), r["quota"])],
                    context=_context(ask, period, scope), actions=_actions(ask))
    if r["quota"]:
        answer.lines.append(_("Commit covers {commit} of quota; best case {best_case}.").format(
            commit=_pct(r["commit"] / r["quota"]), best_case=_pct(r["best_case"] / r["quota"])))
    if "chart" in ask.request.options:
        answer.chart = ChartSpec("forecast", chart_title(_("Forecast vs quota"), (), scope, period),
                                 [(_("Closed"), r["closed"]), (_("Commit"), r["commit"]),
                                  (_("Best case"), r["best_case"]), (_("Pipeline"), r["pipeline"])],
                                 target=r["quota"])
    return _explain(ask, answer, result)


def _pct(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('1'))}%"


def deals(ask: Ask) -> Answer:
    from metrics.deal_lists import ranked_open_deals

    period, scope, f = ask.period(), ask.scope(), ask.request.filters
    limit = min(ask.request.limit or LIST_LIMIT, LIST_LIMIT * 2)
    wanted = (ask.request.limit or EXPORT_LIMIT) if "csv" in ask.request.options else limit
    every, total = ranked_open_deals(ask.conn, scope, period, limit=wanted, amount_min=org_filter(ask, "amount_min"),
                                     amount_max=org_filter(ask, "amount_max"), stage=f.get("stage"),
                                     smallest=f.get("sort") == "smallest", money=ask.money)
    rows = [[d.name, d.owner, d.stage, d.amount, d.close_date] for d in every]
    table = Table([Column(_("deal")), Column(_("owner")), Column(_("stage")), Column(_("amount"), "money"),
                   Column(_("close"), "date")], rows[:limit],
                  total_rows=total if ask.request.limit is None else len(rows[:limit]), all_rows=rows)
    title = (ngettext("Top {count} open deal · {scope}", "Top {count} open deals · {scope}", len(table.rows))
             if ask.request.limit else _("Open deals closing · {scope}"))
    return Answer(kind="list", title=title.format(count=len(table.rows), scope=scope.label),
                  figures=[Figure(_("Deals"), total, "count")], table=table,
                  lines=[] if total else [_("No open deals close in this period{filters}.").format(
                      filters=_filter_words(f))],
                  context=_context(ask, period, scope), actions=_actions(ask, chart=False))


def _filter_words(filters: dict) -> str:
    words = []
    if "amount_min" in filters:
        words.append(_("of at least {amount}").format(amount=f"{filters['amount_min']:,}"))
    if "amount_max" in filters:
        words.append(_("of at most {amount}").format(amount=f"{filters['amount_max']:,}"))
    if "stage" in filters:
        words.append(_("in {stage}").format(stage=filters["stage"]))
    return (" " + " ".join(words)) if words else ""


def deal(ask: Ask) -> Answer:
    """One deal the asker may see: a card with its stage path, amount and close-date changes and last activity.
    A deal outside their scope is answered like one that does not exist, so the answer gives nothing away."""
    name = ask.request.args
    if not name:
        raise UserError(_("Which deal? Try `/sales deal Acme renewal` or a deal id."))
    match = find_deal(ask.conn, default_scope(ask.viewer), name, money=ask.money)
    if match.choices:
        return _deal_choices(ask, name, match.choices)
    if match.deal is None:
        raise UserError(_("I can't find a deal called “{name}” among the deals you can see. "
                          "Try part of its name or its CRM id.").format(name=name))
    found, zone = match.deal, viewer_zone(ask.viewer, ask.settings)
    history = deal_history(ask.conn, found.id)
    changes = [_("{what} {before} → {after} on {day}").format(
        what=_(CHANGE_LABELS[field]), before=_change_value(before, found.currency),
        after=_change_value(after, found.currency), day=date_text(when.astimezone(zone)))
        for when, field, before, after in history.changes[-10:]]
    path = [(stage, at and at.astimezone(zone)) for stage, at in history.stage_path]
    last_activity = history.last_activity and history.last_activity.astimezone(zone)
    card = DealCard(found.record, found.name, found.owner, found.account, found.stage, path, found.amount,
                    found.close_date, changes, last_activity, found.next_step, None, found.probability,
                    found.currency, found.own_amount)
    return Answer(kind="deal", title=found.name, deal=card, context=_context(ask, None, None),
                  understood=(_("I read “{name}” as {deal}.").format(name=name, deal=found.name)
                              if match.read_as else None),
                  actions=[Action("share", _("Share in channel"), value=ask.request.raw[:1900])])


CHANGE_LABELS = {"amount": N_("Amount"), "close_date": N_("Close date")}


def _change_value(value, currency: str | None) -> str:
    """A changed close date, or a changed amount in the deal's own currency (history keeps the deal's amounts)."""
    return date_text(value) if isinstance(value, date) else money_exact(value, currency or "USD")


def _deal_choices(ask: Ask, name: str, choices: list[DealRow]) -> Answer:
    shown = choices[:CHOICES]
    table = Table([Column(_("deal")), Column(_("id")), Column(_("owner")), Column(_("stage")),
                   Column(_("amount"), "money"), Column(_("close"), "date")],
                  [[d.name, d.record, d.owner, d.stage, d.amount, d.close_date] for d in shown])
    lines = [_("More than one deal you can see matches “{name}”. Ask again with its full name or its id, "
               "e.g. `/sales deal {record}`.").format(name=name, record=shown[0].record)]
    if len(choices) > len(shown):
        lines.append(_("Only the first {count} are listed: add more of the name to narrow it down.").format(
            count=len(shown)))
    return Answer(kind="list", title=_("Which deal?"), table=table, lines=lines, context=_context(ask, None, None))


def stalled(ask: Ask) -> Answer:
    from metrics.stalled import RULES, stalled_overview

    scope = ask.scope()
    found = stalled_overview(ask.conn, today=ask.today, now=ask.now, settings=ask.settings,
                             owner_ids=scope.member_ids(ask.conn), cache=ask.cache,
                             limit=EXPORT_LIMIT if "csv" in ask.request.options else LIST_LIMIT)
    every = [[f.record_name, f.owner, _(RULES.get(f.rule, f.rule)), reason_text(f.reason, f.detail),
              f.amount] for f in found.findings]
    rows = every[:LIST_LIMIT]
    table = Table([Column(_("deal")), Column(_("owner")), Column(_("reason")), Column(_("detail")),
                   Column(_("amount"), "money")], rows, total_rows=found.total_findings, all_rows=every)
    return Answer(kind="list", title=_("Stalled deals · {scope}").format(scope=scope.label),
                  figures=[Figure(_("Stalled deals"), found.total_deals, "count"),
                           Figure(_("Findings"), found.total_findings, "count")],
                  table=table if rows else None, lines=[] if rows else [_("Nothing is stalled. Nice.")],
                  context=_context(ask, None, scope), actions=_actions(ask, chart=False))


def winrate(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    by_count = ask.metric("win_rate", period, scope, ask.request.by)
    total_count = ask.metric("win_rate", period, scope) if ask.request.by else by_count
    by_value = ask.metric("win_rate_value", period, scope)
    r = total_count.rows[0]
    answer = Answer(kind="metric", title=_("Win rate · {scope}").format(scope=scope.label),
                    figures=[Figure(_("Win rate"), r["value"], "ratio"),
                             Figure(_("By value"), by_value.rows[0]["value"], "ratio"),
                             Figure(_("Won"), r["won_count"], "count"), Figure(_("Lost"), r["lost_count"], "count")],
                    table=_breakdown_table(by_count, _("win rate"),
                                           (("won_count", _("won"), "count"), ("lost_count", _("lost"), "count"))),
                    context=_context(ask, period, scope), actions=_actions(ask))
    if "chart" in ask.request.options:
        answer.chart = chart_for(ask, "win_rate", period, scope, _("Win rate"), by_count)
    return _explain(ask, answer, total_count, by_value)


def cycle(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    median = ask.metric("cycle_days", period, scope, ask.request.by)
    mean = ask.metric("cycle_days_mean", period, scope)
    velocity = ask.metric("velocity", period, scope)
    total = ask.metric("cycle_days", period, scope) if ask.request.by else median
    answer = Answer(kind="metric", title=_("Sales cycle · {scope}").format(scope=scope.label),
                    figures=[Figure(_("Median"), total.rows[0]["value"], "days"),
                             Figure(_("Mean"), mean.rows[0]["value"], "days"),
                             Figure(_("Won deals"), total.rows[0]["won_count"], "count"),
                             Figure(_("Velocity per day"), velocity.rows[0]["value"] if velocity.rows else None)],
                    table=_breakdown_table(median, _("median days"), (("won_count", _("won deals"), "count"),)),
                    context=_context(ask, period, scope), actions=_actions(ask))
    if not total.rows[0]["won_count"]:
        answer.lines.append(_("No deal was won in {period}, so there is no cycle to measure.").format(
            period=period.label))
    answer.lines.extend(note for note in [velocity_note(velocity)] if note)
    if "chart" in ask.request.options:
        answer.chart = chart_for(ask, "cycle_days", period, scope, _("Sales cycle (median)"), median)
    return _explain(ask, answer, total, mean, velocity)


def funnel(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    result = ask.metric("conversion", period, scope)
    table = Table([Column(_("stage")), Column(_("entered"), "count"), Column(_("moved on"), "count"),
                   Column(_("conversion"), "ratio")],
                  [[r["stage"], r["entered"], r["advanced"], r["value"]] for r in result.rows])
    answer = Answer(kind="metric", title=_("Stage conversion · {scope}").format(scope=scope.label), table=table,
                    lines=[] if result.rows else [_("No deal entered a stage in this period.")],
                    context=_context(ask, period, scope), actions=_actions(ask))
    if "chart" in ask.request.options:
        answer.chart = funnel_chart(result, scope, period)
    return _explain(ask, answer, result)


def leaderboard(ask: Ask) -> Answer:
    period = ask.period()
    scope = ask.scope() if ask.request.scope_text else _leaderboard_default(ask)
    if scope.kind == "rep":
        raise UserError(_("A leaderboard ranks a team. Try `/sales leaderboard team` or `/sales leaderboard org`."))
    result = ask.metric("attainment", period, scope, ("owner",))
    rows = sorted(result.rows, key=lambda r: (r["value"] is None, -(r["value"] or 0), -(r["won_amount"] or 0)))
    every = [[i, r["owner"], r["value"], r["won_amount"], r["quota"]]
             for i, r in enumerate(rows[:ask.request.limit] if ask.request.limit else rows, 1)]
    table = Table([Column("#", "count"), Column(_("rep")), Column(_("attainment"), "ratio"),
                   Column(_("closed won"), "money"), Column(_("quota"), "money")],
                  every[:min(ask.request.limit or LIST_LIMIT, LIST_LIMIT * 2)],
                  total_rows=len(rows) if ask.request.limit is None else None, all_rows=every)
    answer = Answer(kind="metric", title=_("Leaderboard · {scope}").format(scope=scope.label), table=table,
                    context=_context(ask, period, scope), actions=_actions(ask))
    if "chart" in ask.request.options:
        answer.chart = ChartSpec("leaderboard", chart_title(_("Attainment"), (), scope, period),
                                 [(r["owner"], r["value"]) for r in rows[:10] if r["value"] is not None])
    return _explain(ask, answer, result)


def _leaderboard_default(ask: Ask) -> Scope:
    from metrics.scopes import default_scope

    scope = default_scope(ask.viewer)
    if scope.kind == "rep" and ask.viewer.role == "rep":
        raise UserError(_("Leaderboards are for managers and execs. You can ask `/sales quota` for your own standing."))
    return scope


def changes(ask: Ask) -> Answer:
    """Changes since the start of the period asked for, at midnight on the asker's clock (default: the last 24
    hours); "pushed out" is judged against the asker's current fiscal quarter."""
    scope = ask.scope()
    asked = ask.request.period
    tz = viewer_zone(ask.viewer, ask.settings)
    since = datetime.combine(asked.start, time.min, tzinfo=tz) if asked else since_default(ask.now)
    if since > ask.now:
        raise UserError(_("{period} has not started yet where you are, so nothing has changed since then. "
                          "Try `/sales changes since yesterday` or `since last week`.").format(period=asked.label))
    period = parse_period("this quarter", ask.today, ask.fiscal)
    cap = EXPORT_LIMIT if "csv" in ask.request.options else LIST_LIMIT
    found = changes_overview(ask.conn, since, period=period, scope=scope, limit=cap, money=ask.money)
    summary, every, total = found.summary, found.changes, found.total_deals
    listed = every[:LIST_LIMIT]
    figures = [Figure(_(KIND_TITLES[k]), summary[k]["count"], "count") for k in KINDS if summary[k]["count"]]
    rows = [[c.name, c.owner, ", ".join(_(KIND_TITLES[k]) for k in c.kinds), c.amount_after] for c in every]
    table = Table([Column(_("deal")), Column(_("owner")), Column(_("what")), Column(_("amount"), "money")],
                  rows[:LIST_LIMIT],
                  total_rows=total, all_rows=rows)
    local = since.astimezone(tz)
    when = moment_text(local, with_year=local.year != ask.today.year)
    answer = Answer(kind="list",
                    title=_("What changed since {moment} · {scope}").format(moment=when, scope=scope.label),
                    figures=figures,
                    table=table if listed else None, context=_context(ask, period, scope),
                    actions=_actions(ask, chart=False))
    if not listed:
        answer.lines.append(_("Nothing changed since {moment}: no deal in {scope} was created, moved a stage, "
                              "changed its close date or amount, or closed.").format(moment=when, scope=scope.label))
    return answer


def integrity(ask: Ask) -> Answer:
    from metrics.integrity import RULES, integrity_findings

    if not ask.viewer.sees_everything:
        raise UserError(_("Data-integrity findings are for sales ops and execs. Ask them, or see `/sales stalled`."))
    findings = integrity_findings(ask.conn, today=ask.today, now=ask.now, settings=ask.settings)
    rule = ask.request.filters.get("rule")
    if rule:
        return _integrity_rule(ask, rule, [f for f in findings if f.rule == rule], _(RULES.get(rule, rule)))
    totals: dict[str, int] = {}
    for f in findings:
        totals[f.rule] = totals.get(f.rule, 0) + 1
    table = Table([Column(_("rule")), Column(_("findings"), "count")],
                  [[_(RULES.get(rule, rule)), n] for rule, n in sorted(totals.items(), key=lambda kv: -kv[1])])
    return Answer(kind="list", title=_("Data-integrity findings"),
                  figures=[Figure(_("Findings"), len(findings), "count")],
                  table=table if findings else None, lines=[] if findings else [_("No findings. The data is clean.")],
                  context=_context(ask, None, Scope("org", _("the whole org"))),
                  actions=[Action("share", _("Share in channel"), value=ask.request.raw[:1900])])


def _integrity_rule(ask: Ask, rule: str, findings: list, title: str) -> Answer:
    """One rule's findings, record by record ("deals with no owner", "duplicate accounts")."""
    every = [[f.record_name, f.owner, reason_text(f.reason, f.detail), f.amount] for f in findings]
    rows = every[:LIST_LIMIT * 2]
    table = Table([Column(_("record")), Column(_("owner")), Column(_("detail")), Column(_("amount"), "money")],
                  rows, total_rows=len(findings), all_rows=every)
    return Answer(kind="list", title=_("Data integrity · {rule}").format(rule=title),
                  figures=[Figure(_("Findings"), len(findings), "count")], table=table if rows else None,
                  lines=[] if rows else [_("No findings for “{rule}”. The data is clean on that rule.").format(
                      rule=title)],
                  context=_context(ask, None, Scope("org", _("the whole org"))),
                  actions=[Action("share", _("Share in channel"), value=ask.request.raw[:1900])])


LANGUAGE_WORDS = ("language", "lang", "bahasa", "lingua")
LANGUAGE_VALUES = {"en": "en", "english": "en", "inggris": "en", "inglese": "en",
                   "id": "id", "indonesian": "id", "indonesia": "id", "indonesiano": "id",
                   "it": "it", "italian": "it", "italia": "it", "italiano": "it",
                   "auto": None, "slack": None, "otomatis": None, "automatico": None}


def settings_(ask: Ask) -> Answer:
    """`/sales settings` shows the person's settings; `/sales settings language id|it|en|auto` sets their
    language (auto: follow the Slack locale again), answered in the new language."""
    from db.languages import choose_language, language_for
    from i18n import LANGUAGE_NAMES, set_locale
    from metrics.scopes import default_scope

    v = ask.viewer
    words = ask.request.args.lower().split()
    done = None
    if words and words[0] in LANGUAGE_WORDS:
        if len(words) != 2 or words[1] not in LANGUAGE_VALUES:
            return Answer(kind="error", title=_("Language"), lines=[
                _("Say `/sales settings language en`, `id` or `it` (or `auto` to follow your Slack language).")])
        chosen = LANGUAGE_VALUES[words[1]]
        choose_language(ask.conn.engine, v.rep_id, chosen)
        lang = set_locale(language_for(ask.conn.engine, ask.settings.default_locale, rep_id=v.rep_id))
        done = _("I'll speak {language} with you from now on.").format(language=LANGUAGE_NAMES[lang])
    language = LANGUAGE_NAMES[language_for(ask.conn.engine, ask.settings.default_locale, rep_id=v.rep_id)]
    return Answer(kind="info", title=_("Your settings"),
                  figures=[Figure(_("Role"), v.role, "text"), Figure(_("You see"), default_scope(v).label, "text"),
                           Figure(_("Time zone"), v.timezone or ask.settings.default_timezone, "text"),
                           Figure(_("Language"), language, "text"),
                           Figure(_("Email"), v.email or "—", "text")],
                  lines=[done] if done else [],
                  context=[ask.freshness()])


def digest(ask: Ask) -> Answer:
    """`/sales digest [time 07:30 | pause 5d | pause until D | off | on | preview]`: the person's own digest."""
    from scheduler.digest_schedule import (
        DIGEST_KINDS,
        KIND_LABELS,
        describe,
        get_subscription,
        parse_digest_command,
        save_subscription,
    )
    from scheduler.digests import preview_digest

    raw = re.sub(r"^\s*(<@[A-Z0-9]+>\s*)?(/sales\s+)?", "", ask.request.raw or "", flags=re.IGNORECASE)
    rest = _DIGEST_WORD.sub("", raw).strip()
    period = ask.request.period
    until = None
    if period is not None and re.search(r"\b(?:until|till|sampai|hingga|fino)\b", rest, re.I):
        until = period.end if period.start <= ask.today else period.start  # "sampai 20/3": from today to the 20th
    command = parse_digest_command(rest, ask.today, until)
    viewer = ask.viewer
    kind = DIGEST_KINDS.get(viewer.role)
    if kind is None:
        return Answer(kind="info", title=_("Digests"),
                      lines=[_("Morning digests go to managers and weekly digests to execs, so there is nothing to "
                               "set for you. You get one stalled-deal nudge a day instead, when deals need "
                               "attention.")],
                      context=[ask.freshness()])
    if command.action == "preview":
        built = preview_digest(ask.conn.engine, ask.settings, viewer, ask.now)
        answer = built.answer
        answer.understood = _("Preview: your digest as it would be sent now. Nothing was sent.")
        return answer
    tz = viewer_zone(viewer, ask.settings)
    label = _(KIND_LABELS[kind])
    done = None
    if command.action == "time":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, send_time=f"{command.at:%H:%M}")
        done = _("Done: your {label} now comes at {time} your time ({zone}).").format(
            label=label, time=f"{command.at:%H:%M}", zone=tz.key)
    elif command.action == "pause":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, paused_until=command.paused_until)
        done = _("Done: your {label} is paused through {day}.").format(label=label,
                                                                      day=day_heading(command.paused_until))
    elif command.action == "off":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, enabled=False)
        done = _("Done: your {label} is off. `/sales digest on` brings it back.").format(label=label)
    elif command.action == "on":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, enabled=True, paused_until=None)
        done = _("Done: your {label} is on.").format(label=label)
    if done:
        ask.conn.commit()
    sub = get_subscription(ask.conn, viewer.rep_id, kind)
    lines = ([done] if done else []) + describe(sub, kind, ask.settings, tz, ask.now)
    if not done:
        lines.append(_("Change it: `/sales digest time 07:30` · `pause 5d` · `pause until 2026-03-20` · `off` · "
                       "`on` · `preview`."))
    return Answer(kind="info", title=_("Your {label}").format(label=label), lines=lines, context=[ask.freshness()])


# The digest subcommand's own word, before its settings ("digest pause 5d", "ringkasan jeda 5 hari").
_DIGEST_WORD = re.compile(r"^\s*(?:digest|ringkasan(?:\s+(?:pagi|harian))?|riepilogo(?:\s+mattutino)?|"
                          r"riassunto\s+mattutino)\b", re.IGNORECASE)


def status(ask: Ask) -> Answer:
    """Sync health per CRM object: when it last succeeded, rows read, rejected records, the last error."""
    from crm.freshness import age_text
    from crm.state import DELETIONS, RUN, read_states, reject_counts

    if not ask.viewer.sees_everything:
        raise UserError(_("Sync health is for sales ops and execs. Every answer says how fresh its data is."))
    crm = ask.settings.crm
    if crm.connector is None:
        return Answer(kind="info", title=_("Data sources"),
                      lines=[_("No CRM is connected: the data comes from CSV imports (`python bot.py import`). "
                               "See the README, “Connecting your CRM”.")], context=[ask.freshness()])
    states = [s for s in read_states(ask.conn, crm.connector) if not s.object.endswith(DELETIONS)]
    rejects = reject_counts(ask.conn, crm.connector)

    def when(moment: datetime | None) -> str:
        return _("{age} ago").format(age=age_text(ask.now - moment)) if moment else _("never")

    rows = [[s.object, when(s.last_success_at), s.rows_seen, rejects.get(s.object, 0),
             _error_text(s.last_error, s.consecutive_failures)] for s in states if s.object != RUN]
    run = next((s for s in states if s.object == RUN), None)
    lines = [_("A sync runs every {minutes} min on the scheduler's leader.").format(minutes=crm.sync_minutes)]
    if run is not None:
        lines.append(_("Scheduled runs: last success {when}; {error}").format(
            when=when(run.last_success_at), error=_error_text(run.last_error, run.consecutive_failures))
            if run.last_error else _("Scheduled runs: last success {when}.").format(when=when(run.last_success_at)))
    if not rows:
        lines.append(_("No {crm} sync has run yet: `python bot.py sync`.").format(crm=crm.connector))
    table = Table([Column(_("object")), Column(_("last success")), Column(_("rows"), "count"),
                   Column(_("rejects"), "count"), Column(_("last error"))], rows) if rows else None
    return Answer(kind="list", title=_("CRM sync · {crm}").format(crm=crm.connector), table=table, lines=lines,
                  figures=[Figure(_("Rejected records"), sum(rejects.values()), "count")],
                  context=[ask.freshness()])


def _error_text(error: str | None, failures: int) -> str:
    if not error:
        return ""
    runs = ngettext("{count} failed run in a row: ", "{count} failed runs in a row: ", failures).format(
        count=failures) if failures else ""
    return (runs + error)[:300]


HANDLERS: dict[str, Callable[[Ask], Answer]] = {
    "help": help_, "pipeline": pipeline, "quota": quota, "forecast": forecast, "deals": deals, "deal": deal,
    "stalled": stalled, "winrate": winrate, "cycle": cycle, "funnel": funnel, "leaderboard": leaderboard,
    "changes": changes, "integrity": integrity, "digest": digest, "settings": settings_, "status": status,
    "metric": metric_answer,
    "commission": commission, "scorecard": scorecard,
    "call": call_answers.call, "calls": call_answers.calls,
    "waterfall": waterfall,
    "trend": trend_answers.trend, "accuracy": accuracy_answers.accuracy,
}
# What each answer uses of a reading beyond intent, scope and period; the rest is said back as ignored.
HONOURS: dict[str, frozenset[str]] = {
    "pipeline": frozenset({"by", "chart", "csv", "explain", "compare", "limit", "sort"}),
    "quota": frozenset({"by", "chart", "csv", "explain", "compare"}),
    "forecast": frozenset({"chart", "csv", "explain", "compare"}),
    "deals": frozenset({"limit", "amount_min", "amount_max", "stage", "sort", "csv"}),
    "stalled": frozenset({"csv"}),
    "winrate": frozenset({"by", "chart", "csv", "explain", "compare"}),
    "cycle": frozenset({"by", "chart", "csv", "explain", "compare"}),
    "funnel": frozenset({"chart", "csv", "explain"}),
    "leaderboard": frozenset({"chart", "csv", "explain", "limit", "sort"}),
    "changes": frozenset({"csv"}),
    "integrity": frozenset({"rule", "csv"}),
    "metric": frozenset({"by", "chart", "csv", "limit", "sort", "explain", "compare"}),
    "commission": frozenset({"chart"}),
    "scorecard": frozenset({"chart"}),
    "waterfall": frozenset({"by", "chart", "csv", "explain"}),
    "trend": frozenset({"by", "chart", "csv", "weekly"}),
    "accuracy": frozenset({"chart", "csv"}),
}


def answer_for(ask: Ask) -> Answer:
    """The answer for a reading: a comparison when one was asked of a metric, else the intent's own answer."""
    request = ask.request
    check_as_of(ask)
    if request.compare is not None and "compare" in HONOURS.get(request.intent, ()) and request.metric \
            and request.metric not in NOT_COMPARABLE:
        return said_as_of(ask, with_exports(ask, in_display_currency(ask, compare_answer(ask))))
    return said_as_of(ask, with_exports(ask, in_display_currency(ask, HANDLERS[request.intent](ask))))


def ignored_parts(ask: Ask) -> list[str]:
    """The parts of the reading the answer did not use, in words ("by owner", "chart", "amount over 100,000")."""
    request = ask.request
    honoured = HONOURS.get(request.intent, frozenset())
    out = []
    if request.by and "by" not in honoured:
        out.append(_("by {dimensions}").format(dimensions=", ".join(dimension_name(d) for d in request.by)))
    for option in sorted(request.options - {"share"}):
        if option not in honoured:
            out.append(option_name(option))
    if request.limit is not None and "limit" not in honoured:
        out.append(_("top {count}").format(count=request.limit))
    words = {"amount_min": N_("amount over {value}"), "amount_max": N_("amount under {value}"),
             "stage": N_("stage {value}"), "rule": N_("rule {value}"), "sort": N_("{value} first")}
    for key, value in request.filters.items():
        if key not in honoured:
            shown = f"{value:,}" if key.startswith("amount") else sort_name(value) if key == "sort" else value
            out.append(_(words[key]).format(value=shown))
    if request.compare is not None and ("compare" not in honoured or request.metric in NOT_COMPARABLE):
        out.append(_("the comparison"))
    return out
