"""Deal metrics as the data stood at past moments (DESIGN §4a "As of D"), rebuilt from `opportunity_history`.

A deal's state at a moment T is its last history row at or before T (by changed_at, then id: of two rows at the
same instant the later-written one wins). A deal created after T does not exist at T. A deal created at or before T
with no history row at or before T (a CRM export loaded without history) is taken as it stands now. Owner,
account, product and currency are the deal's current ones: history does not record them, and scopes apply to the
team as it is today. Amounts convert to the org currency as the data stood then: a closed deal at the rate valid
on its close date, an open one at the rate valid on the moment's day (not today's).

`deal_states(n)` is that state at n moments as one derived table, with the columns of `opportunities` that the
semantic model reads plus `as_of`: the history is read once, each row carrying the instant the next row of its
deal replaced it (a LEAD window), and a row is a deal's state at every moment in [changed_at, valid_to).
`as_of_statement` swaps it in for `opportunities` in a compiled metric query (the MetricFlow way: one statement).

Every reader counts only states whose close date is in the window [window_start, window_end] (a metric's WHERE; a
waterfall bucket needs the deal in the window at one of its moments), so `deal_states` leaves out the deals that
never had a close date in the window by the last moment: org-wide a quarter's deals are a fraction of the history.

With a usable history snapshot (metrics.history_snapshot) the LEAD window is already stored: `bot_deal_spans` holds
each history row with its `valid_to`, up to the snapshot's watermark. The deals with no history row after the
watermark are read from the spans (a metric's states from the close-date index alone: the org-wide as-of pipeline
at 1,000,000 deals in about 1 s instead of 3), the others from history as above, so an answer is never staler than
the history.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import (
    Connection,
    Date,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.schema import Column

from db.schema import bot_deal_spans, opportunity_history, reps
from db.types import UTCDateTime
from metrics.compile import END, START, scope_condition
from metrics.currency import RATE_DAY
from metrics.dialect import greatest, least
from metrics.history_snapshot import usable_watermark
from metrics.model import o
from metrics.scopes import Scope

# The deal's own columns an as-of state keeps (today's values), and the ones it takes from history.
CURRENT_COLUMNS = ("id", "owner_id", "account_id", "product", "currency", "created_at")
HISTORY_COLUMNS = ("stage", "amount", "close_date", "probability", "forecast_category")
WIDE_SHARE = 8
# The history id the snapshot's spans cover: deals with a history row after it are read from history.
SNAPSHOT_THROUGH = bindparam("snapshot_through", type_=Integer)


def moment_param(i: int) -> str:
    return f"as_of_{i}"


def moment_day_param(i: int) -> str:
    return f"as_of_day_{i}"


def wide_scope(conn: Connection, scope: Scope) -> bool:
    """A team or tree with more than 1/WIDE_SHARE of the org's people, on PostgreSQL (see deal_states)."""
    if conn.dialect.name != "postgresql" or scope.kind in ("org", "rep"):
        return False
    members = select(func.count()).select_from(reps).where(scope_condition(reps.c.id, scope.kind))
    everyone = select(func.count()).select_from(reps)
    n, total = conn.execute(select(members.scalar_subquery(), everyone.scalar_subquery()),
                            {"scope_rep": scope.rep_id, "scope_team": scope.team}).one()
    return n * WIDE_SHARE > total


def moment_params(moments: tuple[datetime, ...], through: int | None = None) -> dict:
    """The moments' bound values: each instant, and its day (as given: a date D's is D) for the exchange rate;
    and the snapshot's watermark (`through`, metrics.history_snapshot.usable_watermark) when the statement reads
    its spans."""
    moments = tuple(sorted(moments))  # moment k is the k-th earliest (deal_states counts on it)
    values = {moment_param(i): m for i, m in enumerate(moments)}
    values[SNAPSHOT_THROUGH.key] = -1 if through is None else through
    values.update({moment_day_param(i): m.date() for i, m in enumerate(moments)})
    return values


