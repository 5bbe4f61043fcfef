"""`python bot.py check` on the demo org finds every kind of planted problem."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import time_machine

import bot
from db.demo import PLANTED_RATES, build_demo
from metrics.integrity import RULES

TODAY = date(2026, 11, 25)


def test_check_finds_each_planted_problem_kind(db, monkeypatch, capsys):
    summary = build_demo(db.engine, seed=7, reps=40, deals=3000, today=TODAY)
    monkeypatch.setenv("DATABASE_URL", db.url)
    with time_machine.travel(datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC), tick=True):
        assert bot.main(["check", "--format", "json"]) == 0  # on the day the demo was built for
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert set(PLANTED_RATES) == set(RULES)  # one planted kind per integrity rule
    for rule, planted in summary.planted.items():
        assert planted > 0, rule
        # on the day the demo was built for, the check finds exactly what was planted
        assert totals[rule] == planted, (rule, totals[rule], planted)
