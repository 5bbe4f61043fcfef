"""Who a scheduled message goes to: a rep's Slack user and the time zone their day runs in.

Slack user: `reps.slack_user_id`, else the identity cache, else `users.lookupByEmail` (then cached).
Time zone: Slack's `tz` → `reps.timezone` → DEFAULT_TIMEZONE (DESIGN §6).
Language: `/sales settings language` → the Slack locale → DEFAULT_LOCALE (DESIGN §5a); a scheduled message to
them is written inside `use_locale(recipient.language)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from db.identities import store_slack_identity
from db.languages import chosen_language, languages_of
from db.schema import bot_slack_identities, reps
from i18n import language_of
from metrics.clock import zone
from scheduler.sender import SlackSender

__all__ = ["Recipient", "cached_identities", "recipients", "resolve_slack_user", "with_slack_language", "zone"]

log = logging.getLogger(__name__)


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


def with_slack_language(engine: Engine, sender: SlackSender, person: Recipient, default_language: str
                        ) -> Recipient:
    """The person with their Slack locale's language, asking Slack (users.info with include_locale) once when the
    bot has never read their locale and they chose no language: someone who never wrote to the bot still gets
    their digest or nudge in their Slack language. The answer is cached (an empty locale when Slack gave none, so
    it is not asked again); a Slack error leaves the language as it was."""
    if not person.slack_user_id:
        return person
    with engine.connect() as conn:
        if chosen_language(conn, person.rep_id) is not None:
            return person
        known = conn.execute(select(bot_slack_identities.c.locale)
                             .where(bot_slack_identities.c.slack_user_id == person.slack_user_id)).first()
    if known is not None and known.locale is not None:
        return person
    try:
        user = sender.user_info(person.slack_user_id)
    except Exception as exc:  # noqa: BLE001 - Slack away: send in the language already known
        log.warning("reading the Slack locale of %s failed: %s", person.slack_user_id, exc)
        return person
    if user is None:
        return person
    store_slack_identity(engine, person.slack_user_id, email=person.email, rep_id=person.rep_id,
                         tz=user.get("tz"), deleted=bool(user.get("deleted")), locale=user.get("locale") or "")
    return replace(person, language=language_of(user.get("locale")) or default_language)


class SlackLanguages:
    """`with_slack_language` for one job run, asking Slack about at most `budget` people (users.info is rate
    limited; the others are asked on a later run and meanwhile get the language already known)."""

    def __init__(self, engine: Engine, sender: SlackSender, default_language: str, budget: int = 50):
        self.engine, self.sender, self.default_language, self.budget = engine, sender, default_language, budget

    def __call__(self, person: Recipient) -> Recipient:
        if self.budget <= 0:
            return person
        found = with_slack_language(self.engine, self.sender, person, self.default_language)
        self.budget -= 1
        return found


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
