"""A small TTL cache of query results keyed by (database, SQL, parameters, data version).

The data version is read from the database on every lookup (a handful of index-only MAX lookups), so a
cached answer is reused only while nothing it could depend on has changed: new or edited deals
(`opportunities.updated_at`), history, activities, quotas, people, exchange rates (new ones, or a rate changed in
place: the table is small enough to sum), or an explicit bump by an import.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from sqlalchemy import Connection, Select, func, select

from db.schema import activities, bot_settings, exchange_rates, opportunities, opportunity_history, quotas, reps
from ops import telemetry

DATA_VERSION_KEY = "data_version"


def data_version(conn: Connection) -> tuple:
    probes = [
        select(func.max(opportunities.c.updated_at)).scalar_subquery(),
        select(func.max(opportunities.c.id)).scalar_subquery(),
        select(func.max(opportunity_history.c.id)).scalar_subquery(),
        select(func.max(activities.c.id)).scalar_subquery(),
        select(func.max(quotas.c.id)).scalar_subquery(),
        select(func.max(reps.c.id)).scalar_subquery(),
        select(func.max(exchange_rates.c.id)).scalar_subquery(),
        select(func.sum(exchange_rates.c.rate)).scalar_subquery(),
        select(bot_settings.c.value).where(bot_settings.c.key == DATA_VERSION_KEY).scalar_subquery(),
    ]
    return tuple(conn.execute(select(*probes)).one())


def statement_key(query: Select, conn: Connection) -> tuple:
    """What identifies a statement's SQL and embedded values: SQLAlchemy's structural cache key plus the values
    of its bound parameters (falling back to the compiled text for the rare uncacheable statement)."""
    ck = query._generate_cache_key()
    if ck is None:
        compiled = query.compile(dialect=conn.dialect)
        return (str(compiled), repr(sorted(compiled.params.items(), key=str)))
    return (ck.key, tuple(repr(b.effective_value) for b in ck.bindparams))


class ResultCache:
    def __init__(self, ttl_seconds: float = 60, max_entries: int = 512):
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, tuple[float, list[dict]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def fetch(self, conn: Connection, query: Select, params: dict | None = None, *, ttl: float | None = None,
              versioned: bool = True) -> list[dict]:
        """Rows of `query`, reused for `ttl` seconds (default: the cache's) while the data version holds.

        `versioned=False` is for slow-moving org-wide statistics (e.g. how long won deals spent in each stage):
        reused for their ttl even if a deal changed meanwhile."""
        if self.ttl <= 0:
            return [dict(r) for r in conn.execute(query, params or {}).mappings()]
        ttl = self.ttl if ttl is None else ttl
        key = (str(conn.engine.url), statement_key(query, conn), repr(sorted((params or {}).items(), key=str)),
               data_version(conn) if versioned else None)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit and now - hit[0] < ttl:
                self._entries.move_to_end(key)
                self.hits += 1
                telemetry.CACHE_LOOKUPS.labels(result="hit").inc()
                return [dict(r) for r in hit[1]]
        rows = [dict(r) for r in conn.execute(query, params or {}).mappings()]
        with self._lock:
            self.misses += 1
            telemetry.CACHE_LOOKUPS.labels(result="miss").inc()
            self._entries[key] = (now, rows)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return [dict(r) for r in rows]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_default: ResultCache | None = None


def default_cache() -> ResultCache:
    global _default
    if _default is None:
        from config import load_settings

        _default = ResultCache(load_settings().cache_ttl_seconds)
    return _default
