"""The Slack identity cache (`bot_slack_identities`): which Slack user is which rep, and their Slack time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, update

from db.schema import bot_slack_identities


def store_slack_identity(engine: Engine, user_id: str, *, email: str | None, rep_id: int | None, tz: str | None,
                         deleted: bool) -> None:
    """Insert or refresh one Slack user's cached identity (fetched now)."""
    values = {"email": email, "rep_id": rep_id, "tz": tz, "deleted": deleted, "fetched_at": datetime.now(UTC)}
    with engine.begin() as conn:
        done = conn.execute(update(bot_slack_identities).where(bot_slack_identities.c.slack_user_id == user_id)
                            .values(**values)).rowcount
        if not done:
            conn.execute(insert(bot_slack_identities).values(slack_user_id=user_id, **values))
