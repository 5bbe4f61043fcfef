"""TEST_DATABASES=sqlite keeps a test session off PostgreSQL (tests/backends.py, tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.backends import BACKENDS, PostgresNotSelected, allow_postgres, forbid_postgres

ROOT = Path(__file__).resolve().parent.parent
CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"


def test_the_guard_refuses_postgresql_and_lets_sqlite_through(tmp_path):
    installed_here = "postgresql" in BACKENDS  # a SQLite-only session has it on already
    if installed_here:
        forbid_postgres()
    postgres = create_engine(CLOSED_PORT_URL, connect_args={"connect_timeout": 1})
    sqlite = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(PostgresNotSelected, match="leaves PostgreSQL out"):
            postgres.connect()  # refused before any attempt: a server-less port would give OperationalError
        with sqlite.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        if installed_here:
            allow_postgres()
        postgres.dispose()
        sqlite.dispose()


def test_a_sqlite_only_session_collects_no_test_that_needs_postgresql():
    env = {**os.environ, "TEST_DATABASES": "sqlite", "TEST_POSTGRES_URL": CLOSED_PORT_URL, "REQUIRE_POSTGRES": "1"}
    env.pop("TEST_POSTGRES_DB", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider", "tests"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    collected = [line for line in run.stdout.splitlines() if "::" in line]
    assert "tests/test_replicas.py::test_an_event_redelivered_to_another_replica_is_answered_once[sqlite]" in collected
    assert not [n for n in collected if "[postgresql" in n or "advisory_lock" in n], collected
    assert "deselected" in run.stdout.splitlines()[-1]
