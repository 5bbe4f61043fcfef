"""The console, `ask` and `run` without Slack tokens: same brain and renderers as Slack, from the command line."""

from __future__ import annotations

import io
import json

import bot
from tests.orgs import build_small_org


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_ask_prints_text_and_json(db, monkeypatch, capsys, small_org_clock):
    build_small_org(db.engine)
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert bot.main(["ask", "--as", "ann.rep@example.com", "/sales pipeline"]) == 0
    out = capsys.readouterr().out
    assert "Open pipeline" in out and "$3K" in out
    assert bot.main(["ask", "--as", "ann.rep@example.com", "/sales pipeline", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["blocks"] and "Open pipeline" in payload["text"]


def test_ask_unknown_person_is_one_line(db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert bot.main(["ask", "--as", "nobody@example.com", "pipeline"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No rep with the email") and "Traceback" not in err


def test_console_session_writes_charts(db, monkeypatch, tmp_path):
    from assistant import console
    from config import load_settings

    build_small_org(db.engine)
    out = io.StringIO()
    monkeypatch.chdir(tmp_path)
    code = console.run_console(db.engine, load_settings({}), "max.manager@example.com",
                               stdin=Tty("/sales quota team chart\nhow am I tracking to quota?\nquit\n"), out=out)
    text = out.getvalue()
    assert code == 0
    assert text.count("Quota attainment") == 2
    assert "chart written to" in text and list((tmp_path / "charts").glob("*.png"))


def test_run_without_tokens_builds_the_demo_and_opens_the_console(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'salesops.db'}")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.stdin", Tty("/sales pipeline\n"))
    assert bot.main(["run"]) == 0
    captured = capsys.readouterr()
    assert "No SLACK_BOT_TOKEN" in captured.err
    assert "Open pipeline" in captured.out


def test_piped_console_input_is_echoed(db, small_org_clock):
    from assistant import console
    from config import load_settings

    build_small_org(db.engine)
    out = io.StringIO()
    console.run_console(db.engine, load_settings({}), "ann.rep@example.com", stdin=Tty("/sales pipeline\nquit\n"),
                        out=out)
    lines = out.getvalue().splitlines()
    assert lines[2] == f"{console.PROMPT}/sales pipeline"
    assert lines[3].startswith("Open pipeline") and lines[-1] == f"{console.PROMPT}quit"
