"""The local chat (`console --as EMAIL`) and the one-shot `ask`: same brain and renderers as Slack."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from assistant.service import answer_text, read_for
from config import Settings
from db.languages import language_for
from i18n import set_currency, set_locale
from metrics.clock import person_by_email
from metrics.scopes import Viewer
from render.answers import Answer
from render.blocks import answer_to_message
from render.charts import render_chart
from render.export import csv_filename, table_csv
from render.text import answer_to_text

CHART_DIR = Path("charts")
CSV_DIR = Path("exports")
PROMPT = "sales> "
BANNER = ("Local console: type `/sales pipeline`, `/sales help` or a question "
          "(\"how am I tracking to quota?\"). `quit` or Ctrl-D to leave.")


def viewer_for(engine: Engine, email: str) -> Viewer:
    """The person `--as EMAIL` names, on the clock Slack knows for them (as in the chat)."""
    with engine.connect() as conn:
        return person_by_email(conn, email)


def speak_as(engine: Engine, settings: Settings, viewer: Viewer) -> str:
    """Answer in the person's language (`/sales settings language`, else DEFAULT_LOCALE), as Slack does."""
    set_currency(settings.org_currency)
    return set_locale(language_for(engine, settings.default_locale, rep_id=viewer.rep_id))


def write_chart(answer: Answer, chart_dir: Path = CHART_DIR) -> Path | None:
    if answer.chart is None:
        return None
    chart_dir.mkdir(parents=True, exist_ok=True)
    path = chart_dir / f"{answer.chart.kind}-{datetime.now(UTC):%Y%m%d-%H%M%S-%f}.png"
    path.write_bytes(render_chart(answer.chart))
    return path


def write_csv(answer: Answer, csv_dir: Path = CSV_DIR) -> Path | None:
    """The answer's full rows (when `csv` was asked) as a file in csv_dir, named after the answer."""
    if answer.export is None:
        return None
    csv_dir.mkdir(parents=True, exist_ok=True)
    path = csv_dir / f"{csv_filename(answer)[:-4]}-{datetime.now(UTC):%Y%m%d-%H%M%S-%f}.csv"
    path.write_text(table_csv(answer.export), encoding="utf-8", newline="")
    return path


def show(answer: Answer, settings: Settings, out=None, as_json: bool = False, chart_dir: Path = CHART_DIR,
         csv_dir: Path = CSV_DIR):
    out = out or sys.stdout
    if as_json:
        message = answer_to_message(answer, crm_url_template=settings.crm_url_template or None)
        print(json.dumps(message, indent=2, default=str), file=out)
        return
    print(answer_to_text(answer), file=out)
    chart = write_chart(answer, chart_dir)
    if chart is not None:
        print(f"(chart written to {chart})", file=out)
    rows = write_csv(answer, csv_dir)
    if rows is not None:
        print(f"(CSV written to {rows})", file=out)


def run_ask(engine: Engine, settings: Settings, email: str, text: str, as_json: bool = False, out=None) -> int:
    viewer = viewer_for(engine, email)
    speak_as(engine, settings, viewer)
    answer = answer_text(engine, viewer, text, settings=settings)
    show(answer, settings, out, as_json)
    return 1 if answer.error_id else 0


def run_parse(engine: Engine, settings: Settings, email: str, text: str, as_json: bool = False, out=None) -> int:
    """How `text` is read for this person, before any metric query runs: JSON, or one readable line."""
    out = out or sys.stdout
    reading = read_for(engine, viewer_for(engine, email), text, settings=settings)
    print(json.dumps(reading.to_dict(), indent=2, ensure_ascii=False) if as_json else reading.line(), file=out)
    return 0


def run_console(engine: Engine, settings: Settings, email: str, stdin=None, out=None) -> int:
    stdin, out = stdin or sys.stdin, out or sys.stdout
    viewer = viewer_for(engine, email)
    print(f"{BANNER}\nYou are {viewer.name} ({viewer.role}).", file=out)
    while True:
        if stdin.isatty():
            print(PROMPT, end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            print(file=out)
            return 0
        text = line.strip()
        if not stdin.isatty():
            print(f"{PROMPT}{text}", file=out)  # piped input: echo it, so the transcript shows what was asked
        if text in ("quit", "exit", ":q"):
            return 0
        if text:
            speak_as(engine, settings, viewer)  # again for each line: `settings language it` changes it
            show(answer_text(engine, viewer, text, settings=settings), settings, out)
