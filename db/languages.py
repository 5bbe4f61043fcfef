"""A person's language: their `/sales settings language` choice (kept in `bot_settings`), else their Slack locale
(cached in `bot_slack_identities`), else `DEFAULT_LOCALE`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, insert, select

from db.schema import bot_settings, bot_slack_identities, reps
from i18n import language_of


def _key(rep_id: int) -> str:
    return f"language:rep:{rep_id}"


def chosen_language(conn: Connection, rep_id: int | None) -> str | None:
    """The language the rep chose with `/sales settings language`, or None."""
    if rep_id is None:
        return None
    return conn.execute(select(bot_settings.c.value).where(bot_settings.c.key == _key(rep_id))).scalar()


def choose_language(engine: Engine, rep_id: int, language: str | None) -> None:
    """Keep the rep's language (None forgets the choice: the Slack locale applies again)."""
    with engine.begin() as conn:
        conn.execute(delete(bot_settings).where(bot_settings.c.key == _key(rep_id)))
        if language is not None:
            conn.execute(insert(bot_settings).values(key=_key(rep_id), value=language, updated_at=datetime.now(UTC)))


def slack_language(conn: Connection, *, slack_user_id: str | None = None, rep_id: int | None = None) -> str | None:
    """The language of the cached Slack locale of this Slack user (or of the rep's Slack user), if the bot speaks it."""
    query = select(bot_slack_identities.c.locale)
    if slack_user_id:
        query = query.where(bot_slack_identities.c.slack_user_id == slack_user_id)
    elif rep_id is not None:
        query = query.where(bot_slack_identities.c.rep_id == rep_id).order_by(bot_slack_identities.c.fetched_at.desc())
    else:
        return None
    return language_of(conn.execute(query.limit(1)).scalar())


def language_for(engine: Engine, default: str, *, rep_id: int | None = None, slack_user_id: str | None = None
                 ) -> str:
    """The language to speak to this person: their choice, else their Slack locale, else `default`."""
    with engine.connect() as conn:
        if rep_id is None and slack_user_id:
            rep_id = conn.execute(select(bot_slack_identities.c.rep_id)
                                  .where(bot_slack_identities.c.slack_user_id == slack_user_id)).scalar()
            if rep_id is None:
                rep_id = conn.execute(select(reps.c.id).where(reps.c.slack_user_id == slack_user_id)).scalar()
        return (chosen_language(conn, rep_id) or slack_language(conn, slack_user_id=slack_user_id, rep_id=rep_id)
                or default)


def languages_of(conn: Connection, default: str, rep_ids: list[int]) -> dict[int, str]:
    """rep id → the language to speak to them (as `language_for`), for many people in two queries: the language a
    scheduled message (digest, nudge, reminder) is written in."""
    if not rep_ids:
        return {}
    chosen = {r.key: r.value for r in conn.execute(
        select(bot_settings.c.key, bot_settings.c.value).where(bot_settings.c.key.like("language:rep:%")))}
    rows = conn.execute(select(bot_slack_identities.c.rep_id, bot_slack_identities.c.locale)
                        .where(bot_slack_identities.c.rep_id.is_not(None), bot_slack_identities.c.locale.is_not(None))
                        .order_by(bot_slack_identities.c.fetched_at)).all()
    slack = {r.rep_id: language_of(r.locale) for r in rows if language_of(r.locale)}  # the latest fetch wins
    return {i: chosen.get(_key(i)) or slack.get(i) or default for i in rep_ids}
