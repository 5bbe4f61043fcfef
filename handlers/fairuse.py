"""Fair use: a per-person rate limit, and a bounded wait for a free database connection.

Both are per process: with several replicas each one counts on its own, so a person's effective limit is
RATE_LIMIT_PER_MINUTE times the replicas their requests land on (Slack spreads them). That is enough to stop one
script from starving everyone; a limit shared across replicas would need a shared store and is not attempted.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager

WINDOW_SECONDS = 60.0


class RateLimiter:
    """At most `per_minute` requests per person in any 60-second window (0: no limit)."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, who: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self._clock()
        with self._lock:
            times = self._seen[who]
            while times and now - times[0] >= WINDOW_SECONDS:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            if len(self._seen) > 10_000:  # forget people who have been quiet for a minute
                for key in [k for k, v in self._seen.items() if not v or now - v[-1] >= WINDOW_SECONDS]:
                    del self._seen[key]
            return True


class AnswerGate:
    """`slots` answers are computed at once (one database connection each); up to `queue` more wait, each at most
    `wait_seconds`. A request that finds the queue full, or waits too long, is told the bot is busy."""

    def __init__(self, slots: int, queue: int, wait_seconds: float):
        self.slots, self.queue, self.wait_seconds = slots, queue, wait_seconds
        self._free = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self.waiting = 0
        self.running = 0

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Yields True while holding a slot, or False when the bot is too busy (nothing held)."""
        if not self._free.acquire(blocking=False) and not self._wait_in_queue():
            yield False  # (outside the lock: the caller answers "busy" while others come and go)
            return
        with self._lock:
            self.running += 1
        try:
            yield True
        finally:
            with self._lock:
                self.running -= 1
            self._free.release()


    def _wait_in_queue(self) -> bool:
        """Wait for a slot if the queue has room, at most `wait_seconds`; whether a slot was taken."""
        with self._lock:
            if self.waiting >= self.queue:
                return False
            self.waiting += 1
        try:
            return self._free.acquire(timeout=self.wait_seconds)
        finally:
            with self._lock:
                self.waiting -= 1


def pool_slots(engine) -> int:
    """The database pool's steady size (its overflow is left to the scheduler, health checks and start-up)."""
    size = getattr(engine.pool, "size", None)
    return max(int(size()) if callable(size) else 5, 1)


class RecentLanguages:
    """The language each Slack user was last spoken to in, for `ttl_seconds`: a refusal ("wait a minute", "busy")
    is said in the person's language without a database read while the database is the scarce thing."""

    def __init__(self, ttl_seconds: float = 600.0, clock=time.monotonic, most: int = 10_000):
        self.ttl, self._clock, self.most = ttl_seconds, clock, most
        self._seen: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def remember(self, user_id: str, language: str) -> None:
        now = self._clock()
        with self._lock:
            self._seen[user_id] = (language, now)
            if len(self._seen) > self.most:  # forget the ones past their time
                for key in [k for k, (_lang, at) in self._seen.items() if now - at >= self.ttl]:
                    del self._seen[key]

    def recall(self, user_id: str) -> str | None:
        with self._lock:
            seen = self._seen.get(user_id)
        if seen is None or self._clock() - seen[1] >= self.ttl:
            return None
        return seen[0]

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
