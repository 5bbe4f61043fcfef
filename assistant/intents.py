"""One function per `/sales` subcommand: Ask in, Answer out. Figures come from the metrics layer only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from decimal import Decimal

from assistant.answers import Action, Answer, ChartSpec, Column, DealCard, Figure, Table
from assistant.grammar import INTENTS
from assistant.service import Ask, since_default
from errors import UserError
from metrics.changes import KIND_TITLES, KINDS, changes_since, changes_summary
from metrics.deals import deal_history, find_deal, open_deals_closing
from metrics.evaluate import MetricResult
from metrics.periods import Period, parse_period
from metrics.scopes import Scope

LIST_LIMIT = 15
HELP_EXAMPLES = {
    "help": "this list",
    "pipeline": "`/sales pipeline` · `/sales pipeline west team next quarter by stage chart`",
    "quota": "`/sales quota` · `/sales quota team` · “how am I tracking to quota?”",
    "forecast": "`/sales forecast q3` — closed, commit, best case, pipeline vs quota",
    "deals": "`/sales deals this week` — open deals closing in a period",
    "deal": "`/sales deal Acme renewal` — one deal: stage path, changes, last activity",
    "stalled": "`/sales stalled` · “which of Dana's deals are stuck?”",
    "winrate": "`/sales winrate last quarter by owner`",
    "cycle": "`/sales cycle ytd` — median and mean days to close",
    "funnel": "`/sales funnel this year` — stage-to-stage conversion",
    "leaderboard": "`/sales leaderboard team` — ranked by attainment, then closed won",
    "changes": "`/sales changes since last week` — new, advanced, slipped, won, lost",
    "integrity": "`/sales integrity` — data-quality findings (sales ops)",
    "digest": "`/sales digest preview` · `time 07:30` · `pause 5d` · `off` · `on`",
    "settings": "`/sales settings` — your role, scope, time zone and digest",
    "status": "`/sales status` — how fresh the CRM data is, per object (sales ops, execs)",
}


def _context(ask: Ask, period: Period | None, scope: Scope | None) -> list[str]:
    out = []
    if period is not None:
        out.append(f"{period.label} ({period.start:%b %-d} – {period.end:%b %-d, %Y})")
    if scope is not None:
        out.append(scope.label)
    out.append(ask.freshness())
    return out


def _actions(ask: Ask, chart: bool = True) -> list[Action]:
    acts = [Action("share", "Share in channel", value=ask.request.raw[:1900])]
    if chart and "chart" not in ask.request.options:
        acts.append(Action("chart", "Chart", value=(ask.request.raw + " chart")[:1900]))
    return acts


def _explain(ask: Ask, answer: Answer, *results: MetricResult) -> Answer:
    if "explain" in ask.request.options:
        for r in results:
            answer.lines.append(f"{r.label}: {r.description}")
            answer.lines.extend(f"SQL: {sql}" for sql in r.sql)
    return answer


def _breakdown_table(result: MetricResult, label: str, extra: tuple[tuple[str, str, str], ...] = ()
                     ) -> Table | None:
    """The result's rows as a table: its dimensions, the value, then (key, heading, fmt) extras."""
    if not result.by or not result.rows:
        return None
    cols = [Column(d) for d in result.by] + [Column(label, result.fmt)] + [Column(h, f) for _, h, f in extra]
    rows = [[r.get(d) for d in result.by] + [r["value"]] + [r.get(k) for k, _, _ in extra] for r in result.rows]
    return Table(cols, rows[:LIST_LIMIT * 2], total_rows=len(rows))


def help_(ask: Ask) -> Answer:
    lines = [f"*{name}* — {HELP_EXAMPLES[name]}" for name in INTENTS]
    return Answer(kind="help", title="What I can answer",
                  lines=["Ask `/sales <what> [who] [when]`, words in any order, or ask me in plain English.",
                         *lines, "Who: `me`, `team`, a name, an email, a team name, `org`. "
                         "When: `this quarter`, `q3`, `fy2027`, `last 30 days`, `2026-10`, `ytd`…"],
                  understood=None)


