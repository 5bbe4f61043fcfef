"""Test databases: every test that takes `db` runs once on SQLite and once on PostgreSQL.

Which backends run comes from TEST_DATABASES ("sqlite,postgresql" by default). PostgreSQL tests use
TEST_POSTGRES_DB if set (CI creates and drops it), else a database this session creates and drops on the server
at TEST_POSTGRES_URL (default postgres@127.0.0.1:5432). When no server answers, they skip, unless
REQUIRE_POSTGRES=1, which turns the skip into a failure (CI sets it so a silent skip cannot pass). A session
without PostgreSQL in TEST_DATABASES deselects the PostgreSQL-only tests and refuses any PostgreSQL connection
(tests/backends.py).

The clock: TEST_CLOCK_SHIFT_DAYS=N runs the whole session with the clock N days ahead (CI runs the suite once
a year ahead), so a test that reads the real clock against fixed dates fails here, not on January 1st. Tests on
the hand-built org of tests/orgs.py (fixed dates in Q4 2026) take `small_org_clock`, which holds the clock at
SMALL_ORG_NOW, ticking.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from db.engine import create_raw_engine, dispose_all, upgrade
from db.schema import BOT_TABLES, CONFIG_TABLES, DEFAULT_STAGES, SALES_TABLES, bot_scheduler_jobs, stages
from tests.backends import BACKENDS, backend_selected, forbid_postgres, needs_postgres

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
CLOCK_SHIFT_DAYS = int(os.environ.get("TEST_CLOCK_SHIFT_DAYS", "0") or 0)
# The moment the small org's figures (tests/orgs.py, tests/test_metrics_kpis.py) are worked out for.
SMALL_ORG_NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session", autouse=True)
def shifted_clock():
    """With TEST_CLOCK_SHIFT_DAYS set, the session runs that many days ahead of the real clock (ticking)."""
    if not CLOCK_SHIFT_DAYS:
        yield None
        return
    with time_machine.travel(datetime.now(UTC) + timedelta(days=CLOCK_SHIFT_DAYS), tick=True) as traveller:
        time.time()  # time-machine starts ticking at the first reading: now, not whenever a test first reads it
        yield traveller


@pytest.fixture
def small_org_clock():
    """The clock at SMALL_ORG_NOW, ticking: for tests whose expectations follow tests/orgs.py's fixed dates."""
    with time_machine.travel(SMALL_ORG_NOW, tick=True) as traveller:
        yield traveller


@dataclass
class TestDB:
    backend: str
    url: str
    engine: Engine

    __test__ = False


def _admin_engine() -> Engine:
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a migrated PostgreSQL database for this session, or a skip."""
    if "postgresql" not in BACKENDS:
        pytest.fail(f"TEST_DATABASES={','.join(BACKENDS)} leaves PostgreSQL out, yet a test asked for it")
    given = os.environ.get("TEST_POSTGRES_DB")
    created = None
    try:
        admin = _admin_engine()
        with admin.connect() as conn:
            if not given:
                created = f"salesbot_test_{uuid.uuid4().hex[:10]}"
                conn.execute(text(f'CREATE DATABASE "{created}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        if REQUIRE_POSTGRES:
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}")
    url = make_url(ADMIN_URL).set(database=given or created).render_as_string(hide_password=False)
    engine = create_raw_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    dispose_all()
    if created:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_raw_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _reset_postgres(engine: Engine) -> None:
    names = ", ".join(t.name for t in (*SALES_TABLES, *BOT_TABLES, *CONFIG_TABLES, bot_scheduler_jobs))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(insert(stages), [dict(s) for s in DEFAULT_STAGES])


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path) -> TestDB:
    """A migrated, empty sales database (default stages only) on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "sales.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = create_raw_engine(url)
        yield TestDB("sqlite", url, engine)
        engine.dispose()
        dispose_all()
        return
    url = request.getfixturevalue("postgres_url")
    engine = create_raw_engine(url)
    _reset_postgres(engine)
    yield TestDB("postgresql", url, engine)
    engine.dispose()
    dispose_all()


def pytest_configure(config):
    if "postgresql" not in BACKENDS:
        forbid_postgres()


def pytest_collection_modifyitems(config, items):
    deselected = [item for item in items if not backend_selected(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if backend_selected(item)]
    for item in items:
        if needs_postgres(item):
            item.add_marker(pytest.mark.postgresql)


from tests.fakeslack import fake_slack  # noqa: E402, F401  (the fake Slack Web API server fixture)
from tests.slackbot import running_bot  # noqa: E402, F401  (the real bot against the fake Slack)
