"""`csv`: an answer's full rows as a CSV file — every row (not the 15 or 30 a message shows), a header, money to
the cent, ratios as fractions, dates ISO. Hand-worked on the small org of tests/orgs.py, and a breakdown and a
deal list longer than any message, built here with known amounts; also the console's file and the CSV button."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from assistant.console import run_ask
from assistant.service import answer_text
from config import load_settings
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import parse_period
from metrics.scopes import default_scope, viewer_by_email
from render.answers import Column, Table
from render.blocks import answer_to_message
from render.export import csv_cell, csv_filename, table_csv
from tests.factories import Factory
from tests.orgs import build_small_org

SETTINGS = load_settings({})
EXEC, MAX, ANN = "erin.exec@example.com", "max.manager@example.com", "ann.rep@example.com"
BIG_REPS = 45  # more than a message shows (a breakdown shows 30 rows, a deal list 15)


@pytest.fixture
def small_org(db, small_org_clock):
    build_small_org(db.engine)
    return db.engine


def ask(engine, email: str, text: str):
    with engine.connect() as conn:
        viewer = viewer_by_email(conn, email)
    return answer_text(engine, viewer, text, settings=SETTINGS)


def rows_of(answer) -> list[list[str]]:
    return list(csv.reader(io.StringIO(table_csv(answer.export))))


def test_bookings_by_owner_hand_worked(small_org):
    answer = ask(small_org, EXEC, "bookings by owner this quarter csv")
    # Q4 2026 closed won: Ann 3000; Bob 1000 + 2000; Cat 5000 (tests/orgs.py)
    assert rows_of(answer) == [["owner", "closed won"], ["Ann Rep", "3000.00"], ["Bob Rep", "3000.00"],
                               ["Cat Rep", "5000.00"]]
    assert answer.understood is None  # `csv` is used, not "ignored"
    assert csv_filename(answer) == "closed-won-the-whole-org.csv"


def test_win_rate_rows_are_fractions(small_org):
    answer = ask(small_org, EXEC, "/sales winrate this quarter by owner csv")
    # Ann: won 3000, lost 500 → 1 of 2; Bob: 2 of 2; Cat: 1 of 1
    assert rows_of(answer) == [["owner", "win rate", "won", "lost"], ["Ann Rep", "0.5000", "1", "1"],
                               ["Bob Rep", "1.0000", "2", "0"], ["Cat Rep", "1.0000", "1", "0"]]


def test_single_figures_export_as_one_row(small_org):
    answer = ask(small_org, ANN, "/sales pipeline this quarter csv")
    table = rows_of(answer)
    # Ann's open Q4 deals: Proposal 1000 (p50) and Negotiation 2000 (p80); the omitted 700 is left out
    assert table[0][:2] == ["stage", "pipeline"]
    assert table[1:] == [["Proposal", "1000.00", "1"], ["Negotiation", "2000.00", "1"]]
    figures_only = ask(small_org, ANN, "what did I close this quarter csv")
    assert rows_of(figures_only) == [["Closed won", "Won deals"], ["3000.00", "1"]]


def test_deal_list_dates_are_iso(small_org):
    answer = ask(small_org, EXEC, "/sales deals this quarter csv")
    table = rows_of(answer)
    assert table[0] == ["deal", "owner", "stage", "amount", "close"]
    # open deals closing in Q4, largest first: Ann 2000 (Dec 15), Ann 1000 (Nov 30), Ann 700 (Nov 1), Bob 300
    assert [row[1:] for row in table[1:]] == [
        ["Ann Rep", "Negotiation", "2000.00", "2026-12-15"], ["Ann Rep", "Proposal", "1000.00", "2026-11-30"],
        ["Ann Rep", "Qualification", "700.00", "2026-11-01"], ["Bob Rep", "Prospecting", "300.00", "2026-12-01"]]


def test_csv_cells():
    assert csv_cell(Decimal("1234567.8"), "money") == "1234567.80"  # exact, never $1.2M
    assert csv_cell(Decimal("0.6667"), "ratio") == "0.6667"
    assert csv_cell(12, "money") == "12.00"
    assert csv_cell(date(2026, 12, 1), "date") == "2026-12-01"
    assert csv_cell(None, "money") == ""
    assert csv_cell("=HYPERLINK(\"x\")", "text") == "'=HYPERLINK(\"x\")"  # a spreadsheet must not run it
    assert csv_cell(Decimal("-5.5"), "money") == "-5.50"  # numbers are not text: a minus stays a minus
    table = Table([Column("name"), Column("amount", "money")], [["a, b", Decimal("1")], ['say "hi"', None]])
    assert table_csv(table) == 'name,amount\r\n"a, b",1.00\r\n"say ""hi""",\r\n'


