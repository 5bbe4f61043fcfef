"""`python bot.py bench`: the DESIGN §7 benchmark for the metrics layer.

Builds (or reuses) a demo org of the requested size on DATABASE_URL, then times each KPI for one rep, one team
and the whole org: the metrics layer (cache off) beside a hand-written SQL query for the same answer. Both
answers are compared, so the benchmark also checks the layer. Prints a table and writes JSON.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import perf_counter

from sqlalchemy import Connection, func, select, text

from config import Settings
from db.engine import get_engine
from db.schema import bot_settings, opportunities, reps
from metrics.cache import ResultCache
from metrics.cli import local_today
from metrics.evaluate import evaluate
from metrics.periods import day_after_start, parse_period
from metrics.scopes import Scope
from metrics.scorecard import last_four_quarters
from metrics.special import VELOCITY_LOOKBACK_DAYS

NO_CACHE = ResultCache(0)
EXAMPLE_PLANS = Path(__file__).resolve().parent.parent / "examples" / "comp_plans.yml"

_OPEN = "NOT s.is_closed AND COALESCE(o.forecast_category, s.forecast_category) <> 'omitted'"
_WON = "s.is_closed AND s.is_won"
_FROM = "FROM opportunities o JOIN stages s ON s.name = o.stage WHERE o.close_date BETWEEN :start AND :end"
_LOST = "s.is_closed AND NOT s.is_won"
_DAYS = {"postgresql": "o.close_date - date(timezone('UTC', o.created_at))",
         "sqlite": "CAST(julianday(o.close_date) - julianday(date(o.created_at)) AS INTEGER)"}
# Each query returns what the answer shows (counts and the other figures beside the value), the value last.
HAND_SQL = {
    "pipeline": f"SELECT COUNT(*), COALESCE(SUM(o.amount), 0) {_FROM} AND {_OPEN}",
    "weighted_pipeline": "SELECT COUNT(*), COALESCE(SUM(o.amount), 0), "
                         "COALESCE(SUM(o.amount * COALESCE(o.probability, s.probability) / 100.0), 0) "
                         f"{_FROM} AND {_OPEN}",
    "closed_won": f"SELECT COUNT(*), COALESCE(SUM(o.amount), 0) {_FROM} AND {_WON}",
    "closed_lost": f"SELECT COUNT(*), COALESCE(SUM(o.amount), 0) {_FROM} AND {_LOST}",
    # closed, best case and pipeline beside commit; the quota is added by hand_sql
    "forecast": "SELECT COALESCE(SUM(CASE WHEN s.is_won THEN o.amount END), 0), "
                "COALESCE(SUM(CASE WHEN s.is_won THEN o.amount WHEN NOT s.is_closed AND "
                "COALESCE(o.forecast_category, s.forecast_category) IN ('commit', 'best_case') THEN o.amount END), 0), "
                "COALESCE(SUM(CASE WHEN s.is_won THEN o.amount WHEN NOT s.is_closed AND "
                "COALESCE(o.forecast_category, s.forecast_category) IN ('commit', 'best_case', 'pipeline') "
                "THEN o.amount END), 0), "
                "COALESCE(SUM(CASE WHEN s.is_won THEN o.amount WHEN NOT s.is_closed AND "
                "COALESCE(o.forecast_category, s.forecast_category) = 'commit' THEN o.amount END), 0) "
                f"{_FROM} AND (s.is_won OR NOT s.is_closed)",
    "win_rate": "SELECT COALESCE(SUM(CASE WHEN s.is_won THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN s.is_won THEN 0 ELSE 1 END), 0), "
                f"SUM(CASE WHEN s.is_won THEN 1 ELSE 0 END) * 1.0 / NULLIF(COUNT(*), 0) {_FROM} AND s.is_closed",
    "win_rate_value": "SELECT COALESCE(SUM(CASE WHEN s.is_won THEN o.amount ELSE 0 END), 0), "
                      "COALESCE(SUM(CASE WHEN s.is_won THEN 0 ELSE o.amount END), 0), "
                      "SUM(CASE WHEN s.is_won THEN o.amount ELSE 0 END) * 1.0 / NULLIF(SUM(o.amount), 0) "
                      f"{_FROM} AND s.is_closed",
    "avg_deal_size": f"SELECT COUNT(*), SUM(o.amount) * 1.0 / NULLIF(COUNT(*), 0) {_FROM} AND {_WON}",
    "cycle_days": {
        "postgresql": f"SELECT COUNT(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY {_DAYS['postgresql']}) "
                      f"{_FROM} AND {_WON}",
        "sqlite": f"SELECT COUNT(*), median({_DAYS['sqlite']}) {_FROM} AND {_WON}",
    },
    "cycle_days_mean": {d: f"SELECT COUNT(*), AVG({days}) {_FROM} AND {_WON}" for d, days in _DAYS.items()},
}
_TREE = ("(WITH RECURSIVE t(id) AS (SELECT id FROM reps WHERE id = :rep UNION ALL "
         "SELECT r.id FROM reps r JOIN t ON r.manager_id = t.id) SELECT id FROM t)")
SCOPE_SQL = {"rep": " AND o.owner_id = :rep", "team": f" AND o.owner_id IN {_TREE}", "org": ""}
SCOPE_SQL["vp"] = SCOPE_SQL["team"]  # a VP's tree is written as any manager's

# Quota, prorated by the days each quota row overlaps the period; a manager's own row, else their team's reps.
_OVERLAP = {
    "postgresql": "(LEAST(q.period_end, CAST(:end AS DATE)) - GREATEST(q.period_start, CAST(:start AS DATE)) + 1) "
                  "* 1.0 / (q.period_end - q.period_start + 1)",
    "sqlite": "(julianday(min(q.period_end, :end)) - julianday(max(q.period_start, :start)) + 1) "
              "* 1.0 / (julianday(q.period_end) - julianday(q.period_start) + 1)",
}
_IN_PERIOD = "q.period_start <= :end AND q.period_end >= :start"


def _quota_sql(dialect: str, scope: str) -> str:
    prorated = f"SUM(q.amount * {_OVERLAP[dialect]})"
    reps_only = f"FROM quotas q JOIN reps r ON r.id = q.rep_id WHERE {_IN_PERIOD} AND r.role = 'rep'"
    if scope == "rep":
        return f"SELECT {prorated} FROM quotas q WHERE {_IN_PERIOD} AND q.rep_id = :rep"
    if scope in ("team", "vp"):
        return (f"SELECT COALESCE((SELECT {prorated} FROM quotas q WHERE {_IN_PERIOD} AND q.rep_id = :rep), "
                f"(SELECT {prorated} {reps_only} AND q.rep_id IN {_TREE}))")
    return f"SELECT {prorated} {reps_only}"


# Stage conversion written independently of the layer: first entries by GROUP BY, "moved on" by EXISTS.
_CONVERSION = (
    "SELECT fe.stage, SUM(CASE WHEN EXISTS (SELECT 1 FROM opportunity_history h2 JOIN stages s2 ON s2.name = h2.stage "
    "WHERE h2.opportunity_id = fe.opportunity_id AND h2.changed_at >= fe.entered_at AND s2.position > sk.position "
    "AND NOT (s2.is_closed AND NOT s2.is_won)) THEN 1 ELSE 0 END) * 1.0 / COUNT(*) "
    "FROM (SELECT opportunity_id, stage, MIN(changed_at) AS entered_at FROM opportunity_history "
    "GROUP BY opportunity_id, stage) fe JOIN stages sk ON sk.name = fe.stage "
    "JOIN opportunities o ON o.id = fe.opportunity_id "
    "WHERE NOT sk.is_closed AND fe.entered_at >= :ts_start AND fe.entered_at < :ts_end{scope} "
    "GROUP BY fe.stage, sk.position ORDER BY sk.position"
)


def _quota_vs_won_sql(metric: str, dialect: str, scope: str) -> str:
    """Attainment, gap and coverage: closed won and open pipeline against the quota (in cents, as shown)."""
    quota = f"ROUND(({_quota_sql(dialect, scope)}), 2)"
    won = f"(SELECT COALESCE(SUM(o.amount), 0) {_FROM} AND {_WON}{SCOPE_SQL[scope]})"
    pipeline = f"(SELECT COALESCE(SUM(o.amount), 0) {_FROM} AND {_OPEN}{SCOPE_SQL[scope]})"
    if metric == "attainment":
        return f"SELECT w, q, w * 1.0 / NULLIF(q, 0) FROM (SELECT {won} AS w, {quota} AS q) x"
    if metric == "gap":
        return f"SELECT q, w, q - w FROM (SELECT {won} AS w, {quota} AS q) x"
    return (f"SELECT p, q, w, CASE WHEN q - w > 0 THEN p * 1.0 / (q - w) END "
            f"FROM (SELECT {pipeline} AS p, {won} AS w, {quota} AS q) x")


def _velocity_sql(dialect: str, scope: str) -> str:
    """Open deals in the period × average won size × win rate ÷ mean cycle, the last three over the 365 days
    to the period's end or today (:h_start .. :h_end)."""
    closed = ("FROM opportunities o JOIN stages s ON s.name = o.stage "
              f"WHERE o.close_date BETWEEN :h_start AND :h_end{SCOPE_SQL[scope]}")
    return (
        "SELECT n, won_n, lost_n, CASE WHEN won_n > 0 AND cyc > 0 THEN "
        "n * (won_amt * 1.0 / won_n) * (won_n * 1.0 / (won_n + lost_n)) / cyc END "
        f"FROM (SELECT COUNT(*) AS n {_FROM} AND {_OPEN}{SCOPE_SQL[scope]}) oc, "
        f"(SELECT COALESCE(SUM(CASE WHEN {_WON} THEN 1 ELSE 0 END), 0) AS won_n, "
        f"COALESCE(SUM(CASE WHEN {_LOST} THEN 1 ELSE 0 END), 0) AS lost_n, "
        f"SUM(CASE WHEN {_WON} THEN o.amount END) AS won_amt, AVG(CASE WHEN {_WON} THEN {_DAYS[dialect]} END) AS cyc "
        f"{closed}) hw"
    )


