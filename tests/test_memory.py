"""ops/memory.py: MALLOC_ARENAS really caps glibc's arenas (counted by glibc's own malloc_info in a fresh process
whose threads each call malloc), the trimmer calls malloc_trim on its period, and the settings read as
.env.example says."""

from __future__ import annotations

import logging
import platform
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from config import ConfigError, ServingSettings, load_settings
from ops.memory import Trimmer, _glibc, cap_arenas, tune_memory
from ops.telemetry import exposition

ROOT = Path(__file__).resolve().parent.parent
glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")

# eight threads each malloc a block and hold it; then glibc describes its heaps (one per arena) as XML
COUNT_ARENAS = """
import ctypes, sys, threading
from ops.memory import _glibc, cap_arenas
libc = _glibc()
libc.malloc.restype = ctypes.c_void_p
cap_arenas(libc, int(sys.argv[1]))
held, ready = [], threading.Barrier(9)
def grab():
    held.append(libc.malloc(4096))
    ready.wait()
threads = [threading.Thread(target=grab) for _ in range(8)]
for t in threads: t.start()
ready.wait()
libc.fopen.restype = ctypes.c_void_p
out = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(out))
libc.fclose(ctypes.c_void_p(out))
for t in threads: t.join()
"""


def heaps_with(arenas: int, tmp_path: Path) -> int:
    report = tmp_path / f"malloc-{arenas}.xml"
    subprocess.run([sys.executable, "-c", COUNT_ARENAS, str(arenas), str(report)], cwd=ROOT, check=True,
                   env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, timeout=60)
    return report.read_text().count("<heap nr=")


@glibc_only
def test_malloc_arenas_caps_the_arenas_threads_get(tmp_path):
    assert heaps_with(0, tmp_path) > 2  # glibc's default: a new arena for each new thread, up to 8 a core
    assert heaps_with(2, tmp_path) == 2
    assert heaps_with(1, tmp_path) == 1


@glibc_only
def test_the_trimmer_trims_on_its_period_until_stopped():
    trimmer = Trimmer(_glibc(), 0.05).start()
    deadline = time.monotonic() + 30
    while trimmer.trims < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    trimmer.stop()
    stopped_at = trimmer.trims
    time.sleep(0.2)
    assert stopped_at >= 3 and trimmer.trims == stopped_at


@glibc_only
def test_an_explicit_malloc_arena_max_wins_and_zero_seconds_means_no_trimmer(caplog):
    assert not cap_arenas(_glibc(), 0)
    with caplog.at_level(logging.INFO, logger="ops.memory"):
        assert tune_memory(replace(ServingSettings(), malloc_arena_max_env="4", malloc_trim_seconds=0)) is None
    assert "MALLOC_ARENA_MAX=4 is set" in caplog.text and "at most" not in caplog.text


def test_memory_and_scheduler_settings():
    serving = load_settings({}).serving
    assert (serving.malloc_arenas, serving.malloc_trim_seconds, serving.malloc_arena_max_env,
            serving.scheduler) == (2, 30, "", True)
    serving = load_settings({"MALLOC_ARENAS": "0", "MALLOC_TRIM_SECONDS": "0", "MALLOC_ARENA_MAX": "4",
                             "SCHEDULER": "OFF"}).serving
    assert (serving.malloc_arenas, serving.malloc_trim_seconds, serving.malloc_arena_max_env,
            serving.scheduler) == (0, 0, "4", False)
    with pytest.raises(ConfigError, match="SCHEDULER must be on or off, not 'sometimes'"):
        load_settings({"SCHEDULER": "sometimes"})
    with pytest.raises(ConfigError, match="MALLOC_TRIM_SECONDS must be between 0 and 86400"):
        load_settings({"MALLOC_TRIM_SECONDS": "-1"})


def test_under_tracemalloc_metrics_show_what_python_holds():
    tracemalloc.start()
    try:
        tune_memory(replace(ServingSettings(), malloc_arenas=0, malloc_trim_seconds=0))
        held = [bytearray(1_000_000) for _ in range(3)]
        body, _ = exposition()
    finally:
        tracemalloc.stop()
    found = {s.name: s.value for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert found["salesbot_python_traced_bytes"] >= 3_000_000 and len(held) == 3


def test_metrics_show_the_heap_sqlite_holds(tmp_path):
    tune_memory(replace(ServingSettings(), malloc_arenas=0, malloc_trim_seconds=0))
    conn = sqlite3.connect(tmp_path / "cache.db")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 2000)
    conn.execute("SELECT count(*) FROM t WHERE x LIKE '%y%'").fetchone()  # every page through the page cache
    body, _ = exposition()
    conn.close()
    found = {s.name: s.value for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert found["salesbot_sqlite_memory_bytes"] >= 1_000_000  # ~2 MB of pages cached (SQLite's default cap)
