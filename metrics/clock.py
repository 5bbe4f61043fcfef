"""One clock per person: whose calendar "today", pace and the integrity rules are read on.

A person's zone is Slack's `tz` (kept in the identity cache) → `reps.timezone` → DEFAULT_TIMEZONE (DESIGN §6);
without a person (the CLI without `--as`, the scheduled integrity run) it is DEFAULT_TIMEZONE — never UTC by
accident, never the machine's zone. Every surface (chat, console, `ask`, `parse`, `metrics`, `check`, digests)
takes its today from here, so one person gets one answer wherever they ask.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from config import Settings
from db.schema import bot_slack_identities
from metrics.scopes import Viewer, viewer_by_email


def zone(name: str | None, default: str) -> ZoneInfo:
    """The zone called `name`; a missing or unknown name falls back to `default`, then UTC (never raises)."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def viewer_zone(viewer: Viewer | None, settings: Settings) -> ZoneInfo:
    """The asker's zone; no asker (or one without a zone): the org's, DEFAULT_TIMEZONE."""
    return zone(viewer.timezone if viewer is not None else None, settings.default_timezone)


def viewer_today(viewer: Viewer | None, settings: Settings, now: datetime | None = None) -> date:
    """The date it is for the asker at `now` (default: this instant)."""
    return (now or datetime.now(UTC)).astimezone(viewer_zone(viewer, settings)).date()


def with_slack_zone(conn: Connection, viewer: Viewer) -> Viewer:
    """The viewer with the zone their Slack profile says, when the identity cache knows it: what the chat uses
    (handlers.identity), so `ask`, `console`, `parse` and `metrics --as` read the same today as Slack does."""
    slack_tz = conn.execute(
        select(bot_slack_identities.c.tz)
        .where(bot_slack_identities.c.rep_id == viewer.rep_id, bot_slack_identities.c.deleted.is_(False),
               bot_slack_identities.c.tz.is_not(None))
        .order_by(bot_slack_identities.c.fetched_at.desc()).limit(1)
    ).scalar()
    return replace(viewer, timezone=slack_tz) if slack_tz else viewer


def person_by_email(conn: Connection, email: str) -> Viewer:
    """`--as EMAIL` on the command line: that person, on the clock their Slack profile sets when it is known."""
    return with_slack_zone(conn, viewer_by_email(conn, email))