# Per rep in scope (role rep), by name: the payout's credit (closed won) and quota; the scorecard's pipeline created.
_REP_SCOPE = {"rep": " AND r.id = :rep", "team": f" AND r.id IN {_TREE}", "org": ""}
_REP_SCOPE["vp"] = _REP_SCOPE["team"]


def _payout_sql(dialect: str, scope: str) -> str:
    """The credit and quota of each rep's payout (plans crediting all closed won, as examples/comp_plans.yml)."""
    won = f"(SELECT COALESCE(SUM(o.amount), 0) {_FROM} AND {_WON} AND o.owner_id = r.id)"
    quota = (f"(SELECT ROUND(SUM(q.amount * {_OVERLAP[dialect]}), 2) FROM quotas q "
             f"WHERE {_IN_PERIOD} AND q.rep_id = r.id)")
    return f"SELECT {won}, {quota} FROM reps r WHERE r.role = 'rep'{_REP_SCOPE[scope]} ORDER BY r.name, r.id"


_MEDIAN = {"postgresql": "percentile_cont(0.5) WITHIN GROUP (ORDER BY {v})", "sqlite": "median({v})"}
_QUARTERS = " UNION ALL ".join(f"SELECT {k} AS k, CAST(:q{k}_start AS DATE) AS qs, CAST(:q{k}_end AS DATE) AS qe"
                               for k in range(4))
