"""Which database backends a test session uses (TEST_DATABASES), and the guard that keeps a SQLite-only session
off PostgreSQL.

- `db` runs a test on each selected backend; `postgres_only` limits a test to PostgreSQL (an advisory lock, an
  outage on a PostgreSQL connection). A test whose backend is not selected is deselected, never skipped.
- With PostgreSQL not selected, `forbid_postgres()` makes any PostgreSQL connection opened through SQLAlchemy
  in this process raise PostgresNotSelected, so a test that reaches for PostgreSQL some other way (its own URL,
  an admin engine) fails loudly instead of quietly needing a server.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, event

BACKENDS = [b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]

postgres_only = pytest.mark.parametrize("db", ["postgresql"], indirect=True)


class PostgresNotSelected(RuntimeError):
    """A test opened a PostgreSQL connection in a session whose TEST_DATABASES leaves PostgreSQL out."""


def _refuse_postgres(dialect, _conn_rec, _cargs, cparams) -> None:
    if dialect.name == "postgresql":
        raise PostgresNotSelected(
            f"TEST_DATABASES={','.join(BACKENDS)} leaves PostgreSQL out, yet a test connected to it "
            f"(database {cparams.get('dbname')!r}); take the `db` fixture or mark the test `postgres_only`")


def forbid_postgres() -> None:
    event.listen(Engine, "do_connect", _refuse_postgres)


def allow_postgres() -> None:
    if event.contains(Engine, "do_connect", _refuse_postgres):
        event.remove(Engine, "do_connect", _refuse_postgres)


def needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return bool(callspec and callspec.params.get("db") == "postgresql") or "postgres_url" in item.fixturenames


def backend_selected(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("db") if callspec else None
    if backend is not None and backend not in BACKENDS:
        return False
    return "postgresql" in BACKENDS or not needs_postgres(item)
