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
import time
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, func, select, text

from config import Settings
from db.engine import get_engine
from db.schema import bot_settings, opportunities, reps
from metrics.cache import ResultCache
from metrics.cli import local_today
from metrics.evaluate import evaluate
from metrics.periods import parse_period
from metrics.scopes import Scope

NO_CACHE = ResultCache(0)

_OPEN = "NOT s.is_closed AND COALESCE(o.forecast_category, s.forecast_category) <> 'omitted'"
_WON = "s.is_closed AND s.is_won"
_FROM = "FROM opportunities o JOIN stages s ON s.name = o.stage WHERE o.close_date BETWEEN :start AND :end"
HAND_SQL = {
    "pipeline": f"SELECT COALESCE(SUM(o.amount), 0) {_FROM} AND {_OPEN}",
    "weighted_pipeline": f"SELECT COALESCE(SUM(o.amount * COALESCE(o.probability, s.probability) / 100.0), 0) "
                         f"{_FROM} AND {_OPEN}",
    "closed_won": f"SELECT COALESCE(SUM(o.amount), 0) {_FROM} AND {_WON}",
    "win_rate": f"SELECT SUM(CASE WHEN s.is_won THEN 1 ELSE 0 END) * 1.0 / NULLIF(COUNT(*), 0) "
                f"{_FROM} AND s.is_closed",
    "avg_deal_size": f"SELECT SUM(o.amount) * 1.0 / NULLIF(COUNT(*), 0) {_FROM} AND {_WON}",
    "cycle_days": {
        "postgresql": "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY o.close_date - "
                      f"date(timezone('UTC', o.created_at))) {_FROM} AND {_WON}",
        "sqlite": "SELECT median(CAST(julianday(o.close_date) - julianday(date(o.created_at)) AS INTEGER)) "
                  f"{_FROM} AND {_WON}",
    },
}
SCOPE_SQL = {
    "rep": " AND o.owner_id = :rep",
    "team": " AND o.owner_id IN (WITH RECURSIVE t(id) AS (SELECT id FROM reps WHERE id = :rep UNION ALL "
            "SELECT r.id FROM reps r JOIN t ON r.manager_id = t.id) SELECT id FROM t)",
    "org": "",
}


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


