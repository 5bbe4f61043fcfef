"""What every listener needs, built once at start-up and closed over by the listeners."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import Engine

from config import Settings
from handlers.fairuse import AnswerGate, RateLimiter, pool_slots
from handlers.workers import DrainableExecutor
from metrics.cache import ResultCache


class SeenEvents:
    """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num); bolt does not dedupe, so we do."""

    def __init__(self, size: int = 5000):
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def first_time(self, body: dict) -> bool:
        event_id = body.get("event_id")
        if not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


@dataclass
class BotDeps:
    engine: Engine
    settings: Settings
    cache: ResultCache = field(default_factory=lambda: ResultCache(60))
    seen_events: SeenEvents = field(default_factory=lambda: SeenEvents())
    limiter: RateLimiter | None = None
    gate: AnswerGate | None = None
    workers: DrainableExecutor | None = None

    def __post_init__(self) -> None:
        serving = self.settings.serving
        if self.limiter is None:
            self.limiter = RateLimiter(serving.rate_limit_per_minute)
        if self.gate is None:
            self.gate = AnswerGate(serving.answer_slots or pool_slots(self.engine), serving.busy_queue,
                                   serving.busy_wait_seconds)
        if self.workers is None:  # room for every answer running or queued, and the listeners that answer nothing
            self.workers = DrainableExecutor(self.gate.slots + self.gate.queue + 4)
