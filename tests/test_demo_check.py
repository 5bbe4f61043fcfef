"""`python bot.py check` on the demo org finds every kind of planted problem."""

from __future__ import annotations

import json
from datetime import date

import bot
from db.demo import PLANTED_RATES, build_demo
from metrics.integrity import RULES

TODAY = date(2026, 11, 25)


def test_check_finds_each_planted_problem_kind(db, monkeypatch, capsys):
    summary = build_demo(db.engine, seed=7, reps=40, deals=3000, today=TODAY)
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert bot.main(["check", "--format", "json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert set(PLANTED_RATES) == set(RULES)  # one planted kind per integrity rule
    for rule, planted in summary.planted.items():
        assert planted > 0, rule
        # the check runs against the real clock, so date-based rules may find a few more than were planted
        assert totals[rule] >= planted, (rule, totals[rule], planted)
