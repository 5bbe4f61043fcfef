"""Keeping the serving process's memory flat over days (README "Running in production", Memory).

A soak showed the bot's Python allocations bounded (caches have sizes and lifetimes) while its RSS kept growing:
glibc's malloc gives each thread that allocates its own arena (up to 8 per core), and freed memory scattered
across many arenas is rarely handed back to the system. Two remedies, both glibc-only and both no-ops elsewhere:

- `MALLOC_ARENAS` (default 2) caps the arenas with `mallopt(M_ARENA_MAX, n)` when the process starts, before
  the serving threads exist; 0 leaves glibc's default. An explicit `MALLOC_ARENA_MAX` in the environment (which
  glibc reads itself at exec) wins, and the bot then leaves the allocator alone.
- `MALLOC_MMAP_THRESHOLD` (bytes; 0: glibc's dynamic threshold) fixes the size from which a block is mapped
  on its own rather than carved out of an arena (see `fix_mmap_threshold`).
- every `MALLOC_TRIM_SECONDS` (default 30; 0: never) a daemon thread calls `malloc_trim(0)`, returning the free
  pages at the top of each arena and the whole free pages inside them to the system.

With `PYTHONTRACEMALLOC` set (`bench --soak --tracemalloc` does), `/metrics` gains
`salesbot_python_traced_bytes`: what Python itself holds, to tell Python-level growth from the allocator's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
import threading
import tracemalloc

from prometheus_client import REGISTRY, Gauge

from config import ServingSettings

log = logging.getLogger(__name__)
M_MMAP_THRESHOLD = -3  # glibc malloc.h
M_ARENA_MAX = -8


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _mallopt(libc: ctypes.CDLL | None, option: int, value: int) -> bool:
    """mallopt(option, value); returns whether glibc took it (a value of 0 or no glibc: nothing done)."""
    if libc is None or value <= 0:
        return False
    return bool(libc.mallopt(ctypes.c_int(option), ctypes.c_int(value)))


def cap_arenas(libc: ctypes.CDLL | None, arenas: int) -> bool:
    return _mallopt(libc, M_ARENA_MAX, arenas)


def fix_mmap_threshold(libc: ctypes.CDLL | None, size: int) -> bool:
    """Blocks of `size` bytes and more get their own mapping, returned to the system when freed. Setting it also
    turns off glibc's dynamic threshold, which otherwise rises (up to 32 MB) after the first such block is freed
    and from then on puts large, short-lived buffers (query results, charts, request bodies) in the arenas."""
    return _mallopt(libc, M_MMAP_THRESHOLD, size)


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


_TRACED: list[Gauge] = []


def _expose_traced_memory() -> None:
    if tracemalloc.is_tracing() and not _TRACED:
        gauge = Gauge("salesbot_python_traced_bytes", "Bytes Python holds (tracemalloc), when PYTHONTRACEMALLOC is "
                      "set.", registry=REGISTRY)
        gauge.set_function(_traced_bytes)
        _TRACED.append(gauge)


def tune_memory(serving: ServingSettings) -> Trimmer | None:
    """At the start of `run`: cap the arenas, start the trimmer; returns the trimmer (None when off)."""
    _expose_traced_memory()
    libc = _glibc()
    if libc is None:
        log.info("memory: not glibc, the allocator is left as it is")
        return None
    if serving.malloc_arena_max_env:
        log.info("memory: MALLOC_ARENA_MAX=%s is set, glibc applies it", serving.malloc_arena_max_env)
    elif cap_arenas(libc, serving.malloc_arenas):
        log.info("memory: at most %s malloc arenas", serving.malloc_arenas)
    if fix_mmap_threshold(libc, serving.malloc_mmap_threshold):
        log.info("memory: blocks of %s bytes and more are mapped on their own", serving.malloc_mmap_threshold)
    if serving.malloc_trim_seconds <= 0:
        return None
    return Trimmer(libc, serving.malloc_trim_seconds).start()
