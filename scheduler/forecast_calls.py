"""Forecast calls (DESIGN §4a): who calls, the week a call belongs to, storing every submission, and roll-ups.

Who calls: every active rep with a quota in the quarter (their own deals), and every active manager whose tree has
a quota (the metrics layer's rule: their own quota row, else the team's sum) — their call is for the team.

The week: a call week opens on FORECAST_CALL_DAY (00:00 local, the reminder goes out at FORECAST_CALL_TIME) and
its deadline is the next FORECAST_CALL_DEADLINE (default Tuesday 17:00) in the caller's own time zone; a
submission after the deadline and before the next call day is kept, marked late.

Every submission is a new `bot_forecast_calls` row, never updated: a person's call for the week is their latest
row of that week. A manager's own call is their call for the team and overrides the roll-up of their reps'
calls; the row keeps who set it and when.

Roll-up: a person's *effective* call is their own call of the week, else (a manager) the sum of their direct
reports' effective calls, else none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select

from config import Settings
from db.schema import bot_forecast_calls as calls_t
from db.schema import quotas, reps
from errors import UserError
from i18n import _
from i18n.amounts import read_number
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import Scope
from render.calls import CallForm, RepCall
from render.format import moment_text
from scheduler.digest_content import quarter_of
from scheduler.recipients import recipients

CALLER_ROLES = ("rep", "manager")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000000")
# An amount as people type it: a currency sign or code before or after, digits with marks, a unit word.
_CURRENCY = r"(?:\$|€|£|rp\.?|usd|eur|idr|gbp)"
_UNIT = r"k|m|rb|ribu|jt|juta|mila|mln|mio"
_AMOUNT = re.compile(rf"^{_CURRENCY}?\s*(?P<number>\d[\d.,]*)\s*(?P<unit>{_UNIT})?\s*{_CURRENCY}?$")
UNITS = {"k": 1000, "rb": 1000, "ribu": 1000, "mila": 1000, "m": 1000000, "jt": 1000000, "juta": 1000000,
         "mln": 1000000, "mio": 1000000}


@dataclass(frozen=True)
class CallWeek:
    week_of: date  # the local date of the call day that opened this week
    opens_at: datetime  # UTC: the reminder instant
    deadline: datetime  # UTC
    tz: ZoneInfo

    def deadline_text(self) -> str:
        return moment_text(self.deadline.astimezone(self.tz))


def call_week(settings: Settings, tz: ZoneInfo, now: datetime) -> CallWeek:
    """The call week `now` falls in, for someone in `tz` (DST-correct: local times are combined, then converted)."""
    local = now.astimezone(tz).date()
    week_of = local - timedelta(days=(local.weekday() - settings.forecast_call_day) % 7)
    offset = (settings.forecast_call_deadline_day - settings.forecast_call_day) % 7
    if offset == 0 and settings.forecast_call_deadline_time <= settings.forecast_call_time:
        offset = 7
    opens = datetime.combine(week_of, settings.forecast_call_time, tzinfo=tz).astimezone(UTC)
    deadline = datetime.combine(week_of + timedelta(days=offset), settings.forecast_call_deadline_time,
                                tzinfo=tz).astimezone(UTC)
    return CallWeek(week_of, opens, deadline, tz)


def parse_amount(text: str | None) -> Decimal:
    """An amount typed the asker's way → Decimal to the cent; anything unclear a UserError, never a guess.

    `5000`, `$12,500`, `12.5k`, `1.2m` in English; `125.000`, `1.250,50`, `€ 2,5k`, `1,2 mln` in Italian;
    `Rp125.000`, `1,5 jt`, `500 rb` in Indonesian. A separator followed by one or two digits is the decimal mark
    whatever the language (so the form's own `125000.00` reads everywhere); one followed by three digits is read
    the asker's way, and refused when that would be a decimal mark (`125.000` in English, `125,000` in Italian:
    125 or 125,000?)."""
    raw = (text or "").strip().lower().replace("\u00a0", " ").replace("\u202f", " ")
    m = _AMOUNT.match(raw)
    if not m:
        raise UserError(_("Enter an amount such as 125000, 125,000 or 125k."))
    value = read_number(m.group("number"), raw) * UNITS.get(m.group("unit") or "", 1)
    if value != value.quantize(CENT):
        raise UserError(_("Amounts go to the cent at most."))
    if value >= MAX_AMOUNT:
        raise UserError(_("That amount is too large."))
    return value.quantize(CENT)


# ---------------------------------------------------------------------------------------------------------------
# who calls


@dataclass(frozen=True)
class Caller:
    rep_id: int
    name: str
    role: str
    manager_id: int | None
    tz: ZoneInfo
    slack_user_id: str | None
    email: str | None
    language: str = "en"  # the language their reminder is written in

    @property
    def call_scope(self) -> str:
        return "tree" if self.role == "manager" else "rep"

    @property
    def scope(self) -> Scope:
        if self.role == "manager":
            return Scope("tree", f"{self.name}'s team", rep_id=self.rep_id)
        return Scope("rep", self.name, rep_id=self.rep_id)


@dataclass
class Org:
    """The callers of one quarter and the reporting lines between them."""

    quarter: Period
    callers: dict[int, Caller]
    children: dict[int | None, list[int]]  # manager id → direct reports (all active people, callers or not)
    managers: dict[int, int | None]  # every active person → their manager

    def caller_children(self, rep_id: int) -> list[Caller]:
        """The callers reporting to `rep_id`, looking through people in between who do not call."""
        out, todo = [], list(self.children.get(rep_id, []))
        while todo:
            kid = todo.pop(0)
            if kid in self.callers:
                out.append(self.callers[kid])
            else:
                todo.extend(self.children.get(kid, []))
        return sorted(out, key=lambda c: c.name.lower())

    def below(self, rep_id: int) -> list[Caller]:
        """Every caller under `rep_id` (not `rep_id` itself)."""
        out, todo = [], list(self.children.get(rep_id, []))
        while todo:
            kid = todo.pop()
            if kid in self.callers:
                out.append(self.callers[kid])
            todo.extend(self.children.get(kid, []))
        return sorted(out, key=lambda c: c.name.lower())


def load_org(engine: Engine, settings: Settings, today: date, rep_ids: set[int] | None = None) -> Org:
    """Callers of the quarter containing `today` (optionally only those in `rep_ids`)."""
    quarter = quarter_of(today, settings.fiscal_year_start_month)
    with engine.connect() as conn:
        people = conn.execute(select(reps.c.id, reps.c.role, reps.c.manager_id)
                              .where(reps.c.active.is_(True))).all()
        with_quota = {r for (r,) in conn.execute(
            select(quotas.c.rep_id).distinct().where(quotas.c.period_start <= quarter.end,
                                                     quotas.c.period_end >= quarter.start, quotas.c.amount > 0))}
    children: dict[int | None, list[int]] = defaultdict(list)
    roles = {}
    for p in people:
        children[p.manager_id].append(p.id)
        roles[p.id] = p.role

    def tree_has_quota(rep_id: int) -> bool:
        todo, seen = [rep_id], set()
        while todo:
            cur = todo.pop()
            if cur in with_quota:
                return True
            if cur not in seen:
                seen.add(cur)
                todo.extend(children.get(cur, []))
        return False

    ids = {p.id for p in people if (p.role == "rep" and p.id in with_quota)
           or (p.role == "manager" and tree_has_quota(p.id))}
    if rep_ids is not None:
        ids &= rep_ids
    found = recipients(engine, settings.default_timezone, roles=CALLER_ROLES, rep_ids=ids,
                       default_language=settings.default_locale) if ids else []
    managers = {p.id: p.manager_id for p in people}
    callers = {r.rep_id: Caller(r.rep_id, r.name, r.role, managers.get(r.rep_id), r.tz, r.slack_user_id, r.email,
                                 r.language)
               for r in found}
    return Org(quarter, callers, dict(children), managers)


# ---------------------------------------------------------------------------------------------------------------
# submissions


@dataclass(frozen=True)
class Call:
    id: int
    rep_id: int
    scope: str
    week_of: date
    commit: Decimal
    best_case: Decimal
    note: str | None
    system_commit: Decimal | None
    system_best_case: Decimal | None
    submitted_by: int | None
    submitted_by_name: str | None
    submitted_at: datetime
    late: bool


def record_call(engine: Engine, settings: Settings, caller: Caller, quarter: Period, *, commit: Decimal,
                best_case: Decimal, note: str | None, system: dict, submitted_by: int, now: datetime) -> Call:
    """Store one submission (a new row, always) and return it, with `late` set against this week's deadline."""
    week = call_week(settings, caller.tz, now)
    values = {"rep_id": caller.rep_id, "scope": caller.call_scope, "period_start": quarter.start,
              "period_end": quarter.end, "week_of": week.week_of, "commit_amount": commit,
              "best_case_amount": best_case, "note": note or None, "system_commit": system.get("commit"),
              "system_best_case": system.get("best_case"), "submitted_by": submitted_by, "submitted_at": now,
              "late": now > week.deadline}
    with engine.begin() as conn:
        new_id = conn.execute(insert(calls_t).returning(calls_t.c.id), values).scalar_one()
    return history(engine, caller.rep_id, quarter, only_id=new_id)[0]


