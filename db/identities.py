"""The Slack identity cache (`bot_slack_identities`): which Slack user is which rep, and their Slack time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.schema import bot_slack_identities


def store_slack_identity(engine: Engine, user_id: str, *, email: str | None, rep_id: int | None, tz: str | None,
                         deleted: bool, locale: str | None = None) -> None:
    """Insert or refresh one Slack user's cached identity (fetched now), in one statement: two replicas (or two
    threads) resolving the same user at once both land, where an update-else-insert lost one to the key."""
    values = {"email": email, "rep_id": rep_id, "tz": tz, "locale": locale, "deleted": deleted,
              "fetched_at": datetime.now(UTC)}
    with engine.begin() as conn:
        dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(bot_slack_identities).values(slack_user_id=user_id, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=[bot_slack_identities.c.slack_user_id],
                                                     set_=values))