_QUARTER_OVERLAP = {d: sql.replace(":end", "qr.qe").replace(":start", "qr.qs") for d, sql in _OVERLAP.items()}


def _scorecard_sql(dialect: str, scope: str) -> str:
    """Every figure of a manager's scorecards, per rep in scope by name, as one statement: activities and
    pipeline created in the period; won, lost, won amount and median cycle of deals closed in it; closed won
    against the quota in each of the last four quarters; stage conversion (as _CONVERSION, by owner). The last
    four columns are compared with the layer: pipeline created, win rate, average deal size, cycle."""
    tree = _REP_SCOPE[scope].replace(" AND r.id", " AND {col}", 1)
    act = ("SELECT a.rep_id, COUNT(*) AS n FROM activities a WHERE a.occurred_at >= :ts_start "
           f"AND a.occurred_at < :ts_end{tree.format(col='a.rep_id')} GROUP BY a.rep_id")
    created = ("SELECT o.owner_id, SUM(o.amount) AS amt FROM opportunities o JOIN stages s ON s.name = o.stage "
               f"WHERE o.created_at >= :ts_start AND o.created_at < :ts_end{tree.format(col='o.owner_id')} "
               "GROUP BY o.owner_id")
    closed = (f"SELECT o.owner_id, SUM(CASE WHEN {_WON} THEN 1 ELSE 0 END) AS won_n, "
              f"SUM(CASE WHEN {_LOST} THEN 1 ELSE 0 END) AS lost_n, "
              f"SUM(CASE WHEN {_WON} THEN o.amount END) AS won_amt, "
              f"{_MEDIAN[dialect].format(v=f'CASE WHEN {_WON} THEN {_DAYS[dialect]} END')} AS cycle "
              f"{_FROM} AND s.is_closed{tree.format(col='o.owner_id')} GROUP BY o.owner_id")
    won_by_quarter = (f"SELECT qr.k, o.owner_id, SUM(o.amount) AS won FROM ({_QUARTERS}) qr JOIN opportunities o "
                      "ON o.close_date BETWEEN qr.qs AND qr.qe JOIN stages s ON s.name = o.stage "
                      f"WHERE {_WON}{tree.format(col='o.owner_id')} GROUP BY qr.k, o.owner_id")
    quota_by_quarter = (f"SELECT qr.k, q.rep_id, SUM(q.amount * {_QUARTER_OVERLAP[dialect]}) AS quota "
                        f"FROM ({_QUARTERS}) qr JOIN quotas q ON q.period_start <= qr.qe AND q.period_end >= qr.qs"
                        f"{tree.format(col='q.rep_id')} GROUP BY qr.k, q.rep_id")
    attainment = ("SELECT qq.rep_id, AVG(COALESCE(wq.won, 0) * 1.0 / qq.quota) AS att "
                  f"FROM ({quota_by_quarter}) qq LEFT JOIN ({won_by_quarter}) wq ON wq.k = qq.k "
                  "AND wq.owner_id = qq.rep_id WHERE qq.quota > 0 GROUP BY qq.rep_id")
    conversion = (_CONVERSION.replace("{scope}", tree.format(col="o.owner_id"))
                  .replace("SELECT fe.stage,", "SELECT o.owner_id, fe.stage,")
                  .replace("GROUP BY fe.stage, sk.position ORDER BY sk.position", "GROUP BY o.owner_id, fe.stage"))
    return ("SELECT act.n, att.att, cv.stages, COALESCE(pc.amt, 0), cl.won_n * 1.0 / NULLIF(cl.won_n + cl.lost_n, 0), "
            "cl.won_amt * 1.0 / NULLIF(cl.won_n, 0), cl.cycle FROM reps r "
            f"LEFT JOIN ({act}) act ON act.rep_id = r.id LEFT JOIN ({created}) pc ON pc.owner_id = r.id "
            f"LEFT JOIN ({closed}) cl ON cl.owner_id = r.id LEFT JOIN ({attainment}) att ON att.rep_id = r.id "
            f"LEFT JOIN (SELECT cv.owner_id, COUNT(*) AS stages FROM ({conversion}) cv GROUP BY cv.owner_id) cv "
            "ON cv.owner_id = r.id "
            f"WHERE r.role = 'rep'{_REP_SCOPE[scope]} ORDER BY r.name, r.id")