def pipeline(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    by = ask.request.by or ("stage",)
    total = ask.metric("weighted_pipeline", period, scope)
    split = ask.metric("pipeline", period, scope, by)
    row = total.rows[0]
    answer = Answer(kind="metric", title=f"Open pipeline · {scope.label}",
                    figures=[Figure("Pipeline", row["open_amount"]), Figure("Weighted", row["value"]),
                             Figure("Open deals", row["open_count"], "count")],
                    table=_breakdown_table(split, "pipeline", (("open_count", "deals", "count"),)),
                    context=_context(ask, period, scope), actions=_actions(ask))
    if "chart" in ask.request.options and by == ("stage",):
        answer.chart = ChartSpec("pipeline_by_stage", f"Pipeline by stage · {period.label}",
                                 [(r["stage"], r["value"]) for r in split.rows])
    return _explain(ask, answer, total, split)


def quota(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    att = ask.metric("attainment", period, scope)
    cov = ask.metric("coverage", period, scope)
    row, cov_row = att.rows[0], cov.rows[0]
    gap = None if row["quota"] is None else row["quota"] - (row["won_amount"] or 0)
    answer = Answer(kind="metric", title=f"Quota attainment · {scope.label}",
                    figures=[Figure("Attainment", row["value"], "ratio"), Figure("Pace", row["pace"], "ratio"),
                             Figure("Closed won", row["won_amount"]), Figure("Quota", row["quota"]),
                             Figure("Gap to quota", gap), Figure("Coverage", cov_row["value"], "multiple")],
                    context=_context(ask, period, scope), actions=_actions(ask))
    if row["quota"] is None:
        answer.lines.append("No quota is set for this period, so attainment cannot be computed.")
    if scope.kind != "rep" or ask.request.by:
        by = ask.request.by or ("owner",)
        split = ask.metric("attainment", period, scope, by)
        split.rows.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0)))
        answer.table = _breakdown_table(split, "attainment",
                                        (("won_amount", "closed won", "money"), ("quota", "quota", "money")))
    if "chart" in ask.request.options:
        daily = ask.metric("closed_won", period, scope, ("day",))
        running, series = Decimal(0), []
        for r in daily.rows:
            running += r["value"] or 0
            series.append((r["day"], running))
        answer.chart = ChartSpec("attainment_pace", f"Closed won vs pace · {period.label}", series,
                                 target=row["quota"], extra={"start": period.start, "end": period.end})
    return _explain(ask, answer, att, cov)


def forecast(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    result = ask.metric("forecast", period, scope)
    r = result.rows[0]
    answer = Answer(kind="metric", title=f"Forecast · {scope.label}",
                    figures=[Figure("Closed", r["closed"]), Figure("Commit", r["commit"]),
                             Figure("Best case", r["best_case"]), Figure("Pipeline", r["pipeline"]),
                             Figure("Quota", r["quota"])],
                    context=_context(ask, period, scope), actions=_actions(ask))
    if r["quota"]:
        answer.lines.append("Commit covers " + _pct(r["commit"] / r["quota"]) + " of quota; best case "
                            + _pct(r["best_case"] / r["quota"]) + ".")
    if "chart" in ask.request.options:
        answer.chart = ChartSpec("forecast", f"Forecast vs quota · {period.label}",
                                 [("Closed", r["closed"]), ("Commit", r["commit"]), ("Best case", r["best_case"]),
                                  ("Pipeline", r["pipeline"])], target=r["quota"])
    return _explain(ask, answer, result)


def _pct(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('1'))}%"


