"""`/sales call` and `/sales calls [who]`: forecast calls (DESIGN §4a).

`call` answers with the asker's system figures, deadline and a "Submit my call" button (the slash command opens
the modal straight away; the button does it from a DM or a mention). `calls` shows, for a scope the asker may
see, each caller's call this week beside the system's roll-up and quota, the total of the calls, and who has not
submitted. Scope permissions are the metrics layer's: a rep sees only their own call, a manager their tree.
"""

from __future__ import annotations

from datetime import datetime

from assistant.answers import Action, Answer, Column, Figure, Table
from assistant.ask import Ask, viewer_zone
from render.calls import call_button_value
from render.format import money_exact

ROWS_SHOWN = 40


def _when(at: datetime, ask: Ask) -> str:
    local = at.astimezone(viewer_zone(ask.viewer, ask.settings))
    return f"{local:%a %b %-d, %H:%M} {local.tzname()}"


def _pair(pair, currency: str) -> str:
    return f"commit {money_exact(pair[0], currency)} · best case {money_exact(pair[1], currency)}"


def call(ask: Ask) -> Answer:
    from scheduler.forecast_calls import call_form, load_org, no_quota

    org = load_org(ask.conn.engine, ask.settings, ask.today)
    caller = org.callers.get(ask.viewer.rep_id)
    if caller is None:
        return Answer(kind="info", title="Forecast call", lines=[no_quota(org.quarter.label)],
                      context=[ask.freshness()])
    form = call_form(ask.conn.engine, ask.settings, org, caller, ask.now)
    cur = ask.settings.org_currency
    lines = [("The deadline was " if form.late else "Due ") + form.deadline_text
             + ("; a call now is marked late." if form.late else "; later calls are marked late.")]
    if form.current is not None:
        lines.append("Your call this week so far: " + _pair(form.current, cur) + ".")
    if form.team:
        lines.append("Your reps' calls rolled up: " + (_pair(form.reps_rollup, cur) + f" ({form.reps_submitted} of "
                                                        f"{len(form.reps)} submitted)." if form.reps_rollup
                                                        else "none submitted yet this week."))
    s = form.system
    return Answer(kind="call", title=f"Your forecast call · {form.quarter_label}",
                  figures=[Figure("System commit", s["commit"]), Figure("System best case", s["best_case"]),
                           Figure("Closed won", s["closed"]), Figure("Quota", s["quota"])],
                  lines=lines, context=[ask.freshness()],
                  actions=[Action("forecast_call", "Submit my call", value=call_button_value(caller.rep_id),
                                  style="primary")])


def _submitted(line) -> str:
    """The table's short "when": the local time of this week's call (late marked), or who is still to call."""
    if line.call is None:
        return f"reps {line.reps_submitted}/{line.reps_expected}" if line.reps_rollup is not None else "not yet"
    local = line.call.submitted_at.astimezone(line.caller.tz)
    return f"{local:%a %H:%M}" + (" late" if line.call.late else "")


def calls(ask: Ask) -> Answer:
    from scheduler.forecast_calls import callers_in, load_org, roll_up, sum_pairs, top_callers

    scope = ask.scope()
    cur = ask.settings.org_currency
    org = load_org(ask.conn.engine, ask.settings, ask.today)
    ids = callers_in(ask.conn, org, scope)
    if not ids:
        return Answer(kind="info", title=f"Forecast calls · {scope.label}",
                      lines=[f"Nobody in {scope.label} has a quota in {org.quarter.label}, so there are no calls."],
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
    table = Table([Column("person"), Column("call"), Column("call best"), Column("system"), Column("sys best"),
                   Column("quota"), Column("called")], rows, total_rows=len(ids))
    total = sum_pairs(rollup.lines[i].effective for i in top_callers(org, ids))
    system = ask.metric("forecast", org.quarter, scope).rows[0]
    figures = [Figure(label, money_exact(value, cur), "text") for label, value in (
        ("Calls: commit", total[0] if total else None), ("Calls: best case", total[1] if total else None),
        ("System commit", system["commit"]), ("System best case", system["best_case"]), ("Quota", system["quota"]))]
    lines = []
    for rep_id in shown:
        line = rollup.lines[rep_id]
        if line.call is not None and line.call.scope == "tree":
            lines.append(f"Team call for {line.caller.name}'s team (overrides the reps' roll-up), set by "
                         f"{line.call.submitted_by_name or 'someone who left'} on {_when(line.call.submitted_at, ask)}"
                         f"{', late' if line.call.late else ''}: {_pair(line.effective, cur)}.")
    root = rollup.lines.get(scope.rep_id) if scope.kind in ("rep", "tree") else None
    if root is not None and root.caller.role == "manager":
        lines.append("Reps' calls rolled up: " + (f"{_pair(root.reps_rollup, cur)} ({root.reps_submitted} of "
                                                   f"{root.reps_expected} submitted)." if root.reps_rollup
                                                   else "none submitted yet this week."))
    missing = rollup.missing(ids)
    deadline = rollup.lines[ids[0]].week.deadline_text()
    if missing:
        lines.append(f"Not submitted this week ({len(missing)} of {len(ids)}): "
                     + ", ".join(c.name for c in missing[:ROWS_SHOWN])
                     + (f" and {len(missing) - ROWS_SHOWN:,} more" if len(missing) > ROWS_SHOWN else "") + ".")
    else:
        lines.append(f"Everyone has submitted this week ({len(ids)} of {len(ids)}).")
    if scope.kind == "rep":
        lines += _history_lines(ask, scope.rep_id, org.quarter, cur)
    return Answer(kind="metric", title=f"Forecast calls · {scope.label}", figures=figures, table=table, lines=lines,
                  context=[f"{org.quarter.label} · this week's calls are due {deadline}", scope.label,
                           ask.freshness()])


def _history_lines(ask: Ask, rep_id: int, quarter, cur: str) -> list[str]:
    from scheduler.forecast_calls import history

    past = history(ask.conn, rep_id, quarter)
    if not past:
        return []
    lines = [f"Every call this quarter ({len(past)}), newest first:"]
    for c in reversed(past[-ROWS_SHOWN:]):
        note = f" — {c.note}" if c.note else ""
        late = " · late" if c.late else ""
        lines.append(f"• {_when(c.submitted_at, ask)}: {_pair((c.commit, c.best_case), cur)}{late}{note}")
    return lines

