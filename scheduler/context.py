"""What every scheduled job gets. Jobs are plain functions `job(ctx, now) -> dict` (a summary of what they did),
so tests and the CLI call them directly with a chosen `now`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from sqlalchemy import Engine

from config import Settings
from metrics.cache import ResultCache
from scheduler.ledger import DeliveryLedger
from scheduler.sender import SlackSender


@dataclass
class JobContext:
    engine: Engine
    settings: Settings
    sender: SlackSender
    ledger: DeliveryLedger
    cache: ResultCache = field(default_factory=lambda: ResultCache(0))
    # CrmSettings -> the CRM connector; None: crm.cli.make_connector (the credentials set decide)
    crm_connector: Callable | None = None
    # set when the process is shutting down: a long job stops at its next safe point (a digest run after the
    # delivery it is sending) and says how much it left ("interrupted"), for the next leader to resume at once
    stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def build(cls, engine: Engine, settings: Settings, client: WebClient) -> JobContext:
        return cls(engine, settings, SlackSender(client), DeliveryLedger(engine))