def _moments(dialect: str, n: int):
    """The n moments as a derived table: `at`, each a bound parameter, `k`, its position (0 = the first), and
    `day`, the day whose exchange rate converts an open deal as of that moment."""
    def one(i: int):
        value = bindparam(moment_param(i), type_=UTCDateTime)
        day = bindparam(moment_day_param(i), type_=Date)
        # PostgreSQL cannot type a bare parameter in a SELECT list; SQLite's CAST would turn the text into a number
        if dialect == "postgresql":
            value, day = cast(value, UTCDateTime), cast(day, Date)
        return select(value.label("at"), literal(i).label("k"), day.label("rate_day"))
    parts = [one(i) for i in range(n)]
    return (parts[0] if n == 1 else union_all(*parts)).subquery("moments")


def _bound_moments(dialect: str, n: int) -> list[ColumnElement]:
    """The n moments' bound values, typed: PostgreSQL then knows them when planning and estimates the history rows
    up to the last (from MAX over the moments it guessed a third of the table)."""
    values = [bindparam(moment_param(i), type_=UTCDateTime) for i in range(n)]
    return [cast(v, UTCDateTime) for v in values] if dialect == "postgresql" else values


def _last_moment(dialect: str, n: int) -> ColumnElement:
    values = _bound_moments(dialect, n)
    return values[0] if n == 1 else greatest(dialect, *values)


def _first_moment(dialect: str, n: int) -> ColumnElement:
    values = _bound_moments(dialect, n)
    return values[0] if n == 1 else least(dialect, *values)


def _owner_in_scope(dialect: str, scope_kind: str) -> ColumnElement | None:
    """The deal's owner is in the scope. On PostgreSQL a tree or team is `owner_id = ANY(ARRAY(…))`: the planner
    cannot estimate a recursive CTE (it guesses hundreds of reps for a team of a dozen, then reads the org's whole
    history), while an array of ids sends it to the (owner_id, close_date) index and the history index per deal."""
    if dialect != "postgresql" or scope_kind in ("org", "rep"):
        return scope_condition(o.c.owner_id, scope_kind)
    members = select(reps.c.id).where(scope_condition(reps.c.id, scope_kind)).scalar_subquery()
    return o.c.owner_id == any_(func.array(members))


def _history_rows(per_deal: bool, in_scope: ColumnElement | None, last, only: Select | None = None) -> Select:
    """The history rows up to the last moment, each with `valid_to`: when the next row of its deal replaced it.

    For a scope on PostgreSQL, the scope's deals first and each one's history through a LATERAL subquery: an
    index probe per deal (430 ms for a team of 25,000 deals at 1,000,000, where the planner's own choice, a scan
    of the whole history hashed against the deals, took 1.2 s). `only`: a SELECT of the only deals to read."""
    h = opportunity_history
    src = h
    deals = None
    if in_scope is not None and per_deal:
        deals = select(o.c.id).where(in_scope)
        deals = (deals if only is None else deals.where(o.c.id.in_(only))).subquery("scope_deals")
        src = (select(h.c.id, h.c.opportunity_id, h.c.changed_at, *(h.c[c] for c in HISTORY_COLUMNS))
               .where(h.c.opportunity_id == deals.c.id, h.c.changed_at <= last)
               .offset(0)  # a fence: without it the planner flattens the LATERAL back into a hash join
               .lateral("deal_history"))
    valid_to = func.lead(src.c.changed_at).over(partition_by=src.c.opportunity_id,
                                                 order_by=(src.c.changed_at, src.c.id))
    rows = select(src.c.opportunity_id, src.c.changed_at, valid_to.label("valid_to"),
                  *(src.c[c] for c in HISTORY_COLUMNS))
    if deals is not None:
        return rows.select_from(deals.join(src, true()))
    rows = rows.where(h.c.changed_at <= last)
    if only is not None:
        rows = rows.where(h.c.opportunity_id.in_(only))
    if in_scope is not None:
        return rows.where(h.c.opportunity_id.in_(select(o.c.id).where(in_scope)))
    # org-wide: the histories of the deals that had a close date in the window by the last moment (one scan)
    seen = opportunity_history.alias("in_window")
    return rows.where(h.c.opportunity_id.in_(
        select(seen.c.opportunity_id).where(seen.c.close_date.between(START, END), seen.c.changed_at <= last)))


