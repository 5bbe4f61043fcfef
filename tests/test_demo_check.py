"""`python bot.py check` on the demo org finds exactly the planted problems (README, "Planted data-quality
problems"): every planted record under its own rule, no un-planted record under any rule, no record under two."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from sqlalchemy import func, not_, select

import bot
from db.demo import PLANTED_POPULATIONS, PLANTED_RATES, build_demo
from db.schema import accounts, opportunities, reps, stages
from metrics.integrity import RULES

TODAY = date(2026, 11, 25)
REPS, DEALS = 40, 3000
RECORD_TABLES = {"duplicate_account": ("account", accounts), "rep_without_quota": ("rep", reps)}
# hand-worked: round(rate x 3,000 deals) for the rules whose population is every deal
ALL_DEALS_COUNTS = {"forecast_category_mismatch": 30, "duplicate_opportunity": 15, "amount_outlier": 15,
                    "negative_amount": 15, "missing_exchange_rate": 15}


def _planted_records(conn, planted_ids) -> set[tuple[str, str, str]]:
    """(rule, record type, external id) of every planted record."""
    out = set()
    for rule, ids in planted_ids.items():
        record_type, table = RECORD_TABLES.get(rule, ("opportunity", opportunities))
        rows = conn.execute(select(table.c.external_id).where(table.c.id.in_([int(i) for i in ids]))).scalars()
        external_ids = set(rows)
        assert len(external_ids) == len(ids), rule  # every planted id is a stored record
        out |= {(rule, record_type, external_id) for external_id in external_ids}
    return out


def _populations(conn) -> dict[str, int]:
    """Each rule's population (PLANTED_POPULATIONS), counted in the database."""
    o, s = opportunities, stages
    deals = select(func.count()).select_from(o.join(s, s.c.name == o.c.stage))
    is_open = not_(s.c.is_closed)
    n_open = conn.execute(deals.where(is_open)).scalar_one()
    n_closed = conn.execute(deals.where(s.c.is_closed)).scalar_one()
    n_all = conn.execute(deals).scalar_one()
    past_first = conn.execute(deals.where(is_open, s.c.position > 1)).scalar_one()
    late = conn.execute(deals.where(is_open, s.c.name.in_(["Proposal", "Negotiation"]))).scalar_one()
    n_accounts = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
    sellers = conn.execute(select(func.count()).where(reps.c.active, reps.c.role == "rep")).scalar_one()
    by_population = {
        "open deals past the first stage": past_first, "open deals": n_open, "closed deals": n_closed,
        "all deals": n_all, "accounts": n_accounts, "open Proposal and Negotiation deals": late,
        "active reps (role rep)": sellers,
    }
    return {rule: by_population[PLANTED_POPULATIONS[rule]] for rule in PLANTED_RATES}


@pytest.mark.parametrize("seed", [3, 7, 42])
def test_check_finds_exactly_the_planted_problems(db, monkeypatch, capsys, seed):
    summary = build_demo(db.engine, seed=seed, reps=REPS, deals=DEALS, today=TODAY)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("DEFAULT_TIMEZONE", "UTC")
    with time_machine.travel(datetime.combine(TODAY, time(12), tzinfo=UTC), tick=False):
        assert bot.main(["check", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["today"] == TODAY.isoformat()
    assert set(PLANTED_RATES) == set(RULES)  # one planted kind per integrity rule

    found = [(f["rule"], f["record_type"], f["record"]) for f in report["findings"]]
    with db.engine.connect() as conn:
        planted = _planted_records(conn, summary.planted_ids)
        populations = _populations(conn)
    assert len(found) == len(set(found))  # no record reported twice under one rule
    assert set(found) - planted == set()  # no un-planted record trips a rule
    assert planted - set(found) == set()  # every planted record is found, under its own rule
    per_record = Counter((record_type, record) for _, record_type, record in found)
    assert [key for key, n in per_record.items() if n > 1] == []  # no record carries two problems
    assert report["totals"] == {rule: len(summary.planted_ids[rule]) for rule in RULES}

    # the counts are round(rate x population), half up, the population counted in the database
    for rule, rate in PLANTED_RATES.items():
        want = math.floor(rate * populations[rule] + 0.5)
        if rule == "rep_without_quota":
            want = max(1, want)
        assert report["totals"][rule] == want, (rule, report["totals"][rule], want, populations[rule])
    assert {rule: report["totals"][rule] for rule in ALL_DEALS_COUNTS} == ALL_DEALS_COUNTS
