"""The comp plans file: validation (refused whole, every problem with its line), versions, `comp load` / `show`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import bot
from db.schema import bot_comp_plan_versions
from metrics.comp_plans import CompPlanError, Tier, read_plans_file
from tests.orgs import build_small_org

GOOD = """\
plans:
  - name: AE 2027
    period: quarter
    target_incentive: 30000
    credit: closed_won
    tiers:
      - {from: 0.0, to: 0.5, multiplier: 0.5}
      - {from: 0.5, to: 1.0, multiplier: 1.0}
      - {from: 1.0, multiplier: 1.5}
    tier_mode: marginal
    cap: 2.5
    spiffs:
      - {name: New logo, amount: 500, where: {source: New Business}}
      - {name: Multi-year, rate: 0.01, where: {product: Platform Plus}}
assignments:
  - {role: rep, plan: AE 2027, from: 2026-01-01}
  - {rep: ann.rep@example.com, plan: AE 2027, from: 2026-07-01}
"""

BAD = """\
plans:
  - name: AE 2027
    period: fortnight
    target_incentive: lots
    tiers:
      - {from: 0.0, to: 0.5, multiplier: 0.5}
      - {from: 0.6, to: 1.0, multiplier: 1.0}
      - {from: 1.0, multiplier: 1.5}
    tier_mode: sideways
    cap: -1
    spiffs:
      - {name: Both, amount: 500, rate: 0.01}
  - name: AE 2027
    period: month
    target_incentive: 100
    tiers:
      - {from: 0.0, to: 2, multiplier: 1}
    colour: blue
assignments:
  - {role: wizard, plan: AE 2027, from: 2026-01-01}
  - {rep: nobody@example.com, plan: AE 2027, from: 2026-13-01}
  - {role: rep, plan: Nope, from: 2026-01-01}
