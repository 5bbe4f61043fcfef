"""Weekly forecast snapshots (DESIGN §4a): per rep and per manager, the quarter's figures as of each week.

A week's snapshot is taken as of its Monday 06:00 UTC (`week_moment`), whenever the job or the backfill actually
runs: the figures are rebuilt from `opportunity_history` at that instant (metrics.asof), so a late job, a
backfilled past week and an as-of question about that Monday all say the same. Per person and for the current
and the next fiscal quarter of that moment: closed won, commit roll-up (closed + commit), best-case roll-up
(commit + best case), open pipeline, weighted pipeline and quota, as the `closed_won`, `forecast`, `pipeline`,
`weighted_pipeline` and `quota` metrics define them; and the counts of open, won and lost deals and the open
amount forecast as pipeline (the trends of `pipeline`, `win_rate` and `forecast` read them). A rep's row is their
own deals; a manager's (or an exec's) is their tree as it is today.

One statement per week reads every deal's state and sums by owner and quarter; managers are rolled up in Python
from those sums. Quotas do not move with the moment: one query per quarter. Rows are inserted when missing and
never overwritten, so running the job twice in a week, or the backfill over weeks the job already took, stores
nothing twice; a row stored before the counts were kept (migration 0011) gets only its empty counts filled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Connection, Engine, and_, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite

from db.schema import bot_forecast_snapshots as snaps
from db.schema import quotas, reps
from metrics import dialect as hooks
from metrics.asof import as_of_query
from metrics.compile import END, START
from metrics.model import DEAL_MEASURES, Ctx, as_decimal, o, s
from metrics.periods import Period, fiscal_quarter_of, period_containing
from metrics.scopes import Scope

CENT = Decimal("0.01")
SNAPSHOT_WEEKDAY, SNAPSHOT_HOUR = 0, 6  # Monday 06:00 UTC
MEASURES = ("won_amount", "commit_amount", "best_case_amount", "open_amount", "weighted_amount",
            "pipeline_category_amount", "open_count", "won_count", "lost_count")
COUNTS = ("open_count", "won_count", "lost_count")
FIGURES = ("closed_won", "commit_amount", "best_case_amount", "pipeline_amount", "weighted_amount", "quota",
           "pipeline_category_amount", *COUNTS)
CALLER_ROLES = ("rep", "manager", "exec")
DEFAULT_BACKFILL_QUARTERS = 8


def week_moment(now: datetime) -> datetime:
    """The latest Monday 06:00 UTC at or before `now`: the instant the week's snapshot is as of."""
    now = now.astimezone(UTC)
    monday = now.date() - timedelta(days=(now.weekday() - SNAPSHOT_WEEKDAY) % 7)
    moment = datetime.combine(monday, time(SNAPSHOT_HOUR), tzinfo=UTC)
    return moment if moment <= now else moment - timedelta(weeks=1)


def snapshot_quarters(moment: datetime, tz, fiscal_start_month: int = 1) -> tuple[Period, Period]:
    """The current fiscal quarter where the org is at `moment`, and the next one."""
    current = period_containing(moment.astimezone(tz).date(), "quarter", fiscal_start_month)
    return current, period_containing(current.end + timedelta(days=1), "quarter", fiscal_start_month)


def quarter_key(period: Period, fiscal_start_month: int) -> str:
    """The label the SQL quarter dimension gives a close date in `period` ('FY2026 Q4')."""
    fy, q = fiscal_quarter_of(period.start, fiscal_start_month)
    return f"FY{fy} Q{q}"


@lru_cache(maxsize=16)
def owner_quarter_statement(ctx: Ctx):
    """The snapshot measures of deals closing in [window_start, window_end], by owner and fiscal quarter."""
    quarter = hooks.fiscal_quarter_label(ctx.dialect, o.c.close_date, ctx.fiscal_start_month)
    cols = [o.c.owner_id.label("owner_id"), quarter.label("quarter"),
            *(DEAL_MEASURES[m].column(ctx).label(m) for m in MEASURES)]
    return (select(*cols).select_from(o.join(s, o.c.stage == s.c.name))
            .where(o.c.close_date.between(START, END))
            .group_by(o.c.owner_id, quarter))


