"""The benchmark's hand-written SQL and the metrics layer agree on a demo org (timings are not asserted)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from config import load_settings
from db.demo import build_demo
from metrics.bench import METRICS, run_bench


def test_every_benchmarked_metric_matches_its_hand_written_sql(db):
    build_demo(db.engine, seed=3, reps=30, deals=1500, today=date.today())
    rows = run_bench(db.engine, replace(load_settings({}), database_url=db.url), runs=1)
    assert {(r.metric, r.scope) for r in rows} == {(m, s) for m in METRICS for s in ("rep", "team", "org")}
    mismatched = [(r.metric, r.scope) for r in rows if not r.answers_match]
    assert mismatched == []
