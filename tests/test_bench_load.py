"""`bot.py bench --load` and `--soak` run end to end on a tiny demo org: the real bot process over HTTP and the
fake Slack; the bench's own tally agrees with the bot's count of what it answered (timings are not asserted)."""

from __future__ import annotations

import json

import pytest

import bot
from bench.load import askers_needed, percentiles


def test_percentiles_are_read_off_the_sorted_samples():
    samples = [float(n) for n in range(100, -1, -1)]  # 0..100, given in reverse: the nth percentile is n
    assert percentiles(samples) == {"p50": 50.0, "p95": 95.0, "p99": 99.0}
    assert percentiles([10.0, 20.0]) == {"p50": 15.0, "p95": 19.5, "p99": 19.9}
    assert percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0}
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_a_soak_spreads_its_rate_so_nobody_passes_the_per_person_limit():
    assert askers_needed(2000, 30, 50) == 134  # 2,000 a minute at 15 each (half of 30)
    assert askers_needed(100, 30, 50) == 50
    assert askers_needed(2000, 0, 50) == 50  # no limit


@pytest.fixture
def bench_env(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "OPS_CHANNEL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "bench-results"


def test_load_acks_and_answers_every_request_once(db, bench_env, capsys):
    assert bot.main(["bench", "--load", "--deals", "400", "--reps", "60"]) == 0, capsys.readouterr().err
    result = json.loads((bench_env / f"load-{db.backend}-400.json").read_text())
    commands, clicks = result["commands"], result["clicks"]
    assert (commands["requests"], commands["acked_ok"], commands["answered_once"]) == (200, 200, 200)
    assert (clicks["requests"], clicks["acked_ok"], clicks["answered_once"]) == (20, 20, 20)
    assert commands["answered_twice_or_more"] == clicks["answered_twice_or_more"] == 0
    # the bot counted as many questions as the fake Slack received answers
    assert sum(result["outcomes"].values()) == 220
    assert len({s["user"] for s in result["requests_detail"]}) == result["people"] == 50
    assert result["error_ids"] == [] and result["exit_status"] == 0
    assert result["pool_in_use"]["at_end"] <= result["pool_in_use"]["idle_before"]
    assert set(commands["ack_ms"]) == {"p50", "p95", "p99"}


def test_soak_reports_memory_after_the_warm_up_and_the_pool_at_the_end(db, bench_env, capsys):
    assert bot.main(["bench", "--soak", "--requests", "60", "--minutes", "0.25", "--deals", "400",
                     "--reps", "60"]) == 0, capsys.readouterr().err
    result = json.loads((bench_env / f"soak-{db.backend}-400.json").read_text())
    assert (result["requests"]["requests"], result["requests"]["answered_once"]) == (60, 60)
    assert sum(result["outcomes"].values()) == 60
    rss = result["rss_mb"]
    assert rss["start"] > 0 and rss["peak"] >= max(rss["after_warm_up"], rss["end"])
    assert result["pool_in_use"]["at_end"] <= result["pool_in_use"]["idle_before"]
    out = capsys.readouterr().out
    assert "after the warm-up" in out and f"wrote bench-results/soak-{db.backend}-400.json" in out
    assert "load average" in out and set(result["load_average"]) >= {"start", "end"}
    # the soak's bot runs no scheduled job, and its allocator is tuned as in production
    log = (bench_env / "soak-bot.log").read_text()
    assert "scheduler off (SCHEDULER=off)" in log and "scheduler started" not in log
    assert "memory: at most 2 malloc arenas" in log or "memory: not glibc" in log