def quota_by_rep(conn: Connection, period: Period) -> dict[int, Decimal]:
    """Each rep's quota for the period, prorated by overlapping days (as metrics.compile.quota_statement)."""
    d = conn.dialect.name
    overlap = hooks.days_between(d, hooks.least(d, quotas.c.period_end, END),
                                 hooks.greatest(d, quotas.c.period_start, START)) + 1
    length = hooks.days_between(d, quotas.c.period_end, quotas.c.period_start) + 1
    prorated = quotas.c.amount * overlap / cast(length, quotas.c.amount.type)
    query = (select(quotas.c.rep_id, hooks.money_total(d, func.sum(prorated)).label("quota"))
             .where(and_(quotas.c.period_start <= END, quotas.c.period_end >= START))
             .group_by(quotas.c.rep_id))
    rows = conn.execute(query, {"window_start": period.start, "window_end": period.end})
    return {r.rep_id: as_decimal(r.quota) for r in rows if r.quota is not None}


@dataclass(frozen=True)
class Person:
    id: int
    role: str
    manager_id: int | None

    @property
    def scope(self) -> str:
        return "rep" if self.role == "rep" else "tree"


def load_people(conn: Connection) -> dict[int, Person]:
    rows = conn.execute(select(reps.c.id, reps.c.role, reps.c.manager_id))
    return {r.id: Person(r.id, r.role, r.manager_id) for r in rows}


