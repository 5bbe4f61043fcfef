"""What every listener needs, built once at start-up and closed over by the listeners."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine

from config import Settings
from handlers.fairuse import AnswerGate, RateLimiter, RecentLanguages, pool_slots
from handlers.seen_events import SeenEvents
from handlers.workers import DrainableExecutor
from metrics.cache import ResultCache
from metrics.clock import zone


@dataclass
class BotDeps:
    engine: Engine
    settings: Settings
    cache: ResultCache = field(default_factory=lambda: ResultCache(60))
    # Slack's redeliveries, recognised by every replica on this database (handlers/seen_events.py)
    seen_events: SeenEvents = field(init=False)
    limiter: RateLimiter | None = None
    gate: AnswerGate | None = None
    workers: DrainableExecutor | None = None
    # the language each Slack user was last answered in, for refusals said without a database read
    languages: RecentLanguages = field(default_factory=RecentLanguages)

    def __post_init__(self) -> None:
        self.seen_events = SeenEvents(self.engine)
        serving = self.settings.serving
        if self.limiter is None:
            self.limiter = RateLimiter(serving.rate_limit_per_minute)
        if self.gate is None:
            self.gate = AnswerGate(serving.answer_slots or pool_slots(self.engine), serving.busy_queue,
                                   serving.busy_wait_seconds)
        if self.workers is None:  # room for every answer running or queued, and the listeners that answer nothing
            self.workers = DrainableExecutor(self.gate.slots + self.gate.queue + 4)


def viewer_today(deps: BotDeps, viewer, now: datetime) -> date:
    """The viewer's local date at `now` (their time zone, else the org's)."""
    return now.astimezone(zone(viewer.timezone, deps.settings.default_timezone)).date()