def history(engine_or_conn, rep_id: int, quarter: Period, only_id: int | None = None) -> list[Call]:
    """Every submission of `rep_id` for the quarter, oldest first."""
    return _calls(engine_or_conn, [rep_id], quarter, only_id).get(rep_id, [])


def _calls(engine_or_conn, rep_ids: list[int], quarter: Period, only_id: int | None = None
           ) -> dict[int, list[Call]]:
    by = reps.alias("by")
    query = (select(calls_t, by.c.name.label("by_name"))
             .select_from(calls_t.outerjoin(by, by.c.id == calls_t.c.submitted_by))
             .where(calls_t.c.rep_id.in_(rep_ids), calls_t.c.period_start == quarter.start)
             .order_by(calls_t.c.submitted_at, calls_t.c.id))
    if only_id is not None:
        query = query.where(calls_t.c.id == only_id)
    if isinstance(engine_or_conn, Connection):
        rows = engine_or_conn.execute(query).all()
    else:
        with engine_or_conn.connect() as conn:
            rows = conn.execute(query).all()
    out: dict[int, list[Call]] = defaultdict(list)
    for r in rows:
        out[r.rep_id].append(Call(r.id, r.rep_id, r.scope, r.week_of, Decimal(r.commit_amount),
                                  Decimal(r.best_case_amount), r.note, r.system_commit, r.system_best_case,
                                  r.submitted_by, r.by_name, r.submitted_at, bool(r.late)))
    return out