DERIVED = ("attainment", "gap", "coverage")
PER_REP = ("payout", "scorecard")  # not one value: a row per rep, from metrics.payout and metrics.scorecard
METRICS = (*HAND_SQL, "quota", *DERIVED, "velocity", "conversion", *PER_REP)
# The layer's figures the hand-written columns stand for, in their order: the whole answer is compared.
ANSWER_FIELDS = {
    "pipeline": ("open_count", "value"),
    "weighted_pipeline": ("open_count", "open_amount", "value"),
    "closed_won": ("won_count", "value"),
    "closed_lost": ("lost_count", "value"),
    "forecast": ("quota", "closed", "best_case", "pipeline", "value"),
    "win_rate": ("won_count", "lost_count", "value"),
    "win_rate_value": ("won_amount", "lost_amount", "value"),
    "avg_deal_size": ("won_count", "value"),
    "cycle_days": ("won_count", "value"),
    "cycle_days_mean": ("won_count", "value"),
    "attainment": ("won_amount", "quota", "value"),
    "gap": ("quota", "won_amount", "value"),
    "coverage": ("open_amount", "quota", "won_amount", "value"),
    "velocity": ("open_count", "won_count", "lost_count", "value"),
    "payout": ("credited", "quota"),
    "scorecard": ("pipeline_created", "win_rate", "avg_deal_size", "cycle_days"),
}
# What each figure is, which says how the hand-written value is brought to what the layer shows.
FIGURE_KINDS = {
    "open_count": "count", "won_count": "count", "lost_count": "count",
    "open_amount": "money", "won_amount": "money", "lost_amount": "money", "quota": "money",
    "closed": "money", "best_case": "money", "pipeline": "money", "credited": "money", "pipeline_created": "money",
    "win_rate": "ratio", "avg_deal_size": "money", "cycle_days": "days",
}
VALUE_KINDS = {
    "pipeline": "money", "weighted_pipeline": "money", "closed_won": "money", "closed_lost": "money",
    "forecast": "money", "win_rate": "ratio", "win_rate_value": "ratio", "avg_deal_size": "money",
    "cycle_days": "days", "cycle_days_mean": "days", "quota": "money", "attainment": "ratio", "gap": "money",
    "coverage": "ratio", "velocity": "money", "conversion": "ratio",
}
SHOWN_STEP = {"money": Decimal("0.01"), "days": Decimal("0.1"), "ratio": Decimal("0.0001")}
# SQLite hands back sums and quotients as binary floats (16.555 arrives as 16.554999999999996): a float is first
# rounded to 9 places, far below any shown step and far above the float noise (as metrics.dialect.money_total).
FLOAT_PLACES = Decimal("1e-9")


