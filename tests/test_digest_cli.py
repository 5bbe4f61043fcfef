"""`python bot.py digest …` and `python bot.py jobs`, run in-process through bot.main."""

from __future__ import annotations

import json
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select

import bot
from db.schema import bot_delivery_ledger
from tests.test_digest_schedule import MON_AFTER_US, build_org, dm_posts, utc


@pytest.fixture
def env(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DIGEST_TIME",
                 "QUIET_HOURS", "DEFAULT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def ledger_rows(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(bot_delivery_ledger)).scalar_one()


def test_dry_run_json_prints_the_payloads_and_sends_nothing(db, env, fake_slack, capsys):
    build_org(db.engine, fake_slack)
    env.setenv("SLACK_API_URL", fake_slack.api_url)
    assert bot.main(["digest", "--dry-run", "--all", "--date", "2026-03-09", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted((d["to"], d["kind"]) for d in out) == [
        ("berta.boss@example.com", "digest"), ("erin.exec@example.com", "exec_digest"),
        ("lars.lead@example.com", "digest"), ("nora.north@example.com", "digest"), ("sia.sub@example.com", "digest")]
    for d in out:
        assert d["date"] == "2026-03-09" and d["text"] and 0 < len(d["blocks"]) <= 50
        assert d["chart"]["filename"].endswith("2026-03-09.png")
    assert ledger_rows(db) == 0 and fake_slack.calls() == []


def test_default_is_what_is_due_now(db, env, capsys):
    build_org(db.engine)
    with time_machine.travel(utc(MON_AFTER_US, 7, 5), tick=False):
        assert bot.main(["digest", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "──── to sia.sub@example.com · morning digest · Mon Mar 9, 2026" in captured.out
    assert "──── to berta.boss@example.com" in captured.out
    assert "lars.lead" not in captured.out and "erin.exec" not in captured.out
    assert "2 digests would be sent; nothing was sent" in captured.err and "not yet" in captured.err


def test_to_one_person_whatever_the_time(db, env, capsys):
    build_org(db.engine)
    with time_machine.travel(utc(MON_AFTER_US, 2), tick=False):  # 18:00 Sunday in Los Angeles
        assert bot.main(["digest", "--dry-run", "--to", "lars.lead@example.com", "--date", "2026-03-09"]) == 0
    out = capsys.readouterr().out
    assert out.count("────") == 2 and "Lars Lead's team" in out and "Ann big" in out
    assert bot.main(["digest", "--dry-run", "--to", "ann.rep@example.com"]) == 1
    assert "digests go to managers" in capsys.readouterr().err
    assert bot.main(["digest", "--dry-run", "--to", "nobody@example.com"]) == 1
    assert "No one with the email" in capsys.readouterr().err
    assert bot.main(["digest", "--dry-run", "--to", "lars.lead@example.com", "--date", "2026-03-07"]) == 0
    assert "no digest to send (weekend)" in capsys.readouterr().err
    assert bot.main(["digest", "--dry-run", "--date", "someday"]) == 1
    assert "--date wants a date" in capsys.readouterr().err


def test_sending_needs_slack_settings(db, env, capsys):
    build_org(db.engine)
    assert bot.main(["digest", "--all"]) == 1
    err = capsys.readouterr().err
    assert "needs the Slack settings" in err and "SLACK_BOT_TOKEN" in err and "--dry-run" in err
    assert ledger_rows(db) == 0


def test_the_command_line_speaks_default_locale(db, env, capsys):
    build_org(db.engine)
    env.setenv("DEFAULT_LOCALE", "it")
    assert bot.main(["digest", "--dry-run", "--to", "nobody@example.com"]) == 1
    assert "Nessuno con l'email 'nobody@example.com' è nel database delle vendite." in capsys.readouterr().err
    assert bot.main(["digest", "--all"]) == 1
    assert "Per inviare i digest servono le impostazioni di Slack" in capsys.readouterr().err


def test_sending_goes_through_the_ledger(db, env, fake_slack, capsys):
    build_org(db.engine, fake_slack)
    env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    env.setenv("SLACK_API_URL", fake_slack.api_url)
    assert bot.main(["digest", "--all", "--date", "2026-03-09"]) == 0
    first = capsys.readouterr()
    assert first.out.count("sent ") == 5 and "digests: sent 5" in first.err
    assert bot.main(["digest", "--all", "--date", "2026-03-09", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again == []  # everything of that day is sent: nothing is even built
    for user in ("USIA", "UBERTA", "ULARS", "UERIN", "UNORA"):
        assert len(dm_posts(fake_slack, user)) == 1, user
    fake_slack.fail("chat.postMessage", error="channel_not_found", times=1)
    assert bot.main(["digest", "--to", "lars.lead@example.com", "--date", "2026-03-10"]) == 1
    err = capsys.readouterr().err
    assert "failed 1" in err and "retried on the next run" in err


def test_jobs_lists_the_schedule_without_slack(db, env, capsys):
    assert bot.main(["jobs"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["JOB", "SCHEDULE", "NEXT"]
    for job, schedule in (("digests", "every 5 min"), ("alerts", "every 15 min"), ("nudges", "every 10 min"),
                          ("integrity", "cron"), ("snapshots", "every 15 min")):
        row = next(line for line in lines if line.startswith(job + " "))
        assert schedule in row and "UTC" in row and "ready" in row
    assert "no replica is running the scheduler" in out


def test_date_words(db, env, capsys):
    build_org(db.engine)
    with time_machine.travel(utc(date(2026, 3, 10), 12), tick=False):
        assert bot.main(["digest", "--dry-run", "--all", "--date", "yesterday", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {d["date"] for d in out} == {"2026-03-09"}