# ---------------------------------------------------------------------------------------------------------------
# roll-ups


@dataclass
class CallLine:
    """One caller this week: their call (if any), the system's roll-up for their scope, and their quota."""

    caller: Caller
    week: CallWeek
    system: dict  # closed, commit, best_case, quota
    call: Call | None
    effective: tuple[Decimal, Decimal] | None = None  # (commit, best case): own call, else the reps' roll-up
    reps_rollup: tuple[Decimal, Decimal] | None = None  # managers: Σ direct reports' effective calls
    reps_submitted: int = 0
    reps_expected: int = 0


@dataclass
class RollUp:
    org: Org
    lines: dict[int, CallLine] = field(default_factory=dict)

    def missing(self, ids: list[int] | None = None) -> list[Caller]:
        chosen = self.lines.values() if ids is None else [self.lines[i] for i in ids if i in self.lines]
        return sorted((line.caller for line in chosen if line.call is None), key=lambda c: c.name.lower())


def system_figures(conn: Connection, caller: Caller, quarter: Period, today: date, settings: Settings) -> dict:
    row = evaluate(conn, "forecast", quarter, caller.scope, today=today,
                   fiscal_start_month=settings.fiscal_year_start_month).rows[0]
    return {k: row[k] for k in ("closed", "commit", "best_case", "quota")}


