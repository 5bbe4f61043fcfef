"""The won-deal stage benchmarks (DESIGN §5, stuck_in_stage): how long won deals spent in each stage, from history.

The stalled rules read them (metrics.stalled), and the history snapshot stores them with its state
(metrics.history_snapshot), so they sit below both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, or_, select

from db.schema import opportunities as o
from db.schema import opportunity_history as h
from db.schema import stages as s
from metrics import dialect as dl

STUCK_PERCENTILE = 0.75
# The won-deal stage benchmarks are org-wide history (about 1.5 s at 1,000,000 deals on PostgreSQL) and move
# slowly: without a history snapshot to hold them, a cache keeps them for an hour even while deals change.
BENCHMARK_TTL_SECONDS = 3600


def won_stage_samples(d: str):
    """SELECT stage, days: time spent in each stage by won deals, one row per visit that ended (from history)."""
    won = o.alias("won")
    won_stage = s.alias("won_stage")
    order = (h.c.changed_at, h.c.id)
    rows = (
        select(
            h.c.opportunity_id, h.c.id, h.c.changed_at, h.c.stage,
            func.lag(h.c.stage).over(partition_by=h.c.opportunity_id, order_by=order).label("prev_stage"),
        )
        .select_from(h.join(won, won.c.id == h.c.opportunity_id).join(won_stage, won_stage.c.name == won.c.stage))
        .where(won_stage.c.is_won, h.c.stage.is_not(None))
        .subquery("won_rows")
    )
    entries = (
        select(rows.c.opportunity_id, rows.c.id, rows.c.changed_at, rows.c.stage)
        .where(or_(rows.c.prev_stage.is_(None), rows.c.prev_stage != rows.c.stage))
        .subquery("won_entries")
    )
    visits = select(
        entries.c.stage,
        entries.c.changed_at,
        func.lead(entries.c.changed_at)
        .over(partition_by=entries.c.opportunity_id, order_by=(entries.c.changed_at, entries.c.id))
        .label("left_at"),
    ).subquery("won_visits")
    return select(
        visits.c.stage,
        dl.days_between(d, dl.to_date(d, visits.c.left_at), dl.to_date(d, visits.c.changed_at)).label("days"),
    ).where(visits.c.left_at.is_not(None))


def won_stage_percentiles(conn: Connection, fraction: float = STUCK_PERCENTILE,
                          cache: Any = None) -> dict[str, tuple[float, int]]:
    """{stage: (percentile of days in stage for won deals, samples)}: the benchmark stuck_in_stage uses.

    `cache` (a metrics.cache.ResultCache) reuses the answer for BENCHMARK_TTL_SECONDS: the benchmark is org-wide
    and the dearest part of the stalled rules, so a per-rep request need not recompute it.
    """
    d = conn.dialect.name
    pct = dl.percentile_subquery(d, "days", fraction, ["stage"], won_stage_samples(d), name="won_pct")
    query = select(pct.c.stage, pct.c.value, pct.c.n)
    if cache is not None:
        rows = cache.fetch(conn, query, ttl=BENCHMARK_TTL_SECONDS, versioned=False)
    else:
        rows = [r._mapping for r in conn.execute(query)]
    return {row["stage"]: (row["value"], row["n"]) for row in rows}
