"""What every listener needs, built once at start-up and closed over by the listeners."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from config import Settings
from handlers.seen_events import SeenEvents
from metrics.cache import ResultCache


@dataclass
class BotDeps:
    engine: Engine
    settings: Settings
    cache: ResultCache = field(default_factory=lambda: ResultCache(60))
    # Slack's redeliveries, recognised by every replica on this database (handlers/seen_events.py)
    seen_events: SeenEvents = field(init=False)

    def __post_init__(self) -> None:
        self.seen_events = SeenEvents(self.engine)
