"""Who a scheduled message goes to: a rep's Slack user and the time zone their day runs in.

Slack user: `reps.slack_user_id`, else the identity cache, else `users.lookupByEmail` (then cached).
Time zone: Slack's `tz` → `reps.timezone` → DEFAULT_TIMEZONE (DESIGN §6).
Language: `/sales settings language` → the Slack locale → DEFAULT_LOCALE (DESIGN §5a); a scheduled message to
them is written inside `use_locale(recipient.language)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from db.identities import store_slack_identity
from db.languages import languages_of
from db.schema import bot_slack_identities, reps
from metrics.clock import zone
from scheduler.sender import SlackSender

__all__ = ["Recipient", "cached_identities", "recipients", "resolve_slack_user", "zone"]


@dataclass(frozen=True)
class Recipient:
    rep_id: int
    name: str
    email: str | None
    role: str
    slack_user_id: str | None
    tz: ZoneInfo
    language: str = "en"


def cached_identities(engine: Engine) -> dict[int, tuple[str, str | None]]:
    """rep id → (Slack user id, Slack tz) from the identity cache."""
    with engine.connect() as conn:
        rows = conn.execute(select(bot_slack_identities.c.rep_id, bot_slack_identities.c.slack_user_id,
                                   bot_slack_identities.c.tz)
                            .where(bot_slack_identities.c.rep_id.is_not(None),
                                   bot_slack_identities.c.deleted.is_(False))).all()
    return {r.rep_id: (r.slack_user_id, r.tz) for r in rows}


def recipients(engine: Engine, default_tz: str, *, roles: tuple[str, ...], rep_ids: set[int] | None = None,
               default_language: str = "en") -> list[Recipient]:
    """Active people with one of `roles`, with their Slack id, zone and language as far as the database knows
    them."""
    ids = cached_identities(engine)
    query = select(reps).where(reps.c.active.is_(True), reps.c.role.in_(roles)).order_by(reps.c.id)
    if rep_ids is not None:
        query = query.where(reps.c.id.in_(rep_ids))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        languages = languages_of(conn, default_language, [r.id for r in rows])
    out = []
    for r in rows:
        slack_id, slack_tz = ids.get(r.id, (None, None))
        out.append(Recipient(r.id, r.name, r.email, r.role, r.slack_user_id or slack_id,
                             zone(slack_tz or r.timezone, default_tz), languages[r.id]))
    return out


def resolve_slack_user(engine: Engine, sender: SlackSender, person: Recipient) -> Recipient:
    """Fill in the Slack user (and Slack's tz) by email when the database does not know it; cached after."""
    if person.slack_user_id or not person.email:
        return person
    user = sender.user_by_email(person.email)
    if user is None:
        return person
    store_slack_identity(engine, user["id"], email=person.email, rep_id=person.rep_id, tz=user.get("tz"),
                         deleted=bool(user.get("deleted")))
    return Recipient(person.rep_id, person.name, person.email, person.role, user["id"],
                     zone(user.get("tz"), person.tz.key), person.language)
