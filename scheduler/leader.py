"""Leader election between bot replicas: exactly one replica fires scheduled jobs.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated connection that
  does nothing else (AUTOCOMMIT, outside the pool). When the leader process dies, or its connection does,
  PostgreSQL drops the session and with it the lock. TCP keepalives on that session make the server notice a
  vanished client within about half a minute.
- SQLite: an exclusive `fcntl.flock` on a file beside the database (`salesops.db.scheduler.lock`). The
  kernel releases it when the process dies.

`LeaderElection` runs a small thread: a non-leader retries the lock every `retry_seconds` (15 s by default);
the leader checks every `check_seconds` (10 s) that its lock is still held (its connection alive, the lock
still in `pg_locks`) and steps down at once when it is not. A replica therefore takes over within
`retry_seconds` (+ the server's detection of a dead client) after the leader dies: well within a minute.
Even when two replicas briefly both believe they lead (a network partition), the delivery ledger keeps every
message single.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# An arbitrary constant, distinct from the migration lock's: the advisory lock key of the scheduler leader.
LEADER_LOCK_KEY = 0x5A1E5C4E
RETRY_SECONDS = 15.0
CHECK_SECONDS = 10.0


class LeaderLock:
    """Try to become leader, check leadership is still real, give it up."""

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def still_held(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class PostgresLeaderLock(LeaderLock):
    """`pg_try_advisory_lock(key)` on its own connection (never the pool's)."""

    def __init__(self, url: str, key: int = LEADER_LOCK_KEY, connect_timeout: int = 5):
        self.url = url
        self.key = key
        self._engine = create_engine(url, poolclass=NullPool,
                                     connect_args={"connect_timeout": connect_timeout, "keepalives": 1,
                                                   "keepalives_idle": 10, "keepalives_interval": 5,
                                                   "keepalives_count": 3,
                                                   "application_name": "salesbot-scheduler-leader"})
        self._conn = None
        self._lock = threading.Lock()

    def _connect(self):
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # the server notices a vanished leader (host gone, cable cut) within ~25 s and drops its lock
        conn.execute(text("SET tcp_keepalives_idle = 10"))
        conn.execute(text("SET tcp_keepalives_interval = 5"))
        conn.execute(text("SET tcp_keepalives_count = 3"))
        return conn

    def try_acquire(self) -> bool:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            except Exception as exc:  # noqa: BLE001 - the database is away: not the leader, try again later
                log.warning("leader lock: cannot reach PostgreSQL: %s", exc)
                self._close()
                return False
            return got

    def still_held(self) -> bool:
        with self._lock:
            if self._conn is None:
                return False
            try:
                held = self._conn.execute(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                         "AND granted AND ((classid::bigint << 32) | objid::bigint) = :k"),
                    {"k": self.key},
                ).scalar()
            except Exception as exc:  # noqa: BLE001 - a dead connection means the lock is gone
                log.warning("leader lock: connection lost: %s", exc)
                self._close()
                return False
            if not held:
                self._close()
            return bool(held)

    def release(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):  # closing the session releases it anyway
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken
                self._conn.invalidate()
                self._conn.close()
            self._conn = None

    def backend_pid(self) -> int | None:
        """The PostgreSQL backend holding (or trying for) the lock; for tests and diagnostics."""
        with self._lock:
            if self._conn is None:
                return None
            return self._conn.execute(text("SELECT pg_backend_pid()")).scalar()

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key:#x}"

    def dispose(self) -> None:
        self.release()
        self._engine.dispose()


class FileLeaderLock(LeaderLock):
    """An exclusive, non-blocking `flock` on `path` (kept open while leading)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        import fcntl

        with self._lock:
            if self._fd is not None:
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return True

    def still_held(self) -> bool:
        with self._lock:
            if self._fd is None:
                return False
            try:
                os.fstat(self._fd)
            except OSError:
                self._fd = None
                return False
            return True

    def release(self) -> None:
        import fcntl

        with self._lock:
            if self._fd is not None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                finally:
                    os.close(self._fd)
                    self._fd = None

    def describe(self) -> str:
        return f"file lock {self.path}"

    def dispose(self) -> None:
        self.release()


def lock_for(engine: Engine) -> LeaderLock:
    """The right lock for the bot's database: advisory lock on PostgreSQL, file lock beside a SQLite file."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(url.render_as_string(hide_password=False))
    return FileLeaderLock(sqlite_lock_path(url.render_as_string(hide_password=False)))


def sqlite_lock_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        # an in-memory database lives in one process: any private file will do
        import tempfile

        return Path(tempfile.gettempdir()) / f"salesbot-memory-{os.getpid()}.scheduler.lock"
    return Path(database).resolve().with_name(Path(database).name + ".scheduler.lock")


class LeaderElection:
    """A daemon thread that keeps trying to lead and calls back on every change."""

    def __init__(self, lock: LeaderLock, *, on_elected: Callable[[], None], on_lost: Callable[[], None],
                 retry_seconds: float = RETRY_SECONDS, check_seconds: float = CHECK_SECONDS):
        self.lock = lock
        self.on_elected, self.on_lost = on_elected, on_lost
        self.retry_seconds, self.check_seconds = retry_seconds, check_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.is_leader = False

    def start(self) -> LeaderElection:
        self._thread = threading.Thread(target=self._loop, name="scheduler-leader", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.is_leader:
                    if not self.lock.still_held():
                        log.warning("scheduler: lost leadership (%s); pausing jobs", self.lock.describe())
                        self.is_leader = False
                        self.on_lost()
                        self._stop.wait(self.retry_seconds)  # give a healthier replica the first chance
                        continue
                    self._stop.wait(self.check_seconds)
                else:
                    if self.lock.try_acquire():
                        self.is_leader = True
                        log.info("scheduler: this replica is the leader (%s)", self.lock.describe())
                        try:
                            self.on_elected()
                        except Exception:
                            log.exception("scheduler: starting the jobs failed; stepping down")
                            self.is_leader = False
                            self.lock.release()
                            self.on_lost()
                        continue
                    self._stop.wait(self.retry_seconds)
            except Exception:  # noqa: BLE001 - the election thread must survive anything
                log.exception("scheduler: leader election error")
                self._stop.wait(self.retry_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        if self.is_leader:
            self.is_leader = False
            try:
                self.on_lost()
            except Exception:  # noqa: BLE001 - shutting down anyway
                log.exception("scheduler: error while stepping down")
        self.lock.release()