def tree_members(people: dict[int, Person]) -> dict[int, list[int]]:
    """Each person's tree today: themselves and everyone below them (a cycle in the data is cut, not looped)."""
    children: dict[int, list[int]] = defaultdict(list)
    for p in people.values():
        if p.manager_id is not None and p.manager_id in people:
            children[p.manager_id].append(p.id)
    out = {}
    for root in people:
        seen, stack = {root}, [root]
        while stack:
            for child in children[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        out[root] = sorted(seen)
    return out


def _quota_of(person: Person, members: list[int], people: dict[int, Person], quota: dict[int, Decimal]
              ) -> Decimal | None:
    """A rep's own quota; a tree's: the root's own row if any, else the sum over the reps (role rep) in it."""
    if person.scope == "rep" or person.id in quota:
        return quota.get(person.id)
    values = [quota[m] for m in members if people[m].role == "rep" and m in quota]
    return sum(values, Decimal(0)) if values else None


def week_figures(conn: Connection, moment: datetime, quarters: tuple[Period, ...], fiscal_start_month: int,
                 people: dict[int, Person], trees: dict[int, list[int]], quota_of: dict[date, dict[int, Decimal]]
                 ) -> list[dict]:
    """The snapshot rows of every person for `quarters` (adjacent, in order) as of `moment`: one statement."""
    ctx = Ctx(conn.dialect.name, fiscal_start_month)
    statement, values = as_of_query(conn, (owner_quarter_statement(ctx), {}), Scope("org", "org"), (moment,))
    values.update(window_start=quarters[0].start, window_end=quarters[-1].end,
                  rate_day=moment.date())  # an open deal's amount in the org currency at the rate of the week's day
    sums: dict[tuple[int, str], dict] = {}
    for row in conn.execute(statement, values).mappings():
        sums[(row["owner_id"], row["quarter"])] = {m: as_decimal(row[m] or 0) for m in MEASURES}
    out = []
    for quarter in quarters:
        key = quarter_key(quarter, fiscal_start_month)
        for person in people.values():
            if person.role not in CALLER_ROLES:
                continue
            members = [person.id] if person.scope == "rep" else trees[person.id]
            total = dict.fromkeys(MEASURES, Decimal(0))
            for member in members:
                for m, v in sums.get((member, key), {}).items():
                    total[m] += v
            quota = _quota_of(person, members, people, quota_of[quarter.start])
            commit = total["won_amount"] + total["commit_amount"]
            out.append({
                "rep_id": person.id, "scope": person.scope, "taken_at": moment,
                "week_of": moment.date(), "period_start": quarter.start, "period_end": quarter.end,
                "closed_won": _cents(total["won_amount"]), "commit_amount": _cents(commit),
                "best_case_amount": _cents(commit + total["best_case_amount"]),
                "pipeline_amount": _cents(total["open_amount"]),
                "weighted_amount": _cents(total["weighted_amount"]),
                "quota": None if quota is None else _cents(quota),
                "pipeline_category_amount": _cents(total["pipeline_category_amount"]),
                **{c: int(total[c]) for c in COUNTS},
            })
    return out


def _cents(value: Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _insert_missing(conn: Connection, rows: list[dict], source: str, now: datetime) -> int:
    """Insert the rows (all of one week) not stored yet (the unique week key decides), and fill the counts of
    stored rows that have none; returns how many rows were new."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(snaps)
    statement = insert.on_conflict_do_update(
        index_elements=[snaps.c.week_of, snaps.c.rep_id, snaps.c.scope, snaps.c.period_start],
        set_={c: insert.excluded[c] for c in (*COUNTS, "pipeline_category_amount")},
        where=snaps.c.open_count.is_(None))
    week = rows[0]["week_of"]
    before = _count(conn, week)
    conn.execute(statement, [{**r, "source": source, "created_at": now} for r in rows])
    return _count(conn, week) - before


def _count(conn: Connection, week: date) -> int:
    return conn.execute(select(func.count()).select_from(snaps).where(snaps.c.week_of == week)).scalar_one()


def weeks_stored(conn: Connection, since: date) -> set[date]:
    """The weeks stored in full: a week with a row lacking the counts is taken again (to fill them)."""
    incomplete = select(snaps.c.week_of).where(snaps.c.week_of >= since, snaps.c.open_count.is_(None))
    return set(conn.execute(select(snaps.c.week_of).where(snaps.c.week_of >= since, snaps.c.week_of.not_in(
        incomplete)).distinct()).scalars())


def take_snapshots(engine: Engine, moments: list[datetime], tz, fiscal_start_month: int, *, source: str,
                   now: datetime) -> dict:
    """Store the snapshots of each moment's week that are not stored yet; one transaction per week."""
    stored = weeks = 0
    with engine.connect() as conn:
        people = load_people(conn)
        done = weeks_stored(conn, min(moments).date()) if moments else set()
    trees = tree_members(people)
    quota_cache: dict[date, dict[int, Decimal]] = {}
    for moment in moments:
        if moment.date() in done:
            continue
        quarters = snapshot_quarters(moment, tz, fiscal_start_month)
        with engine.begin() as conn:
            for q in quarters:
                if q.start not in quota_cache:
                    quota_cache[q.start] = quota_by_rep(conn, q)
            rows = week_figures(conn, moment, quarters, fiscal_start_month, people, trees, quota_cache)
            stored += _insert_missing(conn, rows, source, now)
        weeks += 1
    return {"weeks": weeks, "rows": stored, "people": sum(1 for p in people.values() if p.role in CALLER_ROLES)}


def backfill_moments(now: datetime, tz, quarters: int, fiscal_start_month: int = 1) -> list[datetime]:
    """Every snapshot moment from the start of the fiscal quarter `quarters` back up to the latest one ≤ now."""
    if quarters < 1:
        raise ValueError("quarters must be at least 1")
    last = week_moment(now)
    start = period_containing(now.astimezone(tz).date(), "quarter", fiscal_start_month)
    for _ in range(quarters):
        start = start.previous()
    first = week_moment(datetime.combine(start.start, time(SNAPSHOT_HOUR), tzinfo=UTC))
    if first.date() < start.start:
        first += timedelta(weeks=1)
    out = []
    while first <= last:
        out.append(first)
        first += timedelta(weeks=1)
    return out
