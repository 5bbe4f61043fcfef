"""Engines and the automatic schema upgrade.

`get_engine()` is the one way code gets a database: it normalises the URL (plain `postgresql://` uses psycopg 3),
turns on SQLite's foreign keys and WAL, and runs any pending Alembic migration the first time an engine is made
for a URL, so a new database is ready without a separate step.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from errors import UserError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()
# An arbitrary constant: the PostgreSQL advisory lock key that serialises migrations between replicas.
_MIGRATION_LOCK_KEY = 0x5A1E5B07


class DatabaseURLError(UserError, ValueError):
    """DATABASE_URL cannot be used: a sentence for the person who set it, never a stack trace."""


def normalise_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseURLError(
            f"DATABASE_URL {url!r} is not a database URL "
            "(try sqlite:///salesops.db or postgresql+psycopg://user@host/dbname)."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("postgresql", "sqlite"):
        raise DatabaseURLError(f"DATABASE_URL uses {backend!r}; the bot supports SQLite and PostgreSQL.")
    return parsed.render_as_string(hide_password=False)


class _Median:
    """SQLite aggregate `median(x)`: the middle value (mean of the two middle ones), NULLs ignored."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        ordered = sorted(self.values)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# What SQLite holds per connection, bounded: the pool keeps up to 15 (SQLAlchemy's 5 + 10 overflow for a file
# database) for the life of the process, and a 10-minute soak saw SQLite's heap grow 25 -> 38 MB, half the serving
# process's RSS growth. Most of it was prepared statements: Python's sqlite3 keeps 128 a connection, and a tree's
# queries differ in their text from one asker to the next, so the cache keeps filling (one connection answering
# six managers: 1.3 -> 3.8 MB with 128, flat at 1 MB with 16). The page cache (SQLite's default 2,000 KiB) is
# the rest; the operating system caches the file anyway, so a smaller one costs a system call per page, not a
# disk read. mmap_size stays 0 (mapped pages of the database would count in the RSS) and temp_store stays FILE
# (a large sort spills to a temporary file, not the heap). README "Running in production", Memory.
SQLITE_CACHE_KIB = 512
SQLITE_CACHED_STATEMENTS = 16


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.create_aggregate("median", 1, _Median)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()


def create_raw_engine(url: str) -> Engine:
    """An engine without the migration step (migrations and tests use it)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "cached_statements": SQLITE_CACHED_STATEMENTS})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # The bot's sessions run without JIT compilation: its queries take milliseconds to a second or two, and
    # compiling them cost 0.2-0.5 s each at 1,000,000 deals (org-wide stuck-in-stage: 0.85 s with JIT, 0.38 s
    # without). And every execution is planned for its own values: psycopg prepares a statement after a few runs,
    # and PostgreSQL's generic plan cannot tell a quarter's close dates from a year's (velocity at 100,000 deals:
    # 49 ms generic, 28 ms planned for the values; planning costs well under a millisecond).
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         connect_args={"options": "-c jit=off -c plan_cache_mode=force_custom_plan"})


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run pending migrations; on PostgreSQL under an advisory lock so replicas do not race."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def get_engine(url: str) -> Engine:
    """The shared engine for `url`, migrated to the head revision on first use."""
    key = normalise_url(url)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = create_raw_engine(key)
            if current_revision(engine) != head_revision():
                upgrade(engine)
            _ENGINES[key] = engine
        return engine


def dispose_all() -> None:
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