"""


def test_the_issue_example_reads_exactly():
    book = read_plans_file(GOOD, {"ann.rep@example.com"})
    plan = book.plans["AE 2027"]
    assert plan.period == "quarter" and plan.target_incentive == Decimal("30000")
    assert plan.tiers == (Tier(Decimal("0.0"), Decimal("0.5"), Decimal("0.5")),
                          Tier(Decimal("0.5"), Decimal("1.0"), Decimal("1.0")),
                          Tier(Decimal("1.0"), None, Decimal("1.5")))
    assert plan.tier_mode == "marginal" and plan.cap == Decimal("2.5")
    assert [(s.name, s.amount, s.rate, s.where) for s in plan.spiffs] == [
        ("New logo", Decimal("500"), None, (("source", ("New Business",)),)),
        ("Multi-year", None, Decimal("0.01"), (("product", ("Platform Plus",)),)),
    ]
    assert [(a.role, a.rep_email, a.starts) for a in book.assignments] == [
        ("rep", None, date(2026, 1, 1)), (None, "ann.rep@example.com", date(2026, 7, 1))]


def test_a_bad_file_is_refused_whole_with_every_problem_on_its_line():
    with pytest.raises(CompPlanError) as caught:
        read_plans_file(BAD, {"ann.rep@example.com"})
    lines = str(caught.value).splitlines()
    assert lines[0] == "the plans file was refused, nothing was loaded (13 problems):"
    assert lines[1:] == [
        "  line 3: plan 'AE 2027': period must be one of month, quarter, year, not 'fortnight'",
        "  line 4: plan 'AE 2027': target_incentive must be a number, not 'lots'",
        "  line 7: plan 'AE 2027': tier 2: from must be 0.5 (bands start at 0 and each starts where the one "
        "before ends)",
        "  line 9: plan 'AE 2027': tier_mode must be marginal or retroactive, not 'sideways'",
        "  line 10: plan 'AE 2027': cap must be above 0",
        "  line 12: plan 'AE 2027': spiff 1: give exactly one of amount (per deal) or rate (share of the deal)",
        "  line 13: plan 2: the name 'AE 2027' is used twice",
        "  line 17: plan 'AE 2027': tier 1: the last band must leave out `to`, so every attainment falls in a band",
        "  line 18: plan 2: unknown key 'colour' (expected name, period, target_incentive, credit, tiers, tier_mode, "
        "cap, spiffs)",
        "  line 20: assignment 1: role must be one of rep, manager, exec, ops, not 'wizard'",
        "  line 21: assignment 2: from must be a date like 2026-01-01",
        "  line 21: assignment 2: no rep has the email 'nobody@example.com'",
        "  line 22: assignment 3: no plan is called 'Nope'",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("plans: [\n  {name: x\n", "the plans file is not valid YAML (line 3)"),
    ("", "the plans file is empty. Nothing was loaded."),
    ("assignments: []\n", "line 1: the file has no `plans:` list"),
])
def test_unreadable_files_say_what_is_wrong(text, expected):
    with pytest.raises(CompPlanError) as caught:
        read_plans_file(text)
    assert expected in str(caught.value)


@pytest.fixture
def comp(db, monkeypatch, small_org_clock, tmp_path, capsys):
    build_small_org(db.engine)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.delenv("FISCAL_YEAR_START_MONTH", raising=False)

    def run(*args: str):
        code = bot.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _versions(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(bot_comp_plan_versions)).scalar_one()


def test_comp_load_refuses_a_bad_file_and_writes_nothing(db, comp, tmp_path):
    (tmp_path / "bad.yml").write_text(BAD)
    code, out, err = comp("comp", "load", "bad.yml")
    assert code == 1 and out == ""
    assert err.startswith("error: the plans file was refused, nothing was loaded (13 problems):\n")
    assert "  line 22: assignment 3: no plan is called 'Nope'" in err
    assert _versions(db) == 0
    code, _, err = comp("comp", "load", "missing.yml")
    assert (code, err) == (1, "error: there is no file 'missing.yml'.\n")


def test_a_changed_file_is_a_new_version_and_past_periods_keep_the_old_one(db, comp, tmp_path):
    (tmp_path / "plans.yml").write_text(GOOD)
    assert comp("comp", "load", "plans.yml", "--from", "2026-01-01")[0] == 0
    code, out, _ = comp("comp", "load", "plans.yml")
    assert code == 0 and "is the same as version 1" in out and _versions(db) == 1
    (tmp_path / "plans.yml").write_text(GOOD.replace("target_incentive: 30000", "target_incentive: 60000"))
    code, out, _ = comp("comp", "load", "plans.yml", "--from", "2026-10-01")
    assert code == 0 and out.startswith("loaded plans.yml: version 2,") and _versions(db) == 2
    # Ann, Q3 2026 under version 1: won nothing in Q3 (quota 9000) -> 0; Q4 under version 2: won 3000 of 10000
    # -> 30% in the first band: 60000 x 0.5 x 3000 / 10000 = 9000.00 (version 1 would say 4500.00)
    q3 = json.loads(comp("metrics", "payout", "--period", "2026-Q3", "--scope", "ann.rep@example.com",
                         "--format", "json")[1], parse_float=Decimal)
    q4 = json.loads(comp("metrics", "payout", "--period", "2026-Q4", "--scope", "ann.rep@example.com",
                         "--format", "json")[1], parse_float=Decimal)
    assert (q3["rows"][0]["value"], q3["rows"][0]["quota"]) == (0, 9000)
    assert q4["rows"][0]["value"] == Decimal("9000")
    code, out, _ = comp("comp", "show")
    assert code == 0 and out.startswith("version 2 of 2, in force from 2026-10-01")
    assert "AE 2027: per quarter, target incentive 60,000, marginal tiers, cap 2.5× target incentive" in out
    assert "  rep ann.rep@example.com: AE 2027 from 2026-07-01" in out
