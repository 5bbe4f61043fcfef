"""ops/memory.py: MALLOC_ARENAS really caps glibc's arenas (counted by glibc's own malloc_info in a fresh process
whose threads each call malloc), the trimmer calls malloc_trim on its period, and the settings read as
.env.example says; every SQLite connection caps its page cache."""

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
from db.engine import SQLITE_CACHE_KIB, create_raw_engine
from ops.memory import Trimmer, _glibc, _sqlite_memory, cap_arenas, tune_memory
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


def _scan(conn) -> None:
    conn.exec_driver_sql("SELECT count(*) FROM t WHERE x LIKE '%y%'").scalar()  # every page through the cache


def test_every_new_sqlite_connection_caps_its_page_cache(tmp_path):
    raw = sqlite3.connect(tmp_path / "pages.db")
    raw.execute("CREATE TABLE t (x TEXT)")
    raw.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 4000)  # ~4 MB: more than either cache
    raw.commit()
    raw.close()
    raw = sqlite3.connect(tmp_path / "pages.db")  # a cold cache of SQLite's default size
    heap = _sqlite_memory()
    before = heap()
    raw.execute("SELECT count(*) FROM t WHERE x LIKE '%y%'").fetchone()
    default_cache = heap() - before  # SQLite's own default: ~2 MB of pages
    engine = create_raw_engine(f"sqlite:///{tmp_path / 'pages.db'}")
    with engine.connect() as a, engine.connect() as b, engine.connect() as c:  # three new pooled connections
        assert [x.exec_driver_sql("PRAGMA cache_size").scalar() for x in (a, b, c)] == [-SQLITE_CACHE_KIB] * 3
        assert [x.exec_driver_sql("PRAGMA mmap_size").scalar() for x in (a, b, c)] == [0] * 3
        _scan(a)
        before = heap()
        _scan(b)
        capped_cache = heap() - before
    raw.close()
    engine.dispose()
    assert default_cache > 1_500_000
    assert capped_cache < SQLITE_CACHE_KIB * 1024 * 1.25 < default_cache


def _statements_held(conn, run) -> float:
    """SQLite's heap held after 100 statements differing only in their text (as a tree's queries differ)."""
    heap = _sqlite_memory()
    before = heap()
    for i in range(100):
        run(conn, f"SELECT count(*), max(x) FROM t WHERE rowid > {1_000_000 + i} AND x LIKE '%y%'")
    return heap() - before


def test_every_new_sqlite_connection_keeps_few_prepared_statements(tmp_path):
    sqlite3.connect(tmp_path / "s.db").execute("CREATE TABLE t (x TEXT)").connection.close()
    raw = sqlite3.connect(tmp_path / "s.db")  # Python's default: 128 statements kept
    default_held = _statements_held(raw, lambda c, sql: c.execute(sql).fetchone())
    raw.close()
    engine = create_raw_engine(f"sqlite:///{tmp_path / 's.db'}")
    with engine.connect() as conn:
        capped_held = _statements_held(conn, lambda c, sql: c.exec_driver_sql(sql).one())
    engine.dispose()
    assert capped_held * 3 < default_held
