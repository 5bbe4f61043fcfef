"""`/sales call` and `/sales calls [who]`: forecast calls (DESIGN §4a).

`call` answers with the asker's system figures, deadline and a "Submit my call" button (the slash command opens
the modal straight away; the button does it from a DM or a mention). `calls` shows, for a scope the asker may
see, each caller's call this week beside the system's roll-up and quota, the total of the calls, and who has not
submitted. Scope permissions are the metrics layer's: a rep sees only their own call, a manager their tree.
"""

from __future__ import annotations

from datetime import datetime

from assistant.ask import Ask, viewer_zone
from i18n import _
from render.answers import Action, Answer, Column, Figure, Table
from render.calls import call_button_value
from render.format import moment_text, money_exact

ROWS_SHOWN = 40


def _when(at: datetime, ask: Ask) -> str:
    return moment_text(at.astimezone(viewer_zone(ask.viewer, ask.settings)))


def _pair(pair, currency: str) -> str:
    return _("commit {commit} · best case {best_case}").format(commit=money_exact(pair[0], currency),
                                                               best_case=money_exact(pair[1], currency))


def call(ask: Ask) -> Answer:
    from scheduler.forecast_calls import call_form, load_org, no_quota

    org = load_org(ask.conn.engine, ask.settings, ask.today)
    caller = org.callers.get(ask.viewer.rep_id)
    if caller is None:
        return Answer(kind="info", title=_("Forecast call"), lines=[no_quota(org.quarter.label)],
                      context=[ask.freshness()])
    form = call_form(ask.conn.engine, ask.settings, org, caller, ask.now)
    cur = ask.settings.org_currency
    lines = [(_("The deadline was {deadline}; a call now is marked late.") if form.late
              else _("Due {deadline}; later calls are marked late.")).format(deadline=form.deadline_text)]
    if form.current is not None:
        lines.append(_("Your call this week so far: {call}.").format(call=_pair(form.current, cur)))
    if form.team:
        lines.append(_("Your reps' calls rolled up: {call} ({submitted} of {expected} submitted).").format(
            call=_pair(form.reps_rollup, cur), submitted=form.reps_submitted, expected=len(form.reps))
            if form.reps_rollup else _("Your reps' calls rolled up: none submitted yet this week."))
    s = form.system
    return Answer(kind="call", title=_("Your forecast call · {quarter}").format(quarter=form.quarter_label),
                  figures=[Figure(_("System commit"), s["commit"]), Figure(_("System best case"), s["best_case"]),
                           Figure(_("Closed won"), s["closed"]), Figure(_("Quota"), s["quota"])],
                  lines=lines, context=[ask.freshness()],
                  actions=[Action("forecast_call", _("Submit my call"), value=call_button_value(caller.rep_id),
                                  style="primary")])


def _submitted(line) -> str:
    """The table's short "when": the local time of this week's call (late marked), or who is still to call."""
    if line.call is None:
        return (_("reps {submitted}/{expected}").format(submitted=line.reps_submitted, expected=line.reps_expected)
                if line.reps_rollup is not None else _("not yet"))
    shown = moment_text(line.call.submitted_at.astimezone(line.caller.tz), day=False, zone=False)
    return _("{when} late").format(when=shown) if line.call.late else shown