def deals(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    rows, total = open_deals_closing(ask.conn, scope, period, LIST_LIMIT)
    table = Table([Column("deal"), Column("owner"), Column("stage"), Column("amount", "money"),
                   Column("close", "date")],
                  [[d.name, d.owner, d.stage, d.amount, d.close_date] for d in rows], total_rows=total)
    return Answer(kind="list", title=f"Open deals closing · {scope.label}",
                  figures=[Figure("Deals", total, "count")], table=table,
                  lines=[] if total else ["No open deals close in this period."],
                  context=_context(ask, period, scope), actions=_actions(ask, chart=False))


def deal(ask: Ask) -> Answer:
    if not ask.request.args:
        raise UserError("Which deal? Try `/sales deal Acme renewal` or a deal id.")
    scope = Scope("org", "the whole org") if ask.viewer.sees_everything else resolve_default(ask)
    found, suggestions = find_deal(ask.conn, scope, ask.request.args)
    if found is None:
        hint = f" Did you mean {' or '.join(suggestions[:3])}?" if suggestions else ""
        raise UserError(f"I can't find a deal called {ask.request.args!r} among the deals you can see.{hint}")
    history = deal_history(ask.conn, found.id)
    changes = [f"{field.replace('_', ' ')} {before} → {after} on {when:%b %-d}"
               for when, field, before, after in history.changes[-10:]]
    template = ask.settings.crm_url_template
    url = template.replace("{id}", found.record) if template else None
    card = DealCard(found.record, found.name, found.owner, found.account, found.stage, history.stage_path,
                    found.amount, found.close_date, changes, history.last_activity, found.next_step, url)
    acts = [Action("share", "Share in channel", value=ask.request.raw[:1900])]
    if url:
        acts.append(Action("open_crm", "Open in CRM", url=url))
    return Answer(kind="deal", title=found.name, deal=card,
                  figures=[Figure("Amount", found.amount), Figure("Stage", found.stage, "text"),
                           Figure("Close date", found.close_date, "date"),
                           Figure("Probability", Decimal(found.probability) / 100, "ratio")],
                  context=_context(ask, None, None), actions=acts)


def resolve_default(ask: Ask) -> Scope:
    from metrics.scopes import default_scope

    return default_scope(ask.viewer)


def stalled(ask: Ask) -> Answer:
    from metrics.stalled import RULES, stalled_overview

    scope = ask.scope()
    found = stalled_overview(ask.conn, today=ask.today, now=ask.now, settings=ask.settings,
                             owner_ids=scope.member_ids(ask.conn), limit=LIST_LIMIT, cache=ask.cache)
    rows = [[f.record_name, f.owner, RULES.get(f.rule, f.rule), f.detail, f.amount] for f in found.findings]
    table = Table([Column("deal"), Column("owner"), Column("reason"), Column("detail"), Column("amount", "money")],
                  rows, total_rows=found.total_findings)
    return Answer(kind="list", title=f"Stalled deals · {scope.label}",
                  figures=[Figure("Stalled deals", found.total_deals, "count"),
                           Figure("Findings", found.total_findings, "count")],
                  table=table if rows else None, lines=[] if rows else ["Nothing is stalled. Nice."],
                  context=_context(ask, None, scope), actions=_actions(ask, chart=False))


def winrate(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    by_count = ask.metric("win_rate", period, scope, ask.request.by)
    total_count = ask.metric("win_rate", period, scope) if ask.request.by else by_count
    by_value = ask.metric("win_rate_value", period, scope)
    r = total_count.rows[0]
    answer = Answer(kind="metric", title=f"Win rate · {scope.label}",
                    figures=[Figure("Win rate", r["value"], "ratio"),
                             Figure("By value", by_value.rows[0]["value"], "ratio"),
                             Figure("Won", r["won_count"], "count"), Figure("Lost", r["lost_count"], "count")],
                    table=_breakdown_table(by_count, "win rate",
                                           (("won_count", "won", "count"), ("lost_count", "lost", "count"))),
                    context=_context(ask, period, scope), actions=_actions(ask, chart=False))
    return _explain(ask, answer, total_count, by_value)


def cycle(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    median = ask.metric("cycle_days", period, scope, ask.request.by)
    mean = ask.metric("cycle_days_mean", period, scope)
    velocity = ask.metric("velocity", period, scope)
    total = ask.metric("cycle_days", period, scope) if ask.request.by else median
    answer = Answer(kind="metric", title=f"Sales cycle · {scope.label}",
                    figures=[Figure("Median", total.rows[0]["value"], "days"),
                             Figure("Mean", mean.rows[0]["value"], "days"),
                             Figure("Won deals", total.rows[0]["won_count"], "count"),
                             Figure("Velocity per day", velocity.rows[0]["value"] if velocity.rows else None)],
                    table=_breakdown_table(median, "median days", (("won_count", "won deals", "count"),)),
                    context=_context(ask, period, scope), actions=_actions(ask, chart=False))
    return _explain(ask, answer, total, mean, velocity)


def funnel(ask: Ask) -> Answer:
    period, scope = ask.period(), ask.scope()
    result = ask.metric("conversion", period, scope)
    table = Table([Column("stage"), Column("entered", "count"), Column("moved on", "count"),
                   Column("conversion", "ratio")],
                  [[r["stage"], r["entered"], r["advanced"], r["value"]] for r in result.rows])
    return _explain(ask, Answer(kind="metric", title=f"Stage conversion · {scope.label}", table=table,
                                lines=[] if result.rows else ["No deal entered a stage in this period."],
                                context=_context(ask, period, scope), actions=_actions(ask, chart=False)), result)


def leaderboard(ask: Ask) -> Answer:
    period = ask.period()
    scope = ask.scope() if ask.request.scope_text else _leaderboard_default(ask)
    if scope.kind == "rep":
        raise UserError("A leaderboard ranks a team. Try `/sales leaderboard team` or `/sales leaderboard org`.")
    result = ask.metric("attainment", period, scope, ("owner",))
    rows = sorted(result.rows, key=lambda r: (r["value"] is None, -(r["value"] or 0), -(r["won_amount"] or 0)))
    table = Table([Column("#", "count"), Column("rep"), Column("attainment", "ratio"), Column("closed won", "money"),
                   Column("quota", "money")],
                  [[i, r["owner"], r["value"], r["won_amount"], r["quota"]]
                   for i, r in enumerate(rows[:LIST_LIMIT], 1)],
                  total_rows=len(rows))
    answer = Answer(kind="metric", title=f"Leaderboard · {scope.label}", table=table,
                    context=_context(ask, period, scope), actions=_actions(ask))
    if "chart" in ask.request.options:
        answer.chart = ChartSpec("leaderboard", f"Attainment · {period.label}",
                                 [(r["owner"], r["value"]) for r in rows[:10] if r["value"] is not None])
    return _explain(ask, answer, result)


def _leaderboard_default(ask: Ask) -> Scope:
    from metrics.scopes import default_scope

    scope = default_scope(ask.viewer)
    if scope.kind == "rep" and ask.viewer.role == "rep":
        raise UserError("Leaderboards are for managers and execs. You can ask `/sales quota` for your own standing.")
    return scope


def changes(ask: Ask) -> Answer:
    """Changes since the start of the period asked for (default: the last 24 hours); "pushed out" is judged
    against the current fiscal quarter."""
    scope = ask.scope()
    asked = ask.request.period
    since = datetime.combine(asked.start, time.min, tzinfo=UTC) if asked else since_default(ask.now)
    period = parse_period("this quarter", ask.today, ask.fiscal)
    summary = changes_summary(ask.conn, since, period=period, scope=scope)
    listed = changes_since(ask.conn, since, period=period, scope=scope, limit=LIST_LIMIT)
    figures = [Figure(KIND_TITLES[k], summary[k]["count"], "count") for k in KINDS if summary[k]["count"]]
    table = Table([Column("deal"), Column("owner"), Column("what"), Column("amount", "money")],
                  [[c.name, c.owner, ", ".join(KIND_TITLES[k] for k in c.kinds), c.amount_after] for c in listed],
                  total_rows=sum(1 for _ in listed) if len(listed) < LIST_LIMIT else None)
    return Answer(kind="list", title=f"What changed since {since:%b %-d, %H:%M} UTC · {scope.label}",
                  figures=figures or [Figure("Changes", 0, "count")], table=table if listed else None,
                  context=_context(ask, period, scope), actions=_actions(ask, chart=False))


def integrity(ask: Ask) -> Answer:
    from metrics.integrity import RULES, integrity_findings

    if not ask.viewer.sees_everything:
        raise UserError("Data-integrity findings are for sales ops and execs. Ask them, or see `/sales stalled`.")
    findings = integrity_findings(ask.conn, today=ask.today, now=ask.now, settings=ask.settings)
    totals: dict[str, int] = {}
    for f in findings:
        totals[f.rule] = totals.get(f.rule, 0) + 1
    table = Table([Column("rule"), Column("findings", "count")],
                  [[RULES.get(rule, rule), n] for rule, n in sorted(totals.items(), key=lambda kv: -kv[1])])
    return Answer(kind="list", title="Data-integrity findings", figures=[Figure("Findings", len(findings), "count")],
                  table=table if findings else None, lines=[] if findings else ["No findings. The data is clean."],
                  context=_context(ask, None, Scope("org", "the whole org")),
                  actions=[Action("share", "Share in channel", value=ask.request.raw[:1900])])


def settings_(ask: Ask) -> Answer:
    v = ask.viewer
    from metrics.scopes import default_scope

    return Answer(kind="info", title="Your settings",
                  figures=[Figure("Role", v.role, "text"), Figure("You see", default_scope(v).label, "text"),
                           Figure("Time zone", v.timezone or ask.settings.default_timezone, "text"),
                           Figure("Email", v.email or "—", "text")],
                  context=[ask.freshness()])


def digest(ask: Ask) -> Answer:
    """`/sales digest [time 07:30 | pause 5d | pause until D | off | on | preview]`: the person's own digest."""
    import re

    from scheduler.digest_schedule import (
        DIGEST_KINDS,
        KIND_LABELS,
        describe,
        get_subscription,
        parse_digest_command,
        save_subscription,
    )
    from scheduler.digests import preview_digest
    from scheduler.recipients import zone

    raw = re.sub(r"^\s*(<@[A-Z0-9]+>\s*)?(/sales\s+)?", "", ask.request.raw or "", flags=re.IGNORECASE)
    rest = re.sub(r"^\s*digest\b", "", raw, flags=re.IGNORECASE).strip()
    until = ask.request.period.start if ask.request.period and re.search(r"\b(until|till)\b", rest, re.I) else None
    command = parse_digest_command(rest, ask.today, until)
    viewer = ask.viewer
    kind = DIGEST_KINDS.get(viewer.role)
    if kind is None:
        return Answer(kind="info", title="Digests",
                      lines=["Morning digests go to managers and weekly digests to execs, so there is nothing to set "
                             "for you. You get one stalled-deal nudge a day instead, when deals need attention."],
                      context=[ask.freshness()])
    if command.action == "preview":
        built = preview_digest(ask.conn.engine, ask.settings, viewer, ask.now)
        answer = built.answer
        answer.understood = "Preview: your digest as it would be sent now. Nothing was sent."
        return answer
    tz = zone(viewer.timezone, ask.settings.default_timezone)
    label = KIND_LABELS[kind]
    done = None
    if command.action == "time":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, send_time=f"{command.at:%H:%M}")
        done = f"Done: your {label} now comes at {command.at:%H:%M} your time ({tz.key})."
    elif command.action == "pause":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, paused_until=command.paused_until)
        done = f"Done: your {label} is paused through {command.paused_until:%a, %b %-d}."
    elif command.action == "off":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, enabled=False)
        done = f"Done: your {label} is off. `/sales digest on` brings it back."
    elif command.action == "on":
        save_subscription(ask.conn, viewer.rep_id, kind, ask.now, enabled=True, paused_until=None)
        done = f"Done: your {label} is on."
    if done:
        ask.conn.commit()
    sub = get_subscription(ask.conn, viewer.rep_id, kind)
    lines = ([done] if done else []) + describe(sub, kind, ask.settings, tz, ask.now)
    if not done:
        lines.append("Change it: `/sales digest time 07:30` · `pause 5d` · `pause until 2026-03-20` · `off` · `on` · "
                     "`preview`.")
    return Answer(kind="info", title=f"Your {label}", lines=lines, context=[ask.freshness()])


