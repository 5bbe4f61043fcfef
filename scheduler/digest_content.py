"""What a digest says: one `Answer` per digest, every figure from the metrics layer, rendered by render/blocks.

Morning digest (a manager, their whole tree):
    header   "Morning digest · Max Manager's team · Tue, Mar 10"
    fields   Attainment · Pace · Closed won · Quota · Gap to quota · Coverage      (metrics: attainment, coverage)
    lines    Attainment vs pace (ahead / behind by N points)
             What changed since your last digest: new, advanced, slipped, pushed out of the quarter, won, lost
                                                                             (metrics.changes.changes_summary)
             Closing this week: the open deals with a close date this week      (metrics.deals.open_deals_closing)
             Stalled deals per rep: deals and reasons per rep                   (metrics.stalled.stalled_deals)
             Escalated alerts                                      (scheduler.alerts.escalated_alerts, if present)
             Coaching (Mondays): at most three reps, each with their bottleneck stage against the team's median
                                                                             (metrics.scorecard.coaching)
    context  the quarter, the scope, data freshness, how to change the digest
    chart    closed won vs pace through the quarter (attainment_pace PNG, uploaded after the message)

Weekly exec digest (an exec, the whole org):
    fields   Attainment · Pace · Closed won · Quota · Commit · Best case · Pipeline · Gap to quota
    lines    Forecast vs quota; roll-ups by team; the leaderboard (top 10); what changed since last week
    chart    forecast vs quota

One message stays far inside Block Kit's limits (about six blocks; lists are cut with "and N more").

Building many digests at once (a tick with many managers due, `digest --all`, the benchmark) shares the
expensive org-wide work: the stalled-deal rules run once per local date for the whole org and are split per
rep, and the "changes" flags are totalled per deal owner once per (since, quarter) and summed per tree. Both give
exactly the figures of the scoped calls (tests/test_digest_content.py checks it).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from assistant.service import freshness_line
from config import Settings
from i18n import N_, _, ngettext, use_locale
from metrics.accuracy_trail import trailing_accuracy, within_line
from metrics.cache import ResultCache
from metrics.changes import KINDS, changes_by_owner, changes_summary
from metrics.currency import Conversion
from metrics.deals import open_deals_closing
from metrics.evaluate import evaluate
from metrics.periods import Period, fiscal_quarter_of, parse_period, quarter_label
from metrics.scopes import Scope, Viewer, default_scope
from metrics.scorecard import coaching, coaching_period, next_stages
from render.answers import Answer, ChartSpec, Figure
from render.blocks import answer_to_message
from render.format import day_heading, day_text, first_weekday, moment_text, money, money_exact, percent
from render.reasons import reason_text

log = logging.getLogger(__name__)

DIGEST_CHANGE_KINDS = ("new", "advanced", "slipped", "pushed_out", "won", "lost")
CLOSING_LIMIT = 8
STALLED_REPS_LIMIT = 10
ESCALATIONS_LIMIT = 10
TEAMS_LIMIT = 12
LEADERBOARD_LIMIT = 10
COACHING_WEEKDAY = 0  # Monday, the manager's own
SETTINGS_HINT = N_("Change it: `/sales digest time 07:30` · `pause 5d` · `off` · `preview`")


@dataclass(frozen=True)
class Person:
    rep_id: int
    name: str
    email: str | None
    role: str
    tz: ZoneInfo
    language: str = "en"  # the digest is written in it (scheduler.recipients: setting → Slack locale → default)

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.rep_id, self.name, self.email, self.role, True, self.tz.key)


@dataclass
class Digest:
    kind: str  # digest | exec_digest
    person: Person
    local_date: date
    since: datetime
    answer: Answer
    chart: ChartSpec | None
    figures: dict = field(default_factory=dict)  # the raw figures (for --json and tests)
    crm_url_template: str | None = None

    @cached_property
    def message(self) -> dict:
        """The Slack payload {"text", "blocks"} (rendered once, in the person's language)."""
        with use_locale(self.person.language):
            return answer_to_message(self.answer, crm_url_template=self.crm_url_template)

    @property
    def chart_filename(self) -> str | None:
        return f"{self.chart.kind}-{self.local_date.isoformat()}.png" if self.chart else None


@dataclass(frozen=True)
class StalledRep:
    rep_id: int | None
    name: str
    deals: int
    amount: Decimal
    reasons: dict[str, int]  # rule title → findings


def quarter_of(today: date, fiscal_start_month: int) -> Period:
    """The fiscal quarter containing `today`, labelled "Q4 FY2026"."""
    period = parse_period("this quarter", today, fiscal_start_month)
    return replace(period, label=quarter_label(*fiscal_quarter_of(today, fiscal_start_month)))


def _get(item, *names):
    for name in names:
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if value not in (None, ""):
            return value
    return None


def floor_since(since: datetime) -> datetime:
    """`since` down to the 5-minute tick that produced the previous digest (so a run that sent many digests
    gives all of them the same `since`, and changes read while it ran are not lost)."""
    since = since.astimezone(UTC)
    return since.replace(minute=since.minute - since.minute % 5, second=0, microsecond=0)


class DigestBuilder:
    """Builds digests. One builder per run: it keeps the org-wide work shared by everyone's digest."""

    def __init__(self, engine, settings: Settings, *, cache: ResultCache | None = None, batch: bool = False):
        self.engine, self.settings = engine, settings
        self.cache = cache or ResultCache(0)
        self.batch = batch
        self._lock = threading.Lock()
        self._stalled: dict[date, dict[int | None, StalledRep]] = {}
        self._changes: dict[tuple, dict[int | None, dict[str, list]]] = {}
        self._stalled_locks: dict[date, threading.Lock] = defaultdict(threading.Lock)
        self._changes_locks: dict[tuple, threading.Lock] = defaultdict(threading.Lock)
        self.escalations_available: bool | None = None
        self._call_orgs: dict[date, object] = {}

    # ------------------------------------------------------------------------------------------------- shared

    def _metric(self, conn: Connection, name: str, period: Period, scope: Scope, today: date, by=()):
        return evaluate(conn, name, period, scope, by=by, today=today,
                        fiscal_start_month=self.settings.fiscal_year_start_month, cache=self.cache,
                        org_currency=self.settings.org_currency)

    def _money(self, conn: Connection) -> Conversion:
        """Deal amounts in the org currency, open deals at the rate of the org's today (shared by every digest)."""
        return Conversion.of(conn, self.settings.org_currency, datetime.now(self.settings.tz).date())

    def _tree_ids(self, conn: Connection, scope: Scope) -> set[int] | None:
        ids = scope.owner_ids()
        return None if ids is None else {r for (r,) in conn.execute(ids)}

    def stalled_by_rep(self, conn: Connection, scope: Scope, today: date, now: datetime) -> list[StalledRep]:
        from metrics.stalled import RULES, stalled_deals

        if self.batch:
            with self._stalled_locks[today]:
                per_rep = self._stalled.get(today)
                if per_rep is None:
                    findings = stalled_deals(conn, today=today, now=now, settings=self.settings, cache=self.cache)
                    per_rep = _group_stalled(findings, RULES)
                    self._stalled[today] = per_rep
            ids = self._tree_ids(conn, scope)
            rows = [r for k, r in per_rep.items() if ids is None or k in ids]
        else:
            findings = stalled_deals(conn, today=today, now=now, settings=self.settings,
                                     owner_ids=scope.member_ids(conn), cache=self.cache)
            rows = list(_group_stalled(findings, RULES).values())
        return sorted(rows, key=lambda r: (-r.deals, -r.amount, r.name))

    def changes(self, conn: Connection, scope: Scope, since: datetime, period: Period) -> dict[str, dict]:
        if not self.batch:
            return changes_summary(conn, since, period=period, scope=scope, money=self._money(conn))
        key = (since, period.start, period.end)
        with self._changes_locks[key]:
            per_owner = self._changes.get(key)
            if per_owner is None:
                per_owner = changes_by_owner(conn, since, period=period, money=self._money(conn))
                self._changes[key] = per_owner
        ids = self._tree_ids(conn, scope)
        out = {k: {"count": 0, "amount": Decimal("0.00")} for k in KINDS}
        for owner, kinds in per_owner.items():
            if ids is not None and owner not in ids:
                continue
            for k, totals in kinds.items():
                out[k]["count"] += totals["count"]
                out[k]["amount"] += totals["amount"]
        return out

    def escalations(self, conn: Connection, person: Person, now: datetime) -> list | None:
        """The manager's escalated alerts, [] when none, None when this version has no alert lifecycle."""
        try:
            from scheduler.alerts import escalated_alerts
        except ImportError:
            self.escalations_available = False
            return None
        self.escalations_available = True
        try:
            return list(escalated_alerts(conn, person.rep_id, now) or [])
        except Exception:  # noqa: BLE001 - a broken alert store must not stop the digest
            log.exception("escalated alerts for rep %s failed; digest sent without them", person.rep_id)
            return None

    def call_org(self, today: date):
        """The forecast-call org of `today`'s quarter, loaded once per quarter in batch mode."""
        from scheduler.forecast_calls import load_org

        if not self.batch:
            return load_org(self.engine, self.settings, today)
        with self._lock:
            key = quarter_of(today, self.settings.fiscal_year_start_month).start
            if key not in self._call_orgs:
                self._call_orgs[key] = load_org(self.engine, self.settings, today)
            return self._call_orgs[key]

    def missing_calls(self, person: Person, today: date, now: datetime) -> tuple[list[str], list[str] | None]:
        """The manager digest's line: who in their tree has not submitted this week's forecast call."""
        from scheduler.forecast_calls import roll_up

        org = self.call_org(today)
        ids = ([person.rep_id] if person.rep_id in org.callers else []) + [c.rep_id for c in org.below(person.rep_id)]
        if not ids:
            return [], None
        rollup = roll_up(self.engine, self.settings, org, ids, now, figures=False)
        missing = [c.name for c in rollup.missing(ids)]
        due = rollup.lines[ids[0]].week.deadline_text()
        done = len(ids) - len(missing)
        if not missing:
            return [_("*Forecast calls* this week (due {due}): {done} of {total} submitted.").format(
                due=due, done=done, total=len(ids))], []
        shown = ", ".join(missing[:STALLED_REPS_LIMIT])
        if len(missing) > STALLED_REPS_LIMIT:
            shown = _("{names} and {n} more").format(names=shown, n=f"{len(missing) - STALLED_REPS_LIMIT:,}")
        return [_("*Forecast calls* this week (due {due}): {done} of {total} submitted; missing: {names}.").format(
            due=due, done=done, total=len(ids), names=shown)], missing

    def calls_vs_system(self, person: Person, today: date, now: datetime, fc: dict) -> tuple[list[str], dict]:
        """The exec digest's lines: the calls (rolled up) vs the system's roll-up vs quota, for the org and for each
        caller at the top of it."""
        from scheduler.forecast_calls import roll_up, sum_pairs, top_callers

        org = self.call_org(today)
        tops = top_callers(org, list(org.callers))
        if not tops:
            return [], {}
        rollup = roll_up(self.engine, self.settings, org, tops, now)
        total = sum_pairs(rollup.lines[i].effective for i in tops)

        def m(value) -> str:
            return money_exact(value, self.settings.org_currency)

        def line(label: str, call, commit, best, quota) -> str:
            called = (_("calls {commit} commit · {best} best case").format(commit=m(call[0]), best=m(call[1]))
                      if call else _("no calls yet"))
            system = _("system {commit} commit · {best} best case").format(commit=m(commit), best=m(best))
            return f"• {label}: {called} | {system} | " + _("quota {quota}").format(quota=m(quota))

        lines = [_("*Forecast calls vs system vs quota*:"),
                 line(_("Org"), total, fc["commit"], fc["best_case"], fc["quota"])]
        tops = sorted(tops, key=lambda i: org.callers[i].name.lower())
        for rep_id in tops[:TEAMS_LIMIT]:
            ln = rollup.lines[rep_id]
            label = _("{name}'s team").format(name=ln.caller.name) if ln.caller.role == "manager" else ln.caller.name
            lines.append(line(label, ln.effective, ln.system["commit"], ln.system["best_case"], ln.system["quota"]))
        if len(tops) > TEAMS_LIMIT:
            lines.append(_and_more(len(tops) - TEAMS_LIMIT))
        figures = {"org": total, **{org.callers[i].name: rollup.lines[i].effective for i in tops}}
        return lines, figures

    # ------------------------------------------------------------------------------------------------- digests

    def build(self, person: Person, kind: str, local_date: date, now: datetime, since: datetime,
              since_last: bool = False) -> Digest:
        """`since_last`: `since` is when the previous digest went out (else the 24 h / 7 day default)."""
        with self.engine.connect() as conn, use_locale(person.language):
            if kind == "exec_digest":
                return self.exec_digest(conn, person, local_date, now, since, since_last)
            return self.manager_digest(conn, person, local_date, now, since, since_last)

    def manager_digest(self, conn: Connection, person: Person, today: date, now: datetime, since: datetime,
                       since_last: bool = False) -> Digest:
        sm = self.settings.fiscal_year_start_month
        scope = default_scope(person.viewer)
        quarter = quarter_of(today, sm)
        week = local_week(today, sm)
        att = self._metric(conn, "attainment", quarter, scope, today).rows[0]
        coverage = self._metric(conn, "coverage", quarter, scope, today).rows[0]["value"]
        changes = self.changes(conn, scope, since, quarter)
        closing, closing_total = open_deals_closing(conn, scope, week, CLOSING_LIMIT,
                                                    Conversion.of(conn, self.settings.org_currency, today))
        stalled = self.stalled_by_rep(conn, scope, today, now)
        escalations = self.escalations(conn, person, now)
        daily = self._metric(conn, "closed_won", quarter, scope, today, ("day",))

        quota, won = att["quota"], att["won_amount"]
        gap = None if quota is None else quota - (won or 0)
        lines = [_pace_line(att["value"], att["pace"], quota), ""]
        lines += _changes_lines(changes, since, person.tz, quarter, "digest" if since_last else None)
        lines.append("")
        span = {"start": day_text(week.start), "end": day_text(week.end)}
        lines.append(ngettext("*Closing this week* ({start} – {end}): {n} open deal",
                              "*Closing this week* ({start} – {end}): {n} open deals", closing_total).format(
                         n=f"{closing_total:,}", **span) if closing_total
                     else _("*Closing this week* ({start} – {end}): no open deals").format(**span))
        lines += [f"• {d.name} — {d.owner or _('no owner')} · {d.stage} · {money(d.amount)} · {_day(d.close_date)}"
                  for d in closing]
        if closing_total > len(closing):
            lines.append(_and_more(closing_total - len(closing)))
        lines.append("")
        total_stalled = sum(r.deals for r in stalled)
        lines.append(ngettext("*Stalled deals per rep*: {n} deal", "*Stalled deals per rep*: {n} deals",
                              total_stalled).format(n=f"{total_stalled:,}")
                     if stalled else _("*Stalled deals per rep*: none. Nice."))
        for r in stalled[:STALLED_REPS_LIMIT]:
            reasons = ", ".join(f"{n} × {_(title)}" for title, n in
                                sorted(r.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            deals = ngettext("{n} deal", "{n} deals", r.deals).format(n=f"{r.deals:,}")
            lines.append(f"• {r.name}: {deals} ({money(r.amount)}) — {reasons}")
        if len(stalled) > STALLED_REPS_LIMIT:
            rest = len(stalled) - STALLED_REPS_LIMIT
            lines.append(ngettext("_…and {n} more rep_", "_…and {n} more reps_", rest).format(n=f"{rest:,}"))
        if escalations is not None:
            lines.append("")
            lines += _escalation_lines(escalations)
        call_lines, missing_calls = self.missing_calls(person, today, now)
        if call_lines:
            lines += ["", *call_lines]
        coached = _coaching(conn, scope, today, sm) if today.weekday() == COACHING_WEEKDAY else []
        if coached:
            lines.append("")
            lines += [line for _, line in coached]

        title = _("Morning digest · {scope} · {day}").format(scope=scope.label, day=day_heading(today))
        answer = Answer(
            kind="digest", title=title, currency=self.settings.org_currency,
            figures=[Figure(_("Attainment"), att["value"], "ratio"), Figure(_("Pace"), att["pace"], "ratio"),
                     Figure(_("Closed won"), won), Figure(_("Quota"), quota), Figure(_("Gap to quota"), gap),
                     Figure(_("Coverage"), coverage, "multiple")],
            lines=lines,
            context=[_quarter_context(quarter), scope.label, freshness_line(conn, self.settings, now),
                     _(SETTINGS_HINT)],
            understood=None,
        )
        running, series = Decimal(0), []
        for r in daily.rows:
            running += r["value"] or 0
            series.append((r["day"], running))
        answer.chart = ChartSpec("attainment_pace", _("Closed won vs pace · {quarter}").format(quarter=quarter.label),
                                 series, target=quota,
                                 extra={"start": quarter.start, "end": quarter.end})
        figures = {
            "scope": scope.label, "period": quarter.to_dict(), "since": since.isoformat(),
            "attainment": att["value"], "pace": att["pace"], "closed_won": won, "quota": quota, "gap": gap,
            "coverage": coverage, "changes": {k: changes[k] for k in DIGEST_CHANGE_KINDS},
            "closing_this_week": closing_total, "closing_shown": [d.record for d in closing],
            "stalled_per_rep": {r.name: r.deals for r in stalled}, "stalled_deals": total_stalled,
            "escalations": None if escalations is None else len(escalations),
            "missing_calls": missing_calls,
            "coaching": [rep for rep, _ in coached[1:]],
        }
        return Digest("digest", person, today, since, answer, answer.chart, figures,
                      self.settings.crm_url_template or None)

    def exec_digest(self, conn: Connection, person: Person, today: date, now: datetime, since: datetime,
                    since_last: bool = False) -> Digest:
        sm = self.settings.fiscal_year_start_month
        scope = default_scope(person.viewer)
        quarter = quarter_of(today, sm)
        att = self._metric(conn, "attainment", quarter, scope, today).rows[0]
        fc = self._metric(conn, "forecast", quarter, scope, today).rows[0]
        teams = self._metric(conn, "attainment", quarter, scope, today, ("team",)).rows
        board = self._metric(conn, "attainment", quarter, scope, today, ("owner",)).rows
        changes = self.changes(conn, scope, since, quarter)

        quota, won = att["quota"], att["won_amount"]
        gap = None if quota is None else quota - (won or 0)
        lines = [_pace_line(att["value"], att["pace"], quota), ""]
        lines.append(_("*Forecast vs quota* ({quarter}):").format(quarter=quarter.label))
        for label, key in ((N_("Closed"), "closed"), (N_("Commit"), "commit"), (N_("Best case"), "best_case"),
                           (N_("Pipeline"), "pipeline")):
            if fc["quota"] and fc[key] is not None:
                lines.append(_("• {label}: {amount} ({share} of quota)").format(
                    label=_(label), amount=money(fc[key]), share=percent(fc[key] / fc["quota"])))
            else:
                lines.append(f"• {_(label)}: {money(fc[key])}")
        accuracy = within_line(trailing_accuracy(conn, scope, today, sm, cache=self.cache))
        if accuracy:
            lines.append(f"• {accuracy}")
        lines.append("")
        teams = sorted(teams, key=lambda r: (r["value"] is None, -(r["value"] or 0), str(r.get("team") or "")))
        lines.append(_("*By team*:"))
        for r in teams[:TEAMS_LIMIT]:
            lines.append(_("• {team}: {attainment} of {quota} quota · {won} closed won").format(
                team=r.get("team") or _("no team"), attainment=percent(r["value"]), quota=money(r["quota"]),
                won=money(r["won_amount"])))
        if len(teams) > TEAMS_LIMIT:
            rest = len(teams) - TEAMS_LIMIT
            lines.append(ngettext("_…and {n} more team_", "_…and {n} more teams_", rest).format(n=f"{rest:,}"))
        lines.append("")
        board = sorted(board, key=lambda r: (r["value"] is None, -(r["value"] or 0), -(r["won_amount"] or 0)))
        lines.append(_("*Leaderboard* (attainment, then closed won):"))
        for i, r in enumerate(board[:LEADERBOARD_LIMIT], 1):
            lines.append(f"{i}. {r['owner']}: {percent(r['value'])} · {money(r['won_amount'])}")
        lines.append("")
        call_lines, calls = self.calls_vs_system(person, today, now, fc)
        if call_lines:
            lines += [*call_lines, ""]
        lines += _changes_lines(changes, since, person.tz, quarter, "exec_digest" if since_last else None)

        week_start = local_week(today, sm).start
        answer = Answer(
            kind="digest", currency=self.settings.org_currency,
            title=_("Weekly digest · {scope} · week of {day}").format(
                scope=scope.label, day=day_text(week_start, weekday=False)),
            figures=[Figure(_("Attainment"), att["value"], "ratio"), Figure(_("Pace"), att["pace"], "ratio"),
                     Figure(_("Closed won"), won), Figure(_("Quota"), quota), Figure(_("Commit"), fc["commit"]),
                     Figure(_("Best case"), fc["best_case"]), Figure(_("Pipeline"), fc["pipeline"]),
                     Figure(_("Gap to quota"), gap)],
            lines=lines,
            context=[_quarter_context(quarter), scope.label, freshness_line(conn, self.settings, now),
                     _(SETTINGS_HINT)],
        )
        answer.chart = ChartSpec("forecast", _("Forecast vs quota · {quarter}").format(quarter=quarter.label),
                                 [(_("Closed"), fc["closed"]), (_("Commit"), fc["commit"]),
                                  (_("Best case"), fc["best_case"]), (_("Pipeline"), fc["pipeline"])],
                                 target=fc["quota"])
        figures = {
            "scope": scope.label, "period": quarter.to_dict(), "since": since.isoformat(),
            "attainment": att["value"], "pace": att["pace"], "closed_won": won, "quota": quota, "gap": gap,
            "forecast": {k: fc[k] for k in ("closed", "commit", "best_case", "pipeline", "quota")},
            "teams": {str(r.get("team")): r["value"] for r in teams},
            "leaderboard": [r["owner"] for r in board[:LEADERBOARD_LIMIT]],
            "calls": calls,
            "changes": {k: changes[k] for k in DIGEST_CHANGE_KINDS},
        }
        return Digest("exec_digest", person, today, since, answer, answer.chart, figures,
                      self.settings.crm_url_template or None)


# ---------------------------------------------------------------------------------------------------------------
# pieces


def _group_stalled(findings, rules: dict[str, str]) -> dict[int | None, StalledRep]:
    deals: dict[int | None, dict[int, Decimal]] = defaultdict(dict)
    reasons: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[int | None, str] = {}
    for f in findings:
        deals[f.owner_id][f.record_id] = f.amount or Decimal(0)
        reasons[f.owner_id][rules.get(f.rule, f.rule)] += 1
        names[f.owner_id] = f.owner or "no owner"
    return {k: StalledRep(k, names[k], len(d), sum(d.values(), Decimal(0)), dict(reasons[k])) for k, d in deals.items()}


def local_week(today: date, fiscal_start_month: int) -> Period:
    """The digest's "this week": the 7 days from the last first-day-of-week of the reader's language (CLDR's, via
    render.format.first_weekday: Monday for en, id and it), so it is the week `/sales … this week` means."""
    start = today - timedelta(days=(today.weekday() - first_weekday()) % 7)
    end = start + timedelta(days=6)
    return Period(start, end, _("this week"), "week", fiscal_start_month)


def _and_more(n: int) -> str:
    return _("_…and {n} more_").format(n=f"{n:,}")


def _quarter_context(quarter: Period) -> str:
    return f"{quarter.label} ({day_text(quarter.start, weekday=False)} – " \
           f"{day_text(quarter.end, weekday=False, year=True)})"


def _coaching(conn: Connection, scope: Scope, today: date, fiscal: int) -> list[tuple[str | None, str]]:
    """The weekly coaching section, (rep, line) pairs after a heading (rep None): at most three reps of the scope,
    each with the stage where their conversion falls furthest below the team's (metrics.scorecard.coaching);
    nothing when no rep has such a stage."""
    stuck = coaching(conn, scope, today, fiscal)
    if not stuck:
        return []
    following = next_stages(conn)
    head = _("*Coaching this week*: stage conversion over the last {days} days, against the median of your "
             "reps").format(days=coaching_period(today).days)
    return [(None, head), *((c.name, f"• {c.name} — {c.bottleneck_text(following)}") for c in stuck)]


def _pace_line(value, pace, quota) -> str:
    if quota is None or value is None:
        return _("*Attainment vs pace*: no quota is set for this quarter, so attainment cannot be computed.")
    points = ((value - (pace or 0)) * 100).quantize(Decimal("1"))
    n = abs(int(points))
    if points > 0:
        text = ngettext("*Attainment vs pace*: {attainment} of quota closed, {pace} expected by today — ahead of "
                        "pace by {n} point.",
                        "*Attainment vs pace*: {attainment} of quota closed, {pace} expected by today — ahead of "
                        "pace by {n} points.", n)
    elif points < 0:
        text = ngettext("*Attainment vs pace*: {attainment} of quota closed, {pace} expected by today — behind "
                        "pace by {n} point.",
                        "*Attainment vs pace*: {attainment} of quota closed, {pace} expected by today — behind "
                        "pace by {n} points.", n)
    else:
        text = _("*Attainment vs pace*: {attainment} of quota closed, {pace} expected by today — right on pace.")
    return text.format(attainment=percent(value), pace=percent(pace), n=n)


CHANGE_TITLES = {"new": N_("New"), "advanced": N_("Advanced a stage"), "slipped": N_("Slipped (close date later)"),
                 "won": N_("Won"), "lost": N_("Lost")}


def _changes_lines(changes: dict, since: datetime, tz: ZoneInfo, period: Period, last: str | None) -> list[str]:
    """`last`: the kind of the previous digest `since` is the send time of (None: `since` is a default)."""
    when = moment_text(since.astimezone(tz))
    if last == "exec_digest":
        head = _("*What changed since your last weekly digest* ({when}):")
    elif last:
        head = _("*What changed since your last digest* ({when}):")
    else:
        head = _("*What changed since {when}*:")
    lines = [head.format(when=when)]
    if not any(changes[k]["count"] for k in DIGEST_CHANGE_KINDS):
        return [*lines, _("• Nothing changed.")]
    for k in DIGEST_CHANGE_KINDS:
        c = changes[k]
        title = (_("Pushed out of {quarter}").format(quarter=period.label) if k == "pushed_out"
                 else _(CHANGE_TITLES[k]))
        if c["count"]:
            deals = ngettext("{n} deal", "{n} deals", c["count"]).format(n=f"{c['count']:,}")
            lines.append(f"• {title}: {deals} · {money(c['amount'])}")
        else:
            lines.append(_("• {what}: none").format(what=title))
    return lines


def _escalation_lines(items: list) -> list[str]:
    """scheduler.alerts.EscalatedAlert items (read by attribute name, so a dict or row works too)."""
    if not items:
        return [_("*Escalated alerts*: none.")]
    lines = [ngettext("*Escalated alerts*: {n} stalled-deal alert your reps have not acted on",
                      "*Escalated alerts*: {n} stalled-deal alerts your reps have not acted on",
                      len(items)).format(n=f"{len(items):,}")]
    for item in items[:ESCALATIONS_LIMIT]:
        name = _get(item, "deal_name", "opportunity_name", "record_name", "name", "record")
        owner = _get(item, "owner_name", "owner", "rep_name")
        reason = _get(item, "rule_title", "rule")
        detail = reason_text(_get(item, "reason"), _get(item, "detail"))
        amount = _get(item, "amount")
        ignored = _get(item, "days_ignored")
        head = f"{name or _('a deal')}" + (f" ({owner})" if owner else "")
        if amount is not None:
            head += f" · {money(amount)}"
        parts = [head]
        if reason or detail:
            parts.append(": ".join(str(x) for x in (_(reason) if reason else None, detail) if x))
        if ignored:
            parts.append(ngettext("ignored {n} day", "ignored {n} days", ignored).format(n=ignored))
        lines.append("• " + " — ".join(parts))
    if len(items) > ESCALATIONS_LIMIT:
        lines.append(_and_more(len(items) - ESCALATIONS_LIMIT))
    return lines


def _day(d: date | None) -> str:
    return day_text(d) if d else _("no close date")


def default_since(kind: str, now: datetime) -> datetime:
    return now - (timedelta(days=7) if kind == "exec_digest" else timedelta(days=1))
