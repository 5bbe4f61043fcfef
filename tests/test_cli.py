"""`python bot.py metrics …` and `python bot.py db upgrade|current`, run in-process through bot.main.

The figures are the small org's (tests/orgs.py), worked out by hand for Q4 2026 (today is SMALL_ORG_NOW):
open pipeline closing in Q4, omitted left out — Ann: Proposal 1,000 + Negotiation 2,000 = 3,000 (2 deals);
Bob: Prospecting 300 (1); Ann's 4,000 closes in January and her 700 is forecast as omitted. Closed won in Q4 —
Ann 3,000, Bob 1,000 + 2,000, Cat 5,000: 11,000 for the org. Ann's quota for Q4 is 10,000.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

import bot
from db.schema import reps
from tests.conftest import ADMIN_URL
from tests.orgs import build_small_org

VERSIONS = Path(__file__).resolve().parent.parent / "db" / "migrations" / "versions"
ANN, MAX = "ann.rep@example.com", "max.manager@example.com"


@pytest.fixture
def cli(db, monkeypatch, small_org_clock, tmp_path):
    """Run `bot.py ARGS…` on the small org: returns (exit code, stdout, stderr)."""
    org = build_small_org(db.engine)
    monkeypatch.chdir(tmp_path)  # where an unexpected error's trace would be written
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    for name in ("DEFAULT_TIMEZONE", "FISCAL_YEAR_START_MONTH"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str):
        code = bot.main(list(args))
        out, err = run.capsys.readouterr()
        return code, out, err

    run.org = org
    return run


@pytest.fixture
def metrics(cli, capsys):
    cli.capsys = capsys
    return cli


def as_json(out: str) -> dict:
    return json.loads(out, parse_float=Decimal)  # exact: money is compared as Decimal, never with a tolerance


def test_as_a_rep_the_default_is_their_own_numbers(metrics):
    code, out, err = metrics("metrics", "pipeline", "--as", ANN, "--format", "json")
    assert (code, err) == (0, "")
    data = as_json(out)
    assert data["scope"] == "Ann Rep"
    assert [(r["value"], r["open_count"]) for r in data["rows"]] == [(Decimal("3000"), 2)]
    code, out, _ = metrics("metrics", "attainment", "--as", ANN, "--format", "json")
    [row] = as_json(out)["rows"]
    assert (code, row["value"]) == (0, Decimal("0.3"))  # 3,000 won of a 10,000 quota: a fraction, not 30


def test_as_a_manager_the_team_and_anyone_in_it(metrics):
    code, out, _ = metrics("metrics", "pipeline", "--as", MAX, "--scope", "team", "--by", "owner",
                           "--format", "json")
    assert code == 0
    rows = sorted((r["owner"], r["value"], r["open_count"]) for r in as_json(out)["rows"])
    assert rows == [("Ann Rep", Decimal("3000"), 2), ("Bob Rep", Decimal("300"), 1)]
    code, out, _ = metrics("metrics", "closed_won", "--as", MAX, "--scope", "Bob Rep", "--format", "json")
    assert code == 0 and [r["value"] for r in as_json(out)["rows"]] == [Decimal("3000")]


@pytest.mark.parametrize("who, scope, sentence", [
    (ANN, "org", "You can't see the whole org's numbers. You can ask about your own numbers (`me`)."),
    (ANN, "Bob Rep", "You can't see Bob Rep's numbers."),
    (ANN, "team", "Team figures are for managers."),
    (MAX, "Cat Rep", "You can't see Cat Rep's numbers. You can ask about your own numbers, your team"),
    (MAX, "org", "You can't see the whole org's numbers."),
])
def test_a_scope_outside_ones_rights_is_refused_in_one_sentence(metrics, who, scope, sentence):
    code, out, err = metrics("metrics", "pipeline", "--as", who, "--scope", scope, "--format", "json")
    assert code == 1 and out == ""
    assert err.startswith("error: " + sentence) and err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_person_is_refused(metrics):
    code, out, err = metrics("metrics", "pipeline", "--as", "nobody@example.com")
    assert code == 1 and out == "" and "No rep with the email 'nobody@example.com'" in err


def test_json_has_the_documented_shape_and_the_org_figures(metrics):
    code, out, _ = metrics("metrics", "pipeline", "--by", "owner", "--format", "json")
    assert code == 0
    data = as_json(out)
    assert {"metric", "period", "rows"} <= set(data) and data["metric"] == "pipeline"
    assert (data["period"]["start"], data["period"]["end"]) == ("2026-10-01", "2026-12-31")
    assert sorted((r["owner"], r["value"]) for r in data["rows"]) == [("Ann Rep", Decimal("3000")),
                                                                     ("Bob Rep", Decimal("300"))]
    code, out, _ = metrics("metrics", "closed_won", "--period", "2026-10-01..2026-12-31", "--format", "json")
    assert code == 0 and [r["value"] for r in as_json(out)["rows"]] == [Decimal("11000")]


def test_explain_prints_the_definition_and_the_sql_it_ran(metrics, db):
    code, out, _ = metrics("metrics", "pipeline", "--explain")
    assert code == 0
    assert "definition: Σ amount of open deals closing in the period; omitted excluded" in out
    assert "period: this quarter (Q4 FY2026) = 2026-10-01 .. 2026-12-31" in out
    [sql] = re.findall(r"-- query 1\n(.*?);\n", out, re.DOTALL)
    with db.engine.connect() as conn:  # the SQL as printed runs, and gives the hand-worked org figure
        row = conn.execute(text(sql)).one()
    assert (Decimal(row.open_amount), row.open_count) == (Decimal("3300"), 3)
    assert re.search(r"3,300\.00\s+3\n", out)  # and the table after it says the same


def test_today_is_the_askers_today(db, metrics):
    """31 Dec 12:00 UTC is already 1 Jan in Auckland: for Ann there, "this quarter" is Q1 2027."""
    with db.engine.begin() as conn:
        conn.execute(update(reps).where(reps.c.id == metrics.org["A"]).values(timezone="Pacific/Auckland"))
    with time_machine.travel(datetime(2026, 12, 31, 12, tzinfo=UTC), tick=False):
        code, out, _ = metrics("metrics", "pipeline", "--as", ANN, "--format", "json")
        assert code == 0
        data = as_json(out)
        assert data["period"]["start"] == "2027-01-01"
        assert [r["value"] for r in data["rows"]] == [Decimal("4000")]  # her Prospecting deal of 15 Jan
        code, out, _ = metrics("metrics", "pipeline", "--format", "json")  # the operator: the org's UTC day
        assert as_json(out)["period"]["start"] == "2026-10-01"


# --- db upgrade / current ------------------------------------------------------------------------------------


def head_from_the_migration_files() -> str:
    """The revision no other migration names as its down_revision, read from the files themselves."""
    revisions, downs = set(), set()
    for path in VERSIONS.glob("*.py"):
        source = path.read_text()
        revisions |= set(re.findall(r"^revision\s*=\s*['\"](\w+)['\"]", source, re.MULTILINE))
        downs |= set(re.findall(r"^down_revision\s*=\s*['\"](\w+)['\"]", source, re.MULTILINE))
    [head] = revisions - downs
    return head


@pytest.fixture
def fresh_url(db, tmp_path):
    """An empty database on the same backend as `db` (no tables at all)."""
    if db.backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"salesbot_fresh_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        from db.engine import dispose_all

        dispose_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_db_upgrade_and_current_on_a_fresh_database(fresh_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    head = head_from_the_migration_files()

    assert bot.main(["db", "current"]) == 0
    assert capsys.readouterr().out == f"database at revision None (head {head})\n"
    assert bot.main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database at revision {head} (head {head})\n"
    assert bot.main(["db", "current"]) == 0
    assert capsys.readouterr().out == f"database at revision {head} (head {head})\n"
    assert bot.main(["db", "upgrade"]) == 0  # again: nothing to do, same answer
    assert capsys.readouterr().out == f"database at revision {head} (head {head})\n"