@lru_cache(maxsize=64)
def deal_states(dialect: str, scope_kind: str, n: int, *, whole_deals: bool = True, spans: bool = False,
                wide: bool = False):
    """Each deal's state at each of n moments: a derived table named like `opportunities` with an `as_of` column.

    The scope restricts the history read to the scope's deals first (a rep's history, not the org's).
    `whole_deals`: a deal in the window at one moment is read at every moment (the waterfall follows a deal out of
    the window); otherwise only the states in the window are (a metric counts no other).
    `spans`: the history snapshot's spans are current up to the snapshot's watermark (bound as SNAPSHOT_THROUGH): the
    deals with no history row after it are read from the spans by a range, the others from history as above.
    `wide`: the scope holds a large part of the org (wide_scope): on PostgreSQL it is read like the org, its
    owners hashed, instead of deal by deal (a VP's half of the org: 500,000 index probes)."""
    m = _moments(dialect, n)
    # a wide scope reads the org's states: the statement's own scope condition then keeps the scope's
    in_scope = None if wide else _owner_in_scope(dialect, scope_kind)
    per_deal = dialect == "postgresql"
    # a team's plan (the deals first, then each one's history) is better left to the planner's guess; a wide
    # scope's is the org's (given the last moment, it estimates the spans read, and hashes the scope's owners)
    last = (_last_moment(dialect, n) if wide or scope_kind in ("org", "rep")
            else select(func.max(m.c.at)).scalar_subquery())
    live = select(opportunity_history.c.opportunity_id).where(opportunity_history.c.id > SNAPSHOT_THROUGH)
    r = _history_rows(per_deal, in_scope, last, live if spans else None).subquery("history_rows")

    def state(src) -> list[ColumnElement]:
        cols = [m.c.at.label("as_of"), m.c.k.label("moment"), m.c.rate_day, *(o.c[c] for c in CURRENT_COLUMNS)]
        return cols + [src.c[c].label(c) for c in HISTORY_COLUMNS]

    parts = [select(*state(r)).select_from(r.join(o, o.c.id == r.c.opportunity_id)
                                           .join(m, _holds_at(r.c.changed_at, r.c.valid_to, m.c.at)))
             .where(_existed(m))]
    first = _first_moment(dialect, n)
    if spans:
        sp = _span_rows(per_deal, in_scope, last, first, live, whole_deals).subquery("span_rows")
        parts.append(select(*state(sp)).select_from(_covered(dialect, n, sp, m).join(o, o.c.id == sp.c.opportunity_id))
                     .where(_existed(m)))
    parts += _as_now(m, in_scope, state, live if spans else None, first)
    return union_all(*parts).subquery("deal_states")


def _holds_at(since: ColumnElement, until: ColumnElement, at: ColumnElement) -> ColumnElement:
    """A state from `since` until `until` (NULL: still) holds at `at`."""
    return and_(since <= at, or_(until.is_(None), until > at))


def _covered(dialect: str, n: int, sp, m):
    """Each span joined to the moments it holds at. With many moments on PostgreSQL, each span's moments are
    generated (a run of them: the moments are bound in time order, moment_params) and joined by number: compared
    moment by moment, the planner re-read the window's spans once per moment (a 13-week trend: 13 × 580,000 index
    entries at 1,000,000 deals)."""
    if dialect != "postgresql" or n <= 2:
        return sp.join(m, _holds_at(sp.c.valid_from, sp.c.valid_to, m.c.at))
    ats = _bound_moments(dialect, n)

    def before(t) -> ColumnElement:  # how many moments come before t
        return sum((case((a < t, 1), else_=0) for a in ats[1:]), case((ats[0] < t, 1), else_=0))

    last = case((sp.c.valid_to.is_(None), n - 1), else_=before(sp.c.valid_to) - 1)
    # a set-returning function in FROM may name the columns before it (LATERAL) on PostgreSQL
    ks = func.generate_series(before(sp.c.valid_from), last).table_valued("k").render_derived(name="covered")
    return sp.join(ks, true()).join(m, m.c.k == ks.c.k)