def roll_up(engine: Engine, settings: Settings, org: Org, ids: list[int], now: datetime, *,
            figures: bool = True, figures_for: set[int] | None = None) -> RollUp:
    """Lines for the callers `ids` and, for the roll-up, everyone below them. The system's figures are read for
    `figures_for` (default: `ids`); `figures=False` reads none (who has called is all a reminder needs)."""
    wanted: dict[int, Caller] = {}
    for rep_id in ids:
        if rep_id in org.callers and rep_id not in wanted:
            wanted[rep_id] = org.callers[rep_id]
            for below in org.below(rep_id):
                wanted[below.rep_id] = below
    with_figures = set() if not figures else set(ids) if figures_for is None else figures_for
    weeks = {c.rep_id: call_week(settings, c.tz, now) for c in wanted.values()}
    out = RollUp(org)
    with engine.connect() as conn:
        submitted = _calls(conn, list(wanted), org.quarter) if wanted else {}
        for rep_id, caller in wanted.items():
            this_week = [c for c in submitted.get(rep_id, []) if c.week_of == weeks[rep_id].week_of]
            system = {}
            if rep_id in with_figures:
                today = now.astimezone(caller.tz).date()
                system = system_figures(conn, caller, org.quarter, today, settings)
            out.lines[rep_id] = CallLine(caller, weeks[rep_id], system, this_week[-1] if this_week else None)
    done: set[int] = set()

    def effective(rep_id: int) -> tuple[Decimal, Decimal] | None:
        line = out.lines[rep_id]
        if rep_id in done:
            return line.effective
        done.add(rep_id)
        kids = [k for k in org.caller_children(rep_id) if k.rep_id in out.lines]
        sums = [e for e in (effective(k.rep_id) for k in kids) if e is not None]
        line.reps_expected, line.reps_submitted = len(kids), len(sums)
        line.reps_rollup = sum_pairs(sums)
        line.effective = (line.call.commit, line.call.best_case) if line.call is not None else line.reps_rollup
        return line.effective

    for rep_id in list(out.lines):
        effective(rep_id)
    return out


def callers_in(conn: Connection, org: Org, scope: Scope) -> list[int]:
    """The callers a scope covers, the scope's own root first (a manager's tree, a team label, the org)."""
    members = scope.member_ids(conn)
    ids = [i for i in org.callers if members is None or i in members]
    root = scope.rep_id if scope.kind in ("rep", "tree") else None
    return sorted(ids, key=lambda i: (i != root, org.callers[i].name.lower()))


def top_callers(org: Org, ids: list[int]) -> list[int]:
    """The callers in `ids` with no caller above them in `ids` (their effective calls add up to the whole)."""
    chosen = set(ids)
    tops = []
    for rep_id in ids:
        up, seen = org.managers.get(rep_id), set()
        while up is not None and up not in chosen and up not in seen:
            seen.add(up)
            up = org.managers.get(up)
        if up is None or up not in chosen:
            tops.append(rep_id)
    return tops


def sum_pairs(pairs) -> tuple[Decimal, Decimal] | None:
    got = [p for p in pairs if p is not None]
    if not got:
        return None
    return sum((p[0] for p in got), Decimal(0)), sum((p[1] for p in got), Decimal(0))


def no_quota(quarter_label: str) -> str:
    return _("Forecast calls are for reps and managers with a quota in {quarter}, and you have none, so there is "
             "nothing to call. `/sales calls` shows the roll-up you may see.").format(quarter=quarter_label)


def call_form(engine: Engine, settings: Settings, org: Org, caller: Caller, now: datetime) -> CallForm:
    """What the reminder and the modal show `caller` at `now`: figures fresh from the metrics layer."""
    rollup = roll_up(engine, settings, org, [caller.rep_id], now)
    line = rollup.lines[caller.rep_id]
    team = caller.role == "manager"
    reps = ()
    if team:
        reps = tuple(RepCall(k.name, *(rollup.lines[k.rep_id].effective or (None, None)))
                     for k in org.caller_children(caller.rep_id))
    return CallForm(caller.rep_id, caller.name, team, org.quarter.label, org.quarter.start, line.week.deadline_text(),
                    now > line.week.deadline, line.system,
                    current=(line.call.commit, line.call.best_case) if line.call else None,
                    reps_rollup=line.reps_rollup, reps_submitted=line.reps_submitted, reps=reps,
                    currency=settings.org_currency)
