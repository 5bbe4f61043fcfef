"""README claims about the command line and settings that no other test proved: `metrics --format csv|table`,
STALLED_DAYS_BY_SEGMENT read from the environment, REQUIRE_POSTGRES turning a skip into a failure.

Figures are the small org's (tests/orgs.py), worked out by hand in tests/test_cli.py's docstring: open pipeline
closing in Q4 2026 — Ann 3,000 (2 deals), Bob 300 (1 deal)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot
from config import ConfigError, load_settings
from tests.test_cli import cli, metrics  # noqa: F401, F811  (fixtures: bot.main on the small org)

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_csv_is_a_header_and_one_row_per_group(metrics):  # noqa: F811
    code, out, err = metrics("metrics", "pipeline", "--by", "owner", "--period", "2026-q4", "--format", "csv")
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["owner", "value"]
    got = {r[0]: r[1] for r in body}
    assert got == {"Ann Rep": "3000.00", "Bob Rep": "300.00"}


def test_metrics_table_is_aligned_under_its_headings(metrics):  # noqa: F811
    code, out, _ = metrics("metrics", "pipeline", "--by", "owner", "--period", "2026-q4")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Open pipeline · Q4 FY2026 (2026-10-01 .. 2026-12-31) · ")
    heading, rule, *body = lines[1:]
    assert heading.split()[:2] == ["owner", "value"] and set(rule.replace(" ", "")) == {"-"}
    by_owner = {line[:len("Bob Rep")].strip(): line for line in body}
    assert set(by_owner) == {"Ann Rep", "Bob Rep"}
    value_end = heading.index("value") + len("value")  # numbers are right-aligned under their heading
    assert by_owner["Ann Rep"][:value_end].rstrip().endswith("3,000.00")
    assert by_owner["Bob Rep"][:value_end].rstrip().endswith("300.00")


def test_stalled_days_by_segment_is_read_from_the_environment():
    settings = load_settings({"STALLED_DAYS_BY_SEGMENT": "Enterprise=21, SMB=10", "STALLED_NO_ACTIVITY_DAYS": "9"})
    assert settings.stalled_days_by_segment == {"enterprise": 21, "smb": 10}
    assert settings.stalled_no_activity_days == 9
    with pytest.raises(ConfigError, match="STALLED_DAYS_BY_SEGMENT entries look like Enterprise=21"):
        load_settings({"STALLED_DAYS_BY_SEGMENT": "Enterprise:21"})


def test_a_bad_setting_stops_any_command_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("STALLED_DAYS_BY_SEGMENT", "Enterprise=lots")
    assert bot.main(["jobs"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: STALLED_DAYS_BY_SEGMENT entries look like Enterprise=21") and "Traceback" not in err


def _pytest_without_a_server(require: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_POSTGRES_DB", "REQUIRE_POSTGRES")}
    env.update(TEST_DATABASES="postgresql", TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:9/postgres",
               TEST_CLOCK_SHIFT_DAYS="0")
    if require:
        env["REQUIRE_POSTGRES"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_migrations.py::test_migrations_create_the_schema_and_default_stages"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_without_a_postgresql_server_its_tests_skip_unless_require_postgres():
    skipped = _pytest_without_a_server(require=False)
    assert skipped.returncode == 0, skipped.stdout[-2000:]
    assert "SKIPPED [1]" in skipped.stdout and "PostgreSQL not reachable" in skipped.stdout
    required = _pytest_without_a_server(require=True)
    assert required.returncode != 0 and "REQUIRE_POSTGRES=1 but PostgreSQL is unreachable" in required.stdout
