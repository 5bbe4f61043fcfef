"""How old the synced CRM data is (DESIGN §3b): the sentence every answer, digest and `/sales status` carries.

The age is that of the oldest last success among the synced objects (an answer mixes deals, history and
activities, so it is as old as its oldest part). Older than three sync intervals, the sentence says so plainly
and why: the last syncs failed, or none has run since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from config import CrmSettings
from crm.state import ObjectState, is_object, read_states
from i18n import _, ngettext

STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True)
class Freshness:
    connector: str
    oldest_success: datetime | None  # None: some object has never synced
    stale: bool
    failing: bool  # the last attempt of some object (or of the scheduled run) failed

    def sentence(self, now: datetime) -> str:
        if self.oldest_success is None:
            return (_("CRM data is incomplete: the last syncs failed") if self.failing
                    else _("CRM data is incomplete: no {crm} sync has finished yet").format(crm=self.connector))
        age = now - self.oldest_success
        if not self.stale:
            return (_("CRM synced just now") if age < timedelta(minutes=1)
                    else _("CRM synced {age} ago").format(age=age_text(age)))
        if self.failing:
            return _("CRM data is {age} old: the last syncs failed").format(age=age_text(age))
        return _("CRM data is {age} old: no sync has run since").format(age=age_text(age))


def sync_freshness(conn: Connection, crm: CrmSettings, now: datetime) -> Freshness | None:
    """None when no CRM is configured (the data comes from CSV imports)."""
    if crm.connector is None:
        return None
    states = read_states(conn, crm.connector)
    objects = [s for s in states if is_object(s.object)]
    oldest = _oldest(objects)
    stale = oldest is None or now - oldest > timedelta(minutes=STALE_AFTER_INTERVALS * crm.sync_minutes)
    return Freshness(crm.connector, oldest, stale, any(s.consecutive_failures for s in states))


def _oldest(objects: list[ObjectState]) -> datetime | None:
    if not objects or any(s.last_success_at is None for s in objects):
        return None
    return min(s.last_success_at for s in objects)


def age_text(age: timedelta) -> str:
    """4 min, 2 h, 3 days: whole units, rounded down."""
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 60:
        return _("{count} min").format(count=minutes)
    if minutes < 48 * 60:
        return _("{count} h").format(count=minutes // 60)
    days = minutes // (24 * 60)
    return ngettext("{count} day", "{count} days", days).format(count=days)
