"""Slack user → rep, by email from `users.info`, cached in `bot_slack_identities` and refreshed daily.

A rep row that already carries the Slack user id (from an import) wins. The cache keeps the Slack time zone,
which beats `reps.timezone` for everything time-related.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, func, select

from db.identities import store_slack_identity
from db.schema import bot_slack_identities, reps
from errors import UserError
from i18n import _
from metrics.scopes import UnknownViewer, Viewer, viewer_by_email, viewer_by_id

log = logging.getLogger(__name__)
REFRESH_AFTER = timedelta(hours=24)


class DeactivatedUser(UserError):
    """The Slack account is deactivated or the rep is inactive."""


def _cached(engine: Engine, user_id: str):
    with engine.connect() as conn:
        return conn.execute(select(bot_slack_identities).where(bot_slack_identities.c.slack_user_id == user_id)).first()


def _fetch(client: WebClient, engine: Engine, user_id: str) -> tuple[str | None, int | None, str | None, bool]:
    try:
        user = client.users_info(user=user_id, include_locale=True)["user"]
    except SlackApiError as exc:
        if exc.response.get("error") == "user_not_found":
            raise UnknownViewer(_("I couldn't find your Slack account. Ask sales ops to check your setup.")) from None
        raise
    email = (user.get("profile") or {}).get("email")
    tz = user.get("tz")
    deleted = bool(user.get("deleted"))
    rep_id = None
    with engine.connect() as conn:
        rep_id = conn.execute(select(reps.c.id).where(reps.c.slack_user_id == user_id)).scalar()
        if rep_id is None and email:
            rep_id = conn.execute(select(reps.c.id).where(func.lower(reps.c.email) == email.lower())).scalar()
    store_slack_identity(engine, user_id, email=email, rep_id=rep_id, tz=tz, deleted=deleted,
                         locale=user.get("locale"))
    return email, rep_id, tz, deleted


def viewer_for_slack_user(client: WebClient, engine: Engine, user_id: str, *, now: datetime | None = None) -> Viewer:
    now = now or datetime.now(UTC)
    row = _cached(engine, user_id)
    if row is not None and now - row.fetched_at < REFRESH_AFTER:
        email, rep_id, tz, deleted = row.email, row.rep_id, row.tz, row.deleted
    else:
        email, rep_id, tz, deleted = _fetch(client, engine, user_id)
    if deleted:
        raise DeactivatedUser(_("Your Slack account is deactivated, so I can't show sales figures."))
    if rep_id is None:
        if email:
            raise UnknownViewer(_("Your Slack account ({email}) doesn't match anyone in the sales database. Ask sales "
                                  "ops to add your email to the CRM.").format(email=email))
        raise UnknownViewer(_("Your Slack account doesn't match anyone in the sales database. "
                              "Ask sales ops to add your email to the CRM."))
    with engine.connect() as conn:
        viewer = viewer_by_id(conn, rep_id) if rep_id else viewer_by_email(conn, email)
    if not viewer.active:
        raise DeactivatedUser(_("You're marked inactive in the sales database, so I can't show sales figures."))
    return replace(viewer, timezone=tz or viewer.timezone)