def _timed(fn, runs: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def _pick_scopes(conn: Connection) -> dict[str, Scope]:
    """The rep with the most deals, and the first-line manager with the largest direct team."""
    rep_id = conn.execute(
        select(opportunities.c.owner_id).where(opportunities.c.owner_id.is_not(None))
        .group_by(opportunities.c.owner_id).order_by(func.count().desc()).limit(1)
    ).scalar_one()
    manager_id = conn.execute(
        select(reps.c.manager_id).where(reps.c.role == "rep", reps.c.manager_id.is_not(None))
        .group_by(reps.c.manager_id).order_by(func.count().desc()).limit(1)
    ).scalar_one()
    return {"rep": Scope("rep", "one rep", rep_id=rep_id), "team": Scope("tree", "one team", rep_id=manager_id),
            "org": Scope("org", "org")}


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and (b is None or Decimal(str(b)) == 0) or b is None and Decimal(str(a)) == 0
    return abs(Decimal(str(a)) - Decimal(str(b))) <= Decimal("0.011") * max(1, abs(Decimal(str(b))) / 10**6)


def ensure_demo(engine, deals: int, reps_n: int, settings: Settings) -> str:
    with engine.connect() as conn:
        marker = conn.execute(select(bot_settings.c.value).where(bot_settings.c.key == "demo")).scalar()
        count = conn.execute(select(func.count()).select_from(opportunities)).scalar_one()
    if marker and count == deals:
        return f"reusing the demo org of {count:,} deals"
    from db.demo import build_demo

    t0 = time.perf_counter()
    build_demo(engine, seed=42, reps=reps_n, deals=deals, today=local_today(settings),
               progress=sys.stderr.isatty())
    return f"built a demo org of {deals:,} deals in {time.perf_counter() - t0:.1f} s"


def run_bench(engine, settings: Settings, runs: int = 20, period_text: str = "this quarter") -> list[BenchRow]:
    today = local_today(settings)
    period = parse_period(period_text, today, settings.fiscal_year_start_month)
    rows = []
    with engine.connect() as conn:
        scopes = _pick_scopes(conn)
        dialect = conn.dialect.name
        d = (lambda x: x.isoformat()) if dialect == "sqlite" else (lambda x: x)
        for metric, sql in HAND_SQL.items():
            sql = sql[dialect] if isinstance(sql, dict) else sql
            for scope_name, scope in scopes.items():
                params = {"start": d(period.start), "end": d(period.end), "rep": scope.rep_id}
                statement = text(sql + SCOPE_SQL[scope_name])

                def layer(metric=metric, scope=scope):
                    return evaluate(conn, metric, period, scope, today=today, cache=NO_CACHE,
                                    fiscal_start_month=settings.fiscal_year_start_month).value

                def hand(statement=statement, params=params):
                    return conn.execute(statement, params).scalar()

                layer(), hand()  # warm up
                lt, lv = _timed(layer, runs)
                ht, hv = _timed(hand, runs)
                rows.append(BenchRow(metric, scope_name, statistics.median(lt), _p95(lt), statistics.median(ht),
                                     _p95(ht), statistics.median(lt) / max(statistics.median(ht), 1e-6),
                                     _p95(lt) / max(_p95(ht), 1e-6), _close(lv, hv)))
    return rows


def print_rows(rows: list[BenchRow], out=sys.stdout) -> None:
    print(f"{'metric':<18} {'scope':<5} {'layer p50':>10} {'layer p95':>10} {'hand p50':>9} {'hand p95':>9} "
          f"{'ratio p50':>9} {'ratio p95':>9}  same", file=out)
    for r in rows:
        print(f"{r.metric:<18} {r.scope:<5} {r.layer_p50_ms:>8.1f}ms {r.layer_p95_ms:>8.1f}ms "
              f"{r.hand_p50_ms:>7.1f}ms {r.hand_p95_ms:>7.1f}ms {r.ratio_p50:>8.2f}x {r.ratio_p95:>8.2f}x  "
              f"{'yes' if r.answers_match else 'NO'}", file=out)


def run_bench_command(args, settings: Settings) -> int:
    engine = get_engine(settings.database_url)
    print(ensure_demo(engine, args.deals, args.reps, settings))
    rows = run_bench(engine, settings, runs=args.runs)
    print_rows(rows)
    extra: dict = {}
    if not args.skip_slack:
        from metrics.bench_slack import print_chart_timings, print_roundtrips, run_roundtrips

        trips = run_roundtrips(engine, settings, runs=max(3, args.runs // 2))
        print_roundtrips(trips)
        extra["round_trips"] = [asdict(t) for t in trips]
        extra["charts"] = {k: {"p50_ms": v[0], "p95_ms": v[1], "bytes": v[2]}
                           for k, v in print_chart_timings(args.runs).items()}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worst = max(rows, key=lambda r: r.layer_p95_ms)
    print(f"peak RSS {rss_mb:.0f} MB; slowest p95 {worst.layer_p95_ms:.1f} ms ({worst.metric}, {worst.scope})")
    out = Path(args.output or "bench-results") / f"bench-{engine.dialect.name}-{args.deals}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"database": engine.dialect.name, "deals": args.deals, "reps": args.reps,
                               "date": date.today().isoformat(), "peak_rss_mb": round(rss_mb),
                               "rows": [asdict(r) for r in rows], **extra}, indent=2))
    print(f"wrote {out}")
    mismatches = [r for r in rows if not r.answers_match]
    if mismatches:
        print(f"error: {len(mismatches)} answers differ from the hand-written SQL", file=sys.stderr)
        return 1
    return 0