def _span_rows(per_deal: bool, in_scope: ColumnElement | None, last, first, live: Select, whole_deals: bool
               ) -> Select:
    """The snapshot's spans that hold at some moment between the first and the last, of the deals with no history
    row after the snapshot: those in the window (or, `whole_deals`, every span of a deal with one in the window)."""
    s = bot_deal_spans
    between = [s.c.valid_from <= last, or_(s.c.valid_to.is_(None), s.c.valid_to > first)]
    in_window = s.c.close_date.between(START, END)
    cols = [s.c.opportunity_id, s.c.valid_from, s.c.valid_to, *(s.c[c] for c in HISTORY_COLUMNS)]
    w = bot_deal_spans.alias("in_window")
    window_spans = [w.c.close_date.between(START, END), w.c.valid_from <= last,
                    or_(w.c.valid_to.is_(None), w.c.valid_to > first)]
    if in_scope is not None and per_deal:
        deals = select(o.c.id).where(in_scope)
        if whole_deals:  # the scope's deals with a span in the window: a probe each (the OFFSET keeps it one:
            # as a semi-join, a team's 25,000 deals were hashed against the org's 500,000 window spans)
            deals = deals.where(select(w.c.opportunity_id).where(w.c.opportunity_id == o.c.id, *window_spans)
                                .offset(0).exists())
        deals = deals.subquery("scope_deals")
        src = (select(*cols).where(s.c.opportunity_id == deals.c.id, *between, *(() if whole_deals else (in_window,)))
               .offset(0).lateral("deal_spans"))
        rows = select(*(src.c[c.name] for c in cols)).select_from(deals.join(src, true()))
        spans_of = src.c.opportunity_id
    else:
        rows = select(*cols).where(*between)
        if not whole_deals:
            rows = rows.where(in_window)
        if in_scope is not None:
            rows = rows.where(s.c.opportunity_id.in_(select(o.c.id).where(in_scope)))
        spans_of = s.c.opportunity_id
    if whole_deals and spans_of is s.c.opportunity_id:
        # the deals first (from the close-date index), then their spans: as a semi-join the planner probed the
        # deal set once per span of the whole org (6 s at 1,000,000 deals; hash-joined, 1 s)
        deals_in = select(w.c.opportunity_id).where(*window_spans).distinct().subquery("deals_in_window")
        rows = rows.join_from(s, deals_in, deals_in.c.opportunity_id == spans_of)
    return rows.where(spans_of.not_in(live))


def _as_now(m, in_scope: ColumnElement | None, state, live: Select | None, first) -> list[Select]:
    """The deals in the window now that existed at a moment with no history row by then, as they stand now.

    Each deal's first history instant is looked up once (an index probe), not once per moment; the OFFSET
    fence keeps the planner from re-running the probe for every moment the deal is joined to. With the snapshot
    (`live`: the deals with history after it), the others' first instants come from their first spans, joined."""
    h = opportunity_history
    first_change = select(func.min(h.c.changed_at)).where(h.c.opportunity_id == o.c.id).scalar_subquery()
    probed = select(o.c.id, first_change.label("first_change")).where(o.c.close_date.between(START, END))
    if live is not None:
        probed = probed.where(o.c.id.in_(live))
    if in_scope is not None:
        probed = probed.where(in_scope)
    deals = probed.offset(0).subquery("deals_now")
    not_yet = or_(deals.c.first_change.is_(None), deals.c.first_change > m.c.at)
    parts = [select(*state(o)).select_from(deals.join(o, o.c.id == deals.c.id).join(m, true()))
             .where(_existed(m), not_yet)]
    if live is not None:
        parts.append(_before_first_span(m, in_scope, state, live, first))
    return parts


