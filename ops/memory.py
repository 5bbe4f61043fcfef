"""Keeping the serving process's memory flat over days (README "Running in production", Memory).

A soak showed the bot's Python allocations bounded (caches have sizes and lifetimes) while its RSS kept growing:
glibc's malloc gives each thread that allocates its own arena (up to 8 per core), and freed memory scattered
across many arenas is rarely handed back to the system. Two remedies, both glibc-only and both no-ops elsewhere:

- `MALLOC_ARENAS` (default 2) caps the arenas with `mallopt(M_ARENA_MAX, n)` when the process starts, before
  the serving threads exist; 0 leaves glibc's default. An explicit `MALLOC_ARENA_MAX` in the environment (which
  glibc reads itself at exec) wins, and the bot then leaves the allocator alone.
- every `MALLOC_TRIM_SECONDS` (default 30; 0: never) a daemon thread calls `malloc_trim(0)`, returning the free
  pages at the top of each arena and the whole free pages inside them to the system.

With `PYTHONTRACEMALLOC` set (`bench --soak --tracemalloc` does), `/metrics` gains
`salesbot_python_traced_bytes`: what Python itself holds, to tell Python-level growth from the allocator's;
`salesbot_sqlite_memory_bytes` (always, where libsqlite3 is found) is SQLite's own heap, its page caches.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
import threading
import tracemalloc
from collections.abc import Callable

from prometheus_client import REGISTRY, Gauge

from config import ServingSettings

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc malloc.h


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def cap_arenas(libc: ctypes.CDLL | None, arenas: int) -> bool:
    """mallopt(M_ARENA_MAX, arenas); returns whether glibc took it (0 arenas or no glibc: nothing done)."""
    if libc is None or arenas <= 0:
        return False
    return bool(libc.mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))


class Trimmer:
    """A daemon thread calling malloc_trim(0) every `seconds` until `stop()`."""

    def __init__(self, libc: ctypes.CDLL, seconds: float):
        self.libc, self.seconds = libc, seconds
        self.trims = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)

    def start(self) -> Trimmer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            self.libc.malloc_trim(ctypes.c_size_t(0))
            self.trims += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _traced_bytes() -> float:
    return float(tracemalloc.get_traced_memory()[0]) if tracemalloc.is_tracing() else 0.0


def _sqlite_memory() -> Callable[[], float] | None:
    """SQLite's own count of the heap it holds (page caches, statements), when Python's sqlite3 uses libsqlite3."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        used = lib.sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    used.restype = ctypes.c_int64
    return lambda: float(used())


_EXPOSED: dict[str, Gauge] = {}


def _expose_memory_gauges() -> None:
    """salesbot_python_traced_bytes under tracemalloc; salesbot_sqlite_memory_bytes where libsqlite3 is found."""
    if tracemalloc.is_tracing() and "python" not in _EXPOSED:
        _EXPOSED["python"] = Gauge("salesbot_python_traced_bytes", "Bytes Python holds (tracemalloc), when "
                                   "PYTHONTRACEMALLOC is set.", registry=REGISTRY)
        _EXPOSED["python"].set_function(_traced_bytes)
    sqlite = _sqlite_memory()
    if sqlite is not None and "sqlite" not in _EXPOSED:
        _EXPOSED["sqlite"] = Gauge("salesbot_sqlite_memory_bytes", "Bytes SQLite's library holds (its page caches "
                                   "and statements), SQLite databases only.", registry=REGISTRY)
        _EXPOSED["sqlite"].set_function(sqlite)


def tune_memory(serving: ServingSettings) -> Trimmer | None:
    """At the start of `run`: cap the arenas, start the trimmer; returns the trimmer (None when off)."""
    _expose_memory_gauges()
    libc = _glibc()
    if libc is None:
        log.info("memory: not glibc, the allocator is left as it is")
        return None
    if serving.malloc_arena_max_env:
        log.info("memory: MALLOC_ARENA_MAX=%s is set, glibc applies it", serving.malloc_arena_max_env)
    elif cap_arenas(libc, serving.malloc_arenas):
        log.info("memory: at most %s malloc arenas", serving.malloc_arenas)
    if serving.malloc_trim_seconds <= 0:
        return None
    return Trimmer(libc, serving.malloc_trim_seconds).start()