# A deal's amount in the org currency, written independently of metrics.currency: the rate valid on the close date
# (closed) or :today (open) divides the amount, and the quotient in cents is rounded half-even by looking at its
# fraction (exact NUMERIC on PostgreSQL; a float within 1e-7 of a half on SQLite).
_RATE_DAY = "CASE WHEN s.is_closed THEN o.close_date ELSE :today END"
_HALF_EVEN = {
    "sqlite": "(CASE WHEN ABS(ABS({q}) - ABS(CAST({q} AS INTEGER)) - 0.5) < 1e-7 THEN CAST({q} AS INTEGER) + "
              "(ABS(CAST({q} AS INTEGER)) % 2) * (CASE WHEN {q} < 0 THEN -1 ELSE 1 END) ELSE ROUND({q}) END) / 100.0",
    "postgresql": "(CASE WHEN ABS({q} - TRUNC({q})) = 0.5 THEN TRUNC({q}) + MOD(ABS(TRUNC({q})), 2) * SIGN({q}) "
                  "ELSE ROUND({q}) END) / 100",
}


def _org_amount(dialect: str, org_currency: str) -> str:
    q = "(o.amount * 100.0 / x.rate)" if dialect == "sqlite" else "(o.amount * 100 / x.rate)"
    return (f"(CASE WHEN COALESCE(o.currency, '{org_currency}') = '{org_currency}' THEN o.amount ELSE "
            f"(SELECT {_HALF_EVEN[dialect].format(q=q)} FROM exchange_rates x WHERE x.currency = o.currency "
            f"AND x.valid_from <= {_RATE_DAY} AND (x.valid_to IS NULL OR x.valid_to >= {_RATE_DAY}) "
            "ORDER BY x.valid_from DESC LIMIT 1) END)")


def hand_sql(metric: str, dialect: str, scope: str, org_currency: str = "USD") -> str:
    """The hand-written SQL for one metric, dialect and kind of scope, amounts in the org currency; a deal whose
    amount has no rate is left out (of counts too)."""
    sql = _hand_sql(metric, dialect, scope).replace("o.amount", "\x00")
    sql = sql.replace("WHERE o.close_date BETWEEN",
                      "WHERE (o.amount IS NULL OR \x00 IS NOT NULL) AND o.close_date BETWEEN")
    return sql.replace("\x00", _org_amount(dialect, org_currency))


def _hand_sql(metric: str, dialect: str, scope: str) -> str:
    if metric == "quota":
        return _quota_sql(dialect, scope)
    if metric == "conversion":
        return _CONVERSION.replace("{scope}", SCOPE_SQL[scope])
    if metric in DERIVED:
        return _quota_vs_won_sql(metric, dialect, scope)
    if metric == "velocity":
        return _velocity_sql(dialect, scope)
    if metric == "payout":
        return _payout_sql(dialect, scope)
    if metric == "scorecard":
        return _scorecard_sql(dialect, scope)
    sql = HAND_SQL[metric]
    sql = (sql[dialect] if isinstance(sql, dict) else sql) + SCOPE_SQL[scope]
    if metric == "forecast":  # the roll-up is shown against the quota
        sql = f"SELECT ({_quota_sql(dialect, scope)}) AS quota, f.* FROM ({sql}) f"
    return sql


@dataclass
class BenchRow:
    metric: str
    scope: str
    layer_p50_ms: float
    layer_p95_ms: float
    hand_p50_ms: float
    hand_p95_ms: float
    ratio_p50: float
    ratio_p95: float
    answers_match: bool
    difference: str | None = None  # the first figure that differs, when the answers do not match