def _before_first_span(m, in_scope: ColumnElement | None, state, live: Select, first) -> Select:
    """The deals with no history after the snapshot, in the window now, at the moments before their first span
    (or at every moment, with none: no history by the snapshot, or created since), as they stand now.

    One pass over the window's deals keeps only those with no span begun by the later of their creation and the
    first moment (an index probe each; a span begun then holds, or has a successor, at every moment they count
    at), and only those few have their first span's start looked up and are joined to the moments. The demo
    has none: every deal's history starts when it is created."""
    s = bot_deal_spans
    created = o.c.created_at
    since = case((or_(created.is_(None), created < first), first), else_=created)
    begun = exists().where(s.c.opportunity_id == o.c.id, s.c.valid_from <= since)
    candidates = [o.c.close_date.between(START, END), o.c.id.not_in(live), ~begun]
    if in_scope is not None:
        candidates.append(in_scope)
    first_from = select(func.min(s.c.valid_from)).where(s.c.opportunity_id == o.c.id).scalar_subquery()
    # fenced: the first span's start is looked up once per deal left, and the moments joined to those alone
    deals = select(o.c.id, first_from.label("first_from")).where(*candidates).offset(0).subquery("before_spans")
    return (select(*state(o)).select_from(deals.join(o, o.c.id == deals.c.id).join(m, true()))
            .where(_existed(m), or_(deals.c.first_from.is_(None), deals.c.first_from > m.c.at)))


def _existed(m) -> ColumnElement:
    """The deal had been created by the moment (a deal with no created date always had)."""
    return or_(o.c.created_at.is_(None), o.c.created_at <= m.c.at)


def swap_deals(statement: Select, states) -> Select:
    """The statement with `opportunities` replaced by `states` (same column names), and today's exchange-rate day
    by each state's moment's: as of D, an open deal converts at the rate valid on D's day."""
    def replace(element, **_):
        if isinstance(element, BindParameter) and element.key == RATE_DAY.key:
            return states.c.rate_day
        if element is o:
            return states
        if isinstance(element, Column) and element.table is o:
            return states.c[element.name]
        return None
    return visitors.replacement_traverse(statement, {}, replace)


def as_of_reading(conn: Connection, scope: Scope, moments: tuple[datetime, ...]) -> tuple[bool, bool, dict]:
    """How deal_states reads the scope at `moments` here: (from the snapshot's spans, the scope read like the org,
    the moments' bound values)."""
    through = usable_watermark(conn)
    return through is not None, wide_scope(conn, scope), moment_params(moments, through)


def as_of_query(conn: Connection, query: tuple[Select, dict], scope: Scope, moments: tuple[datetime, ...]
                ) -> tuple[Select, dict]:
    """A compiled deal query (statement, values) read at `moments`: from the snapshot's spans where they are
    usable, a wide scope read like the org (deal_states)."""
    statement, values = query
    spans, wide, moment_values = as_of_reading(conn, scope, moments)
    return (as_of_statement(conn.dialect.name, statement, scope.kind, len(moments), spans, wide),
            {**values, **moment_values})


@lru_cache(maxsize=512)
def as_of_statement(dialect: str, statement: Select, scope_kind: str, n: int, spans: bool = False,
                    wide: bool = False) -> Select:
    """A compiled deal statement read at n moments instead of now; with several, grouped and ordered by `as_of`.
    The statement counts only deals in its window (every deal metric does: compile.deal_query's WHERE)."""
    states = deal_states(dialect, scope_kind, n, whole_deals=False, spans=spans, wide=wide)
    swapped = swap_deals(statement, states)
    if n == 1:
        return swapped
    return swapped.add_columns(states.c.as_of.label("as_of")).group_by(states.c.as_of).order_by(states.c.as_of)


