"""Comp follow-ups: a what-if deal name is taken verbatim (never read for a period), and loaded plans survive a
demo refresh (plans are configuration), with `comp show` naming plan rows whose rep is gone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update

import bot
from assistant.grammar import parse_request
from db.demo import build_demo
from db.schema import reps
from metrics.comp_plans import latest_version, store_version
from tests.factories import Factory
from tests.test_comp_commission import ae, ask, org  # noqa: F401 (the fixture)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "comp_plans.yml"


def test_a_what_if_deal_name_that_looks_like_a_period_sets_no_period():
    req = parse_request("/sales commission what if Q3 renewal closes?", date(2026, 12, 1))
    assert (req.intent, req.period, req.args) == ("commission", None, "what if Q3 renewal closes")
    # the words before "what if" are still read
    req = parse_request("/sales commission last quarter what if Q3 renewal", date(2026, 12, 1))
    assert (req.period.label, req.args) == ("last quarter (Q3 FY2026)", "what if Q3 renewal")


def test_what_if_q3_renewal_adds_that_deal_to_this_quarter(db, org):  # noqa: F811
    Factory(db.engine).deal(org["A"], "Negotiation", 1500, date(2026, 12, 10), name="Q3 renewal")
    answer = ask(db, "ann.rep@example.com", "/sales commission what if Q3 renewal")
    # this quarter (Q4), not Q3: Ann's 3000 won + the 1500 deal, of her 10000 quota
    assert answer.title == "Your commission · this quarter (Q4 FY2026)"
    added = ae("4500") - ae("3000")
    assert [line for line in answer.lines if " adds " in line] == [
        f"Q3 renewal closing adds ${added:,} (estimate), taking you to 45%."]


def test_a_demo_refresh_keeps_the_loaded_plans(db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    build_demo(db.engine, today=date(2026, 12, 1), seed=1, reps=20, deals=300, progress=False)
    with db.engine.begin() as conn:
        store_version(conn, EXAMPLE.read_text(), "plans.yml", date(2026, 1, 1), datetime.now(UTC))
        store_version(conn, EXAMPLE.read_text().replace("Senior AE 2026, from: 2026-07-01",
                                                        "Senior AE 2026, from: 2026-08-01"),
                      "second.yml", date(2026, 2, 1), datetime.now(UTC))
    build_demo(db.engine, today=date(2026, 12, 1), seed=2, reps=20, deals=300, progress=False)
    with db.engine.connect() as conn:
        version = latest_version(conn)
    assert (version.source, version.effective_from) == ("second.yml", date(2026, 2, 1))
    capsys.readouterr()
    assert bot.main(["comp", "show"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("version 2 of 2, in force from 2026-02-01 (loaded from second.yml")
    assert "warning" not in out
    with db.engine.begin() as conn:  # the CRM now knows the rep by another email
        conn.execute(update(reps).where(reps.c.email == "rep@demo.example.com").values(email="rep2@demo.example.com"))
    assert bot.main(["comp", "show"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        "warning: no rep in the sales data has the email rep@demo.example.com; their rows assign nobody (a changed "
        "CRM or a demo refresh?). Fix the plans file and load it again.")