def calls(ask: Ask) -> Answer:
    from scheduler.forecast_calls import callers_in, load_org, roll_up, sum_pairs, top_callers

    scope = ask.scope()
    cur = ask.settings.org_currency
    org = load_org(ask.conn.engine, ask.settings, ask.today)
    ids = callers_in(ask.conn, org, scope)
    if not ids:
        return Answer(kind="info", title=_("Forecast calls · {scope}").format(scope=scope.label),
                      lines=[_("Nobody in {scope} has a quota in {quarter}, so there are no calls.").format(
                          scope=scope.label, quarter=org.quarter.label)],
                      context=[org.quarter.label, ask.freshness()])
    shown = ids[:ROWS_SHOWN]
    rollup = roll_up(ask.conn.engine, ask.settings, org, ids, ask.now, figures_for=set(shown))
    rows = []
    for rep_id in shown:
        line = rollup.lines[rep_id]
        eff, s = line.effective, line.system
        rows.append([line.caller.name,
                     money_exact(eff[0], cur) if eff else "—", money_exact(eff[1], cur) if eff else "—",
                     money_exact(s["commit"], cur), money_exact(s["best_case"], cur), money_exact(s["quota"], cur),
                     _submitted(line)])
    table = Table([Column(_("person")), Column(_("call")), Column(_("call best")), Column(_("system")),
                   Column(_("sys best")), Column(_("quota")), Column(_("called"))], rows, total_rows=len(ids))
    total = sum_pairs(rollup.lines[i].effective for i in top_callers(org, ids))
    system = ask.metric("forecast", org.quarter, scope).rows[0]
    figures = [Figure(label, money_exact(value, cur), "text") for label, value in (
        (_("Calls: commit"), total[0] if total else None), (_("Calls: best case"), total[1] if total else None),
        (_("System commit"), system["commit"]), (_("System best case"), system["best_case"]),
        (_("Quota"), system["quota"]))]
    lines = []
    for rep_id in shown:
        line = rollup.lines[rep_id]
        if line.call is not None and line.call.scope == "tree":
            sentence = (_("Team call for {name}'s team (overrides the reps' roll-up), set by {who} on {when}, late: "
                          "{call}.") if line.call.late else
                        _("Team call for {name}'s team (overrides the reps' roll-up), set by {who} on {when}: "
                          "{call}."))
            lines.append(sentence.format(name=line.caller.name,
                                         who=line.call.submitted_by_name or _("someone who left"),
                                         when=_when(line.call.submitted_at, ask), call=_pair(line.effective, cur)))
    root = rollup.lines.get(scope.rep_id) if scope.kind in ("rep", "tree") else None
    if root is not None and root.caller.role == "manager":
        lines.append(_("Reps' calls rolled up: {call} ({submitted} of {expected} submitted).").format(
            call=_pair(root.reps_rollup, cur), submitted=root.reps_submitted, expected=root.reps_expected)
            if root.reps_rollup else _("Reps' calls rolled up: none submitted yet this week."))
    missing = rollup.missing(ids)
    deadline = rollup.lines[ids[0]].week.deadline_text()
    if missing:
        names = ", ".join(c.name for c in missing[:ROWS_SHOWN])
        if len(missing) > ROWS_SHOWN:
            names = _("{names} and {count} more").format(names=names, count=f"{len(missing) - ROWS_SHOWN:,}")
        lines.append(_("Not submitted this week ({missing} of {total}): {names}.").format(
            missing=len(missing), total=len(ids), names=names))
    else:
        lines.append(_("Everyone has submitted this week ({count} of {count}).").format(count=len(ids)))
    if scope.kind == "rep":
        lines += _history_lines(ask, scope.rep_id, org.quarter, cur)
    return Answer(kind="metric", title=_("Forecast calls · {scope}").format(scope=scope.label), figures=figures,
                  table=table, lines=lines,
                  context=[_("{quarter} · this week's calls are due {deadline}").format(
                      quarter=org.quarter.label, deadline=deadline), scope.label,
                           ask.freshness()])


def _history_lines(ask: Ask, rep_id: int, quarter, cur: str) -> list[str]:
    from scheduler.forecast_calls import history

    past = history(ask.conn, rep_id, quarter)
    if not past:
        return []
    lines = [_("Every call this quarter ({count}), newest first:").format(count=len(past))]
    for c in reversed(past[-ROWS_SHOWN:]):
        note = f" — {c.note}" if c.note else ""
        late = " · " + _("late") if c.late else ""
        lines.append(f"• {_when(c.submitted_at, ask)}: {_pair((c.commit, c.best_case), cur)}{late}{note}")
    return lines

