"""The bot's answers over the small hand-built org: figures equal the metrics layer, scopes are enforced."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from assistant.service import answer_text
from config import load_settings
from metrics.scopes import viewer_by_email
from tests.orgs import build_small_org

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SETTINGS = load_settings({})


@pytest.fixture
def ask(db):
    build_small_org(db.engine)

    def ask(email: str, text: str):
        with db.engine.connect() as conn:
            viewer = viewer_by_email(conn, email)
        return answer_text(db.engine, viewer, text, settings=SETTINGS, now=NOW)

    return ask


def figures(answer) -> dict:
    return {f.label: f.value for f in answer.figures}


def test_rep_pipeline_and_quota(ask):
    a = ask("ann.rep@example.com", "/sales pipeline")
    assert a.kind == "metric"
    # Ann's Q4 open pipeline: 1000 + 2000 (the omitted 700 and the January 4000 are out)
    assert figures(a)["Pipeline"] == Decimal("3000.00")
    assert figures(a)["Weighted"] == Decimal("2100.00")
    q = ask("ann.rep@example.com", "how am I tracking to quota?")
    f = figures(q)
    assert (f["Closed won"], f["Quota"], f["Attainment"], f["Gap to quota"]) == (
        Decimal("3000.00"), Decimal("10000.00"), Decimal("0.3000"), Decimal("7000.00"))


def test_rep_cannot_see_another_rep(ask):
    a = ask("ann.rep@example.com", "/sales pipeline Bob Rep")
    assert a.kind == "refusal"
    assert not a.figures and a.table is None
    assert "your own numbers" in a.lines[0]


def test_manager_team_quota_table(ask):
    a = ask("max.manager@example.com", "/sales quota team")
    assert figures(a)["Quota"] == Decimal("18000.00")
    owners = {row[0] for row in a.table.rows}
    assert owners == {"Ann Rep", "Bob Rep"}


def test_exec_leaderboard_orders_by_attainment(ask):
    a = ask("erin.exec@example.com", "/sales leaderboard org")
    assert [row[1] for row in a.table.rows] == ["Cat Rep", "Bob Rep", "Ann Rep"]


def test_typo_is_understood_and_stated(ask):
    a = ask("ann.rep@example.com", "/sales pipline")
    assert a.kind == "metric" and "pipline" in a.understood


def test_bad_period_gets_a_sentence(ask):
    a = ask("ann.rep@example.com", "/sales pipeline q5")
    assert a.kind == "error" and not a.figures and a.error_id is None
    assert len(a.lines) == 1
    assert a.lines[0].startswith("There is no Q5: a fiscal year has quarters Q1 to Q4. Periods look like: today,")


def test_integrity_is_for_ops(ask):
    assert ask("ann.rep@example.com", "/sales integrity").kind == "error"
    assert ask("olly.ops@example.com", "/sales integrity").kind == "list"


@pytest.mark.parametrize("text", ["/sales help", "/sales forecast", "/sales deals this quarter", "/sales stalled",
                                  "/sales winrate", "/sales cycle", "/sales funnel", "/sales changes",
                                  "/sales settings", "/sales digest", "/sales deal Acme platform",
                                  "/sales pipeline chart", "/sales quota chart", "/sales leaderboard team chart",
                                  "/sales forecast chart"])
def test_every_subcommand_answers(ask, text):
    a = ask("max.manager@example.com", text)
    assert a.kind in ("metric", "list", "help", "info", "deal", "error")
    assert a.error_id is None, a.lines
    if text.startswith("/sales deal "):
        assert a.kind == "deal" and a.deal.record == "opp-acme-platform", a.lines