@pytest.fixture
def big_org(db, small_org_clock):
    """A manager with BIG_REPS reps; rep i won i × 1,000.37 and has an open deal of i × 10 closing in Q4 2026."""
    f = Factory(db.engine)
    boss = f.rep("Bea Boss", role="manager", team="Big")
    expected = {}
    for i in range(1, BIG_REPS + 1):
        rep = f.rep(f"Rep {i:02d}", manager=boss, team="Big")
        won = Decimal("1000.37") * i
        f.deal(rep, "Closed Won", won, date(2026, 10, 1 + i % 28), name=f"Won {i:02d}")
        f.deal(rep, "Proposal", Decimal(10 * i), date(2026, 11, 1 + i % 28), name=f"Open {i:02d}")
        expected[f"Rep {i:02d}"] = won
    return db.engine, expected


def test_a_breakdown_longer_than_the_message(big_org):
    engine, won = big_org
    answer = ask(engine, "bea.boss@example.com", "closed won by owner this quarter csv")
    assert len(answer.table.rows) == 30 and answer.table.more == BIG_REPS - 30  # the message: "and 15 more"
    table = rows_of(answer)
    assert table[0] == ["owner", "closed won"]
    assert {row[0]: Decimal(row[1]) for row in table[1:]} == won  # every rep, to the cent
    assert len(table) == BIG_REPS + 1
    # the same rows as the metrics layer's full breakdown, in its order
    with engine.connect() as conn:
        boss = viewer_by_email(conn, "bea.boss@example.com")
        full = evaluate(conn, "closed_won", parse_period("this quarter", date(2026, 12, 1)), default_scope(boss),
                        by=("owner",), today=date(2026, 12, 1), cache=ResultCache(0))
    assert [[r["owner"], f"{r['value']:.2f}"] for r in full.rows] == table[1:]


def test_a_deal_list_longer_than_the_message(big_org):
    engine, _ = big_org
    answer = ask(engine, "bea.boss@example.com", "/sales deals this quarter csv")
    assert len(answer.table.rows) == 15
    table = rows_of(answer)
    # 45 open deals of 10 × i, largest first
    assert [(row[0], row[3]) for row in table[1:]] == [(f"Open {i:02d}", f"{10 * i}.00")
                                                      for i in range(BIG_REPS, 0, -1)]


def test_csv_button_beside_chart_on_answers_with_rows(small_org):
    answer = ask(small_org, EXEC, "bookings by owner this quarter")
    assert [a.kind for a in answer.actions] == ["share", "chart", "csv"]
    assert next(a for a in answer.actions if a.kind == "csv").value == "bookings by owner this quarter csv"
    assert answer.export is None  # no file unless asked
    buttons = [el for b in answer_to_message(answer)["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons][1:] == [("sales_chart", "Chart"),
                                                                          ("sales_csv", "CSV")]
    single = ask(small_org, ANN, "what did I close this quarter")
    assert "csv" not in [a.kind for a in single.actions]  # a single figure has no rows


def test_console_ask_writes_the_csv(small_org, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert run_ask(small_org, SETTINGS, EXEC, "bookings by owner this quarter csv", out=out) == 0
    [written] = list((tmp_path / "exports").iterdir())
    assert f"(CSV written to exports/{written.name})" in out.getvalue()
    assert written.name.startswith("closed-won-the-whole-org-")
    assert written.read_text(encoding="utf-8").splitlines() == ["owner,closed won", "Ann Rep,3000.00",
                                                                "Bob Rep,3000.00", "Cat Rep,5000.00"]