def status(ask: Ask) -> Answer:
    """Sync health per CRM object: when it last succeeded, rows read, rejected records, the last error."""
    from crm.freshness import age_text
    from crm.state import DELETIONS, RUN, read_states, reject_counts

    if not ask.viewer.sees_everything:
        raise UserError("Sync health is for sales ops and execs. Every answer says how fresh its data is.")
    crm = ask.settings.crm
    if crm.connector is None:
        return Answer(kind="info", title="Data sources",
                      lines=["No CRM is connected: the data comes from CSV imports (`python bot.py import`). "
                             "See the README, “Connecting your CRM”."], context=[ask.freshness()])
    states = [s for s in read_states(ask.conn, crm.connector) if not s.object.endswith(DELETIONS)]
    rejects = reject_counts(ask.conn, crm.connector)

    def when(moment: datetime | None) -> str:
        return f"{age_text(ask.now - moment)} ago" if moment else "never"

    rows = [[s.object, when(s.last_success_at), s.rows_seen, rejects.get(s.object, 0),
             _error_text(s.last_error, s.consecutive_failures)] for s in states if s.object != RUN]
    run = next((s for s in states if s.object == RUN), None)
    lines = [f"A sync runs every {crm.sync_minutes} min on the scheduler's leader."]
    if run is not None:
        lines.append(f"Scheduled runs: last success {when(run.last_success_at)}"
                     + (f"; {_error_text(run.last_error, run.consecutive_failures)}" if run.last_error else "."))
    if not rows:
        lines.append(f"No {crm.connector} sync has run yet: `python bot.py sync`.")
    table = Table([Column("object"), Column("last success"), Column("rows", "count"), Column("rejects", "count"),
                   Column("last error")], rows) if rows else None
    return Answer(kind="list", title=f"CRM sync · {crm.connector}", table=table, lines=lines,
                  figures=[Figure("Rejected records", sum(rejects.values()), "count")],
                  context=[ask.freshness()])


def _error_text(error: str | None, failures: int) -> str:
    if not error:
        return ""
    runs = f"{failures} failed run{'s' if failures != 1 else ''} in a row: " if failures else ""
    return (runs + error)[:300]


HANDLERS: dict[str, Callable[[Ask], Answer]] = {
    "help": help_, "pipeline": pipeline, "quota": quota, "forecast": forecast, "deals": deals, "deal": deal,
    "stalled": stalled, "winrate": winrate, "cycle": cycle, "funnel": funnel, "leaderboard": leaderboard,
    "changes": changes, "integrity": integrity, "digest": digest, "settings": settings_, "status": status,
}
