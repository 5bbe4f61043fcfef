"""The last question of each conversation (`bot_conversations`), kept 15 minutes for follow-ups.

Stored in the bot's database, not in memory, so two replicas behind one Slack app answer a follow-up alike,
whichever of them gets it. One upsert per answer (two replicas answering in one conversation at once both land).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.schema import bot_conversations

KEPT_FOR = timedelta(minutes=15)


def last_reading(engine: Engine, conversation: str, now: datetime) -> str | None:
    """The conversation's last reading if it is younger than KEPT_FOR, else None."""
    with engine.connect() as conn:
        row = conn.execute(select(bot_conversations.c.reading, bot_conversations.c.updated_at)
                           .where(bot_conversations.c.conversation == conversation)).first()
    if row is None or now - row.updated_at > KEPT_FOR:
        return None
    return row.reading


def remember_reading(engine: Engine, conversation: str, reading: str, now: datetime) -> None:
    """Keep `reading` as the conversation's last question (and forget conversations long over)."""
    values = {"reading": reading, "updated_at": now}
    with engine.begin() as conn:
        dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(bot_conversations).values(conversation=conversation[:255], **values)
        conn.execute(statement.on_conflict_do_update(index_elements=[bot_conversations.c.conversation],
                                                     set_=values))
        conn.execute(delete(bot_conversations).where(bot_conversations.c.updated_at < now - KEPT_FOR))
