"""What every scheduled job gets. Jobs are plain functions `job(ctx, now) -> dict` (a summary of what they did),
so tests and the CLI call them directly with a chosen `now`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from slack_sdk import WebClient
from sqlalchemy import Engine

from config import Settings
from metrics.cache import ResultCache
from scheduler.ledger import DeliveryLedger
from scheduler.sender import SlackSender

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    def until_stopping(self, items: Sequence[T], summary: dict, what: str) -> Iterator[T]:
        """`items` one by one until a shutdown begins: the loop of a job sending one message an item stops between
        two sends (none cut in half, none left claimed) and counts the rest in `summary["interrupted"]`, which
        makes the scheduler mark the job due at once for the next leader (SchedulerService.record_run). Those
        already sent are in the delivery ledger, so the run that resumes skips them."""
        for done, item in enumerate(items):
            if self.stopping.is_set():
                summary["interrupted"] = len(items) - done
                log.info("%s stopped for the shutdown with %s left to send", what, summary["interrupted"])
                return
            yield item

    @classmethod
    def build(cls, engine: Engine, settings: Settings, client: WebClient) -> JobContext:
        return cls(engine, settings, SlackSender(client), DeliveryLedger(engine))
