"""The benchmark's hand-written SQL and the metrics layer agree on a demo org (timings are not asserted), the
comparison between them is exact, and `bot.py bench` runs end to end from the command line."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

import bot
from config import load_settings
from db.demo import build_demo
from metrics.bench import METRICS, answer_difference, run_bench, same_figure
from metrics.bench_asof import AS_OF_QUESTIONS

SCOPES = ("rep", "team", "vp", "org")


def test_every_benchmarked_metric_matches_its_hand_written_sql(db):
    build_demo(db.engine, seed=3, reps=30, deals=1500, today=date.today())
    rows = run_bench(db.engine, replace(load_settings({}), database_url=db.url), runs=1)
    assert {(r.metric, r.scope) for r in rows} == {(m, s) for m in METRICS + AS_OF_QUESTIONS for s in SCOPES}
    mismatched = [(r.metric, r.scope, r.difference) for r in rows if not r.answers_match]
    assert mismatched == []


@pytest.mark.parametrize("kind", ["count", "money", "days", "ratio"])
def test_unknown_is_not_zero(kind):
    assert not same_figure(None, 0, kind)
    assert not same_figure(0, None, kind)
    assert not same_figure(None, 0.0, kind)
    assert same_figure(None, None, kind)


def test_a_cent_off_is_a_difference():
    assert not same_figure(Decimal("100.00"), Decimal("100.01"), "money")
    assert not same_figure(Decimal("100.01"), Decimal("100.00"), "money")
    assert not same_figure(Decimal("100.00"), 100.01, "money")
    assert same_figure(Decimal("100.01"), Decimal("100.0100"), "money")
    # SQLite's float for a prorated 16.555 is 16.554999999999996: it is 16.555, which shows as 16.56 (half-even)
    assert same_figure(Decimal("16.56"), 16.554999999999996, "money")
    assert not same_figure(Decimal("16.55"), 16.554999999999996, "money")
    # the layer's figure must itself be shown in cents
    assert not same_figure(Decimal("16.555"), Decimal("16.555"), "money")


def test_counts_and_days_are_exact():
    assert same_figure(7, Decimal("7"), "count")
    assert not same_figure(7, 8, "count")
    assert not same_figure(7, Decimal("7.5"), "count")
    assert same_figure(Decimal("43.3"), 43.333333333333336, "days")  # mean of 130 days over 3 deals
    assert not same_figure(Decimal("43.4"), 43.333333333333336, "days")


def test_only_a_ratio_may_round_either_way_at_a_half_step():
    assert same_figure(Decimal("0.0312"), 1 / 32, "ratio")  # 0.03125: exactly half a step from each
    assert same_figure(Decimal("0.0313"), 1 / 32, "ratio")
    assert not same_figure(Decimal("0.0314"), 1 / 32, "ratio")
    assert same_figure(Decimal("0.3333"), 1 / 3, "ratio")
    assert not same_figure(Decimal("0.3334"), 1 / 3, "ratio")  # 0.0000667 away: more than half a step


def test_an_empty_answer_matches_only_an_empty_one():
    assert answer_difference("pipeline", [(0, Decimal("0.00"))], []) is not None
    assert answer_difference("pipeline", [], [(0, Decimal("0.00"))]) is not None
    assert answer_difference("conversion", [(Decimal("0.5000"),)], []) is not None
    assert answer_difference("conversion", [], []) is None
    assert answer_difference("pipeline", [(0, Decimal("0.00"))], [(0, 0)]) is None


def test_the_first_differing_figure_is_named():
    layer = [(3, Decimal("1200.00"))]
    assert answer_difference("pipeline", layer, [(3, Decimal("1200.00"))]) is None
    assert answer_difference("pipeline", layer, [(3, Decimal("1200.01"))]).startswith("row 0 value:")
    assert answer_difference("pipeline", layer, [(4, Decimal("1200.00"))]).startswith("row 0 open_count:")
    # a win rate over no closed deals: the layer counts 0 won and 0 lost; a NULL count is not that answer
    assert answer_difference("win_rate", [(0, 0, None)], [(None, None, None)]).startswith("row 0 won_count:")
    assert answer_difference("win_rate", [(0, 0, None)], [(0, 0, None)]) is None


def test_bench_command_on_a_tiny_org(db, tmp_path, monkeypatch, capsys):
    """`bot.py bench` builds a demo org of the asked size on DATABASE_URL, finds every answer equal to the
    hand-written SQL's, writes bench-results/ in the working folder, and reuses the org the second time."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    args = ["bench", "--deals", "300", "--reps", "12", "--runs", "1", "--skip-slack"]
    assert bot.main(args) == 0
    first = capsys.readouterr()
    assert first.out.splitlines()[0].startswith("built a demo org of 300 deals")
    assert "differ" not in first.err

    written = tmp_path / "bench-results" / f"bench-{db.backend}-300.json"
    result = json.loads(written.read_text())
    assert (result["database"], result["deals"], result["reps"]) == (db.backend, 300, 12)
    assert {(r["metric"], r["scope"]) for r in result["rows"]} == \
        {(m, s) for m in METRICS + AS_OF_QUESTIONS for s in SCOPES}
    assert [(r["metric"], r["scope"], r["difference"]) for r in result["rows"] if not r["answers_match"]] == []
    assert "round_trips" not in result and "charts" not in result  # --skip-slack
    names = METRICS + AS_OF_QUESTIONS
    table = [line for line in first.out.splitlines() if line.split()[:1] and line.split()[0] in names
             and line.split()[1] in SCOPES]
    assert len(table) == len(names) * len(SCOPES) and all(line.endswith("  yes") for line in table)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM opportunities").scalar_one() == 300

    written.unlink()
    assert bot.main(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == "reusing the demo org of 300 deals"
    assert written.exists()

    assert bot.main([*args, "--only", "pipeline,scorecard"]) == 0  # only those rows, no as-of rows, no backfill
    result = json.loads(written.read_text())
    assert {(r["metric"], r["scope"]) for r in result["rows"]} == {(m, s) for m in ("pipeline", "scorecard")
                                                                   for s in SCOPES}
    assert "forecast_backfill" not in result
    assert bot.main([*args, "--only", "changes,vp"]) == 0  # subcommands alone: no metric rows, still a result
    assert json.loads(written.read_text())["rows"] == []