def _timed(fn, runs: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(runs):
        t0 = perf_counter()
        result = fn()
        times.append((perf_counter() - t0) * 1000)
    return times, result


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def _pick_scopes(conn: Connection) -> dict[str, Scope]:
    """The rep with the most deals, the first-line manager with the largest direct team, and the VP (a manager
    reporting to the top of the org) with the most people below them: about half the org in the demo."""
    rep_id = conn.execute(
        select(opportunities.c.owner_id).where(opportunities.c.owner_id.is_not(None))
        .group_by(opportunities.c.owner_id).order_by(func.count().desc()).limit(1)
    ).scalar_one()
    manager_id = conn.execute(
        select(reps.c.manager_id).where(reps.c.role == "rep", reps.c.manager_id.is_not(None))
        .group_by(reps.c.manager_id).order_by(func.count().desc()).limit(1)
    ).scalar_one()
    vp_id = max(_top_managers(conn), key=lambda rep_id: len(Scope("tree", "", rep_id=rep_id).member_ids(conn)))
    return {"rep": Scope("rep", "one rep", rep_id=rep_id), "team": Scope("tree", "one team", rep_id=manager_id),
            "vp": Scope("tree", "one VP", rep_id=vp_id), "org": Scope("org", "org")}


def _top_managers(conn: Connection) -> list[int]:
    """The managers whose own manager is at the top of the org (has no manager)."""
    top = select(reps.c.id).where(reps.c.manager_id.is_(None))
    return list(conn.execute(select(reps.c.id).where(reps.c.role == "manager", reps.c.manager_id.in_(top)))
                .scalars())


def same_figure(layer, hand, kind: str) -> bool:
    """Whether the layer's figure is exactly the hand-written query's, as the layer shows it.

    Unknown is not zero: None matches only None. A count must be equal. Money and days are the hand value
    rounded half-even to the shown step (cents, 0.1 day), as the layer rounds (metrics.result.quantize), and
    must then be equal: a cent off is a mismatch. A ratio is the only figure allowed a margin: the layer divides
    in Decimal and shows 4 places, the hand query divides in the database (binary float on SQLite, NUMERIC with
    its own scale on PostgreSQL), so when the exact quotient lies on a half step the two roundings may land on
    either neighbour; the layer's ratio must be within half a step (0.00005) of the hand one.
    """
    if layer is None or hand is None:
        return layer is None and hand is None
    exact = Decimal(str(hand))
    if isinstance(hand, float):
        exact = exact.quantize(FLOAT_PLACES)
    shown = Decimal(str(layer))
    if kind == "count":
        return shown == exact
    if kind == "ratio":
        return abs(shown - exact) <= SHOWN_STEP["ratio"] / 2
    return shown == exact.quantize(SHOWN_STEP[kind])


def answer_difference(metric: str, layer: list[tuple], hand: list[tuple]) -> str | None:
    """The first figure where the layer's rows differ from the hand-written query's, or None when all agree.
    An empty answer matches only an empty answer."""
    fields = ANSWER_FIELDS.get(metric, ("value",))
    if len(layer) != len(hand):
        return f"{len(layer)} rows from the layer, {len(hand)} from the hand-written SQL"
    for i, (layer_row, hand_row) in enumerate(zip(layer, hand, strict=True)):
        if len(layer_row) != len(fields) or len(hand_row) != len(fields):
            return f"row {i}: {len(layer_row)} figures from the layer, {len(hand_row)} from the hand-written SQL"
        for name, a, b in zip(fields, layer_row, hand_row, strict=True):
            kind = VALUE_KINDS[metric] if name == "value" else FIGURE_KINDS[name]
            if not same_figure(a, b, kind):
                return f"row {i} {name}: layer {a!r}, hand-written SQL {b!r}"
    return None


def ensure_demo(engine, deals: int, reps_n: int, settings: Settings) -> str:
    with engine.connect() as conn:
        marker = conn.execute(select(bot_settings.c.value).where(bot_settings.c.key == "demo")).scalar()
        count = conn.execute(select(func.count()).select_from(opportunities)).scalar_one()
    if marker and count == deals:
        return f"reusing the demo org of {count:,} deals"
    from db.demo import build_demo
    from metrics.history_snapshot import SNAPSHOT_AFTER_LOAD

    t0 = perf_counter()
    build_demo(engine, seed=42, reps=reps_n, deals=deals, today=local_today(settings),
               progress=sys.stderr.isatty(), after_load=SNAPSHOT_AFTER_LOAD)
    return f"built a demo org of {deals:,} deals in {perf_counter() - t0:.1f} s"


def per_rep_figures(conn: Connection, metric: str, period, scope: Scope, today: date, fiscal: int) -> list[tuple]:
    """The payout table's (credit, quota) or the scorecards' pipeline created, per rep in scope, by name: what a
    manager's `/sales commission` and `/sales scorecard` compute."""
    from metrics.payout import payouts
    from metrics.scorecard import reps_in, team_scorecards

    if metric == "payout":
        table = payouts(conn, period, scope.member_ids(conn), today=today, fiscal=fiscal, cache=NO_CACHE,
                        by_deal=False)
        return [(r.credited, r.quota) for r in table if r.role == "rep"]
    cards = team_scorecards(conn, reps_in(conn, scope), period, today, fiscal, scope, NO_CACHE).cards
    return [tuple(c.figures[f] for f in ANSWER_FIELDS["scorecard"]) for c in cards]


def ensure_plans(engine) -> str | None:
    """The payout row needs comp plans: the example's (examples/comp_plans.yml, written for the demo org) when
    none are loaded."""
    from metrics.comp_plans import latest_version, store_version

    with engine.begin() as conn:
        if latest_version(conn) is not None:
            return None
        store_version(conn, EXAMPLE_PLANS.read_text(encoding="utf-8"), str(EXAMPLE_PLANS), date(2000, 1, 1),
                      datetime.now(UTC))
    return f"loaded the comp plans of {EXAMPLE_PLANS.name} for the payout row"


def run_bench(engine, settings: Settings, runs: int = 20, period_text: str = "this quarter",
              only: frozenset[str] | None = None) -> list[BenchRow]:
    """`only`: the metrics to time (None: all of them, and the as-of questions, named `as_of`)."""
    today = local_today(settings)
    period = parse_period(period_text, today, settings.fiscal_year_start_month)
    rows = []
    start_ts = datetime.combine(period.start, time.min, tzinfo=UTC)
    end_ts = day_after_start(period.end)
    ensure_plans(engine)
    h_end = min(period.end, today)  # velocity's closed-deal history, as metrics.special has it
    h_start = h_end - timedelta(days=VELOCITY_LOOKBACK_DAYS - 1)
    fiscal = settings.fiscal_year_start_month
    quarters = {f"q{k}_{end}": getattr(q, end) for k, q in enumerate(last_four_quarters(period, fiscal))
                for end in ("start", "end")}  # the scorecard's attainment trend
    with engine.connect() as conn:
        scopes = _pick_scopes(conn)
        dialect = conn.dialect.name
        if dialect == "sqlite":  # SQLite compares dates and naive UTC timestamps as text
            naive = "%Y-%m-%d %H:%M:%S"
            params = {"start": period.start.isoformat(), "end": period.end.isoformat(),
                      "ts_start": start_ts.strftime(naive), "ts_end": end_ts.strftime(naive),
                      "h_start": h_start.isoformat(), "h_end": h_end.isoformat(), "today": today.isoformat(),
                      **{k: v.isoformat() for k, v in quarters.items()}}
        else:
            params = {"start": period.start, "end": period.end, "ts_start": start_ts, "ts_end": end_ts,
                      "h_start": h_start, "h_end": h_end, "today": today, **quarters}
        for metric in (m for m in METRICS if only is None or m in only):
            # the hand-written conversion is slow by design; a scorecard is a dozen queries
            n = min(runs, 5) if metric in ("conversion", "scorecard") else runs
            for scope_name, scope in scopes.items():
                statement = text(hand_sql(metric, dialect, scope_name, settings.org_currency))
                values = {**params, "rep": scope.rep_id}

                fields = ANSWER_FIELDS.get(metric, ("value",))

                def layer(metric=metric, scope=scope, fields=fields):
                    if metric in PER_REP:
                        return per_rep_figures(conn, metric, period, scope, today, settings.fiscal_year_start_month)
                    result = evaluate(conn, metric, period, scope, today=today, cache=NO_CACHE,
                                      fiscal_start_month=settings.fiscal_year_start_month,
                                      org_currency=settings.org_currency)
                    return [tuple(row.get(f) for f in fields) for row in result.rows]

                def hand(statement=statement, values=values, fields=fields):
                    return [tuple(row[-len(fields):]) for row in conn.execute(statement, values)]

                layer(), hand()  # warm up
                lt, lv = _timed(layer, n)
                ht, hv = _timed(hand, n)
                difference = answer_difference(metric, lv, hv)
                rows.append(BenchRow(metric, scope_name, statistics.median(lt), p95(lt), statistics.median(ht),
                                     p95(ht), statistics.median(lt) / max(statistics.median(ht), 1e-6),
                                     p95(lt) / max(p95(ht), 1e-6), difference is None, difference))
        if only is not None and "as_of" not in only:
            return rows
        from metrics.bench_asof import as_of_rows

        rows += as_of_rows(conn, settings, period, today, scopes, SCOPE_SQL, params, min(runs, 5), _timed, p95,
                           BenchRow)
    return rows


def print_rows(rows: list[BenchRow], out=None) -> None:
    out = out or sys.stdout  # read at call time: the stdout of the moment, not the one at import
    print(f"{'metric':<18} {'scope':<5} {'layer p50':>10} {'layer p95':>10} {'hand p50':>9} {'hand p95':>9} "
          f"{'ratio p50':>9} {'ratio p95':>9}  same", file=out)
    for r in rows:
        print(f"{r.metric:<18} {r.scope:<5} {r.layer_p50_ms:>8.1f}ms {r.layer_p95_ms:>8.1f}ms "
              f"{r.hand_p50_ms:>7.1f}ms {r.hand_p95_ms:>7.1f}ms {r.ratio_p50:>8.2f}x {r.ratio_p95:>8.2f}x  "
              f"{'yes' if r.answers_match else 'NO'}", file=out)


def time_backfill(engine, settings: Settings, quarters: int = 8) -> dict:
    """The forecast-snapshot backfill of `quarters` quarters from an empty table (target: 5,000 reps at 1M deals
    on PostgreSQL in 10 minutes); the stored snapshots are removed again."""
    from sqlalchemy import delete

    from db.schema import bot_forecast_snapshots
    from metrics.forecast_snapshots import backfill_moments, take_snapshots

    now = datetime.now(UTC)
    moments = backfill_moments(now, settings.tz, quarters, settings.fiscal_year_start_month)
    with engine.begin() as conn:
        conn.execute(delete(bot_forecast_snapshots))
    t0 = perf_counter()
    done = take_snapshots(engine, moments, settings.tz, settings.fiscal_year_start_month, source="backfill", now=now)
    took = perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(delete(bot_forecast_snapshots))
    print(f"forecast backfill: {done['weeks']} weeks × {done['people']:,} people, {done['rows']:,} rows in "
          f"{took:.1f} s ({took / max(done['weeks'], 1):.2f} s a week)")
    return {"weeks": done["weeks"], "people": done["people"], "rows": done["rows"], "seconds": round(took, 1)}


def run_bench_command(args, settings: Settings, slack_bench=None) -> int:
    """`slack_bench` is the `bench.slack` module, passed in by bot.py so metrics never imports the Slack layer."""
    engine = get_engine(settings.database_url)
    print(ensure_demo(engine, args.deals, args.reps, settings))
    only = frozenset(args.only.split(",")) if args.only else None
    rows = run_bench(engine, settings, runs=args.runs, only=only)
    print_rows(rows)
    extra: dict = {}
    if not args.skip_slack and slack_bench is not None:
        trips = slack_bench.run_roundtrips(engine, settings, runs=max(3, args.runs // 2), only=only)
        slack_bench.print_roundtrips(trips)
        extra["round_trips"] = [asdict(t) for t in trips]
        extra["charts"] = {k: {"p50_ms": v[0], "p95_ms": v[1], "bytes": v[2]}
                           for k, v in slack_bench.print_chart_timings(args.runs).items()}
    if only is None or "backfill" in only:
        extra["forecast_backfill"] = time_backfill(engine, settings)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worst = max(rows, key=lambda r: r.layer_p95_ms, default=None)  # none when --only names subcommands alone
    slowest = "" if worst is None else f"; slowest p95 {worst.layer_p95_ms:.1f} ms ({worst.metric}, {worst.scope})"
    print(f"peak RSS {rss_mb:.0f} MB{slowest}")
    out = Path(args.output or "bench-results") / f"bench-{engine.dialect.name}-{args.deals}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"database": engine.dialect.name, "deals": args.deals, "reps": args.reps,
                               "date": date.today().isoformat(), "peak_rss_mb": round(rss_mb),
                               "rows": [asdict(r) for r in rows], **extra}, indent=2))
    print(f"wrote {out}")
    mismatches = [r for r in rows if not r.answers_match]
    if mismatches:
        print(f"error: {len(mismatches)} answers differ from the hand-written SQL", file=sys.stderr)
        for r in mismatches:
            print(f"  {r.metric} ({r.scope}): {r.difference}", file=sys.stderr)
        return 1
    return 0
