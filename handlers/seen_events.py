"""Which Slack events the bot has already taken, shared by every replica and kept across restarts.

Slack redelivers an event when our ack was late or failed (X-Slack-Retry-Num), to whichever replica the load
balancer picks, or to this one after a restart; bolt does not de-duplicate. The replica whose insert of the
event id into `bot_seen_events` succeeds answers it. The insert is one atomic statement on both backends
(INSERT ... ON CONFLICT DO NOTHING on the primary key), so two replicas racing on one id cannot both win, as a
read followed by a write could.

Slack gives up retrying within minutes; rows older than KEEP are deleted, at most once per PURGE_EVERY in each
process, by the first event after that interval (one indexed DELETE, not one per event).

When the database cannot be reached, this process remembers the ids itself, so the asker is told once that the
data source is unavailable, not once per retry.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from db.schema import bot_seen_events

log = logging.getLogger(__name__)
KEEP = timedelta(hours=1)
PURGE_EVERY = timedelta(minutes=10)


class _RecentIds:
    """The last `size` ids this process took (the fallback while the database is away)."""

    def __init__(self, size: int):
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


class SeenEvents:
    """`first_time(body)`: True for the one delivery of an event id that should be answered, across replicas."""

    def __init__(self, engine: Engine, *, keep: timedelta = KEEP, purge_every: timedelta = PURGE_EVERY,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), fallback_size: int = 5000):
        self.engine = engine
        self.keep, self.purge_every, self.now = keep, purge_every, now
        self._fallback = _RecentIds(fallback_size)
        self._next_purge: datetime | None = None
        self._purge_lock = threading.Lock()

    def first_time(self, body: dict) -> bool:
        event_id = body.get("event_id")
        if not event_id:
            return True
        now = self.now()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        claim = (dialect.insert(bot_seen_events).values(event_id=event_id, seen_at=now)
                 .on_conflict_do_nothing(index_elements=[bot_seen_events.c.event_id]))
        try:
            with self.engine.begin() as conn:
                # an INSERT's rowcount is only kept when asked for (psycopg's result closes without rows)
                taken = conn.execute(claim, execution_options={"preserve_rowcount": True}).rowcount == 1
        except DBAPIError as exc:
            log.warning("cannot record Slack event %s in the database (%s); de-duplicating in this process only",
                        event_id, exc)
            return self._fallback.first_time(event_id)
        if taken and self._purge_due(now):
            self.purge(now)
        return taken

    def _purge_due(self, now: datetime) -> bool:
        with self._purge_lock:
            if self._next_purge is not None and now < self._next_purge:
                return False
            self._next_purge = now + self.purge_every
            return True

    def purge(self, now: datetime) -> int:
        """Forget the events seen before now - keep; returns how many rows went."""
        try:
            with self.engine.begin() as conn:
                return conn.execute(delete(bot_seen_events).where(bot_seen_events.c.seen_at < now - self.keep)).rowcount
        except DBAPIError as exc:
            log.warning("could not purge old Slack event ids: %s", exc)
            return 0
