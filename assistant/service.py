"""Answer a request: read it (grammar, then names), check who may see what, ask the metrics layer, return an Answer.

Slack handlers, the console, `ask` and the scheduler all call `answer_text`; nothing here knows Slack.
"""

from __future__ import annotations

import difflib
import logging
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from assistant import intents
from assistant.ask import Ask, freshness_line, since_default, viewer_today, viewer_zone
from assistant.clarify import clarification
from assistant.followup import read_followup, summary
from assistant.grammar import Request, parse_request
from assistant.plain_text import plain_text
from assistant.request_codec import UnreadableRequest, decode, encode, is_encoded
from assistant.resolve import Reading, read_question, resolve
from assistant.vocabulary import EXAMPLES
from assistant.vocabulary_intl import EXAMPLES_ID, EXAMPLES_IT
from config import Settings
from db.conversations import last_reading, remember_reading
from errors import UserError
from i18n import N_, _, current_locale
from metrics.cache import ResultCache
from metrics.periods import PeriodError
from metrics.scopes import Viewer
from render.answers import Answer

log = logging.getLogger(__name__)

UNAVAILABLE = N_("The sales data source is unavailable right now. Please try again in a minute.")
__all__ = ["Ask", "answer_text", "freshness_line", "read_for", "since_default", "viewer_today", "viewer_zone"]


def error_answer(message: str, *, error_id: str | None = None, suggestion: str | None = None) -> Answer:
    return Answer(kind="error", title=_("Sorry, I couldn't answer that"), lines=[message], error_id=error_id,
                  suggestion=suggestion)


def read_for(engine: Engine, viewer: Viewer, text: str, *, settings: Settings, now: datetime | None = None
             ) -> Reading:
    """How `text` is read for this person, on their own today: what `bot.py parse` prints."""
    today = viewer_today(viewer, settings, now or datetime.now(UTC))
    with engine.connect() as conn:
        return read_question(conn, viewer, text, today, settings.fiscal_year_start_month, settings.tz)


def closest_examples(text: str, n: int = 3) -> list[str]:
    """The n example questions nearest to `text`, in the asker's language: shared words first, then spelling."""
    words = set(text.lower().split())

    def score(example: str) -> tuple[int, float]:
        return (len(words & set(example.lower().split())),
                difflib.SequenceMatcher(None, text.lower(), example.lower()).ratio())

    return sorted(EXAMPLES_BY_LANGUAGE.get(current_locale(), EXAMPLES), key=score, reverse=True)[:n]


EXAMPLES_BY_LANGUAGE = {"en": EXAMPLES, "id": EXAMPLES_ID, "it": EXAMPLES_IT}


def cannot_answer(reading: Reading, text: str) -> Answer:
    unknown = ", ".join(f"“{w}”" for w in reading.unknown)
    lines = [_("I didn't understand {words}.").format(words=unknown) if unknown else _("I didn't understand that."),
             _("The closest things I can answer:"), *(f"• {e}" for e in closest_examples(text)),
             _("`/sales help` lists everything.")]
    return Answer(kind="help", title=_("I can't answer that yet"), lines=lines)


def _said_back(answer: Answer, reading: Reading, ignored: list[str], followed: bool = False) -> None:
    notes = []
    if followed:
        notes.append(_("I read this as: {reading}.").format(reading="; ".join([summary(reading),
                                                                                *reading.request.notes])))
        if answer.understood:
            notes.append(answer.understood)
    elif reading.request.notes and not answer.understood:
        notes.append(_("I read this as: {reading}.").format(reading="; ".join(reading.request.notes)))
    elif answer.understood:
        notes.append(answer.understood)
    words = [*(f"“{w}”" for w in reading.unknown), *ignored]
    if words:
        notes.append(_("I ignored: {words}.").format(words=", ".join(words)))
    answer.understood = " ".join(notes) or None


def _request_for(engine: Engine, text: str, conversation: str | None, today: date, fiscal: int, now: datetime,
                 zone: ZoneInfo) -> tuple[Request, bool]:
    """What a message asks, and whether it followed up the conversation's last question: an encoded question (a
    button's value, perhaps with words after it: " chart"), the last question changed, or the message alone."""
    if is_encoded(text):
        request, rest = decode(text)
        if rest:
            changed = read_followup(rest, request, today, fiscal, zone)
            if changed is None:
                raise UnreadableRequest()
            request = changed
        return request, False
    stored = last_reading(engine, conversation, now) if conversation else None
    if stored is not None:
        try:
            previous = decode(stored)[0]
        except UnreadableRequest:
            log.warning("conversation %s kept an unreadable reading; starting afresh", conversation)
            previous = None
        changed = read_followup(text, previous, today, fiscal, zone)
        if changed is not None:
            return changed, True
    return parse_request(text, today, fiscal, zone), False


def answer_text(engine: Engine, viewer: Viewer, text: str, *, settings: Settings, now: datetime | None = None,
                cache: ResultCache | None = None, conversation: str | None = None) -> Answer:
    """The whole pipeline for one request; never raises: failures become an error Answer with an id.

    `conversation` (a DM, or a channel thread, with the person) makes the message a possible follow-up of the
    conversation's last question (kept 15 minutes), and keeps this one for the next."""
    now = now or datetime.now(UTC)
    today = viewer_today(viewer, settings, now)
    fiscal = settings.fiscal_year_start_month
    text = plain_text(text)
    try:
        request, followed = _request_for(engine, text, conversation, today, fiscal, now, settings.tz)
        remember = False
        with engine.connect() as conn:
            reading = resolve(conn, viewer, request, today, fiscal)
            if reading.request.problem:
                raise PeriodError(reading.request.problem)
            if not reading.understood:
                answer = cannot_answer(reading, text)
            elif (question := clarification(conn, viewer, reading)) is not None:
                answer = question
            else:
                ask = Ask(conn, viewer, settings, today, now, reading, cache)
                answer = intents.answer_for(ask)
                _said_back(answer, reading, intents.ignored_parts(ask), followed)
                remember = answer.kind not in ("error", "refusal", "help")
        if remember and conversation:
            remember_reading(engine, conversation, encode(reading.request), now)
        answer.request_text = request.raw if is_encoded(request.raw) else text
        return answer
    except UserError as exc:
        answer = error_answer(str(exc), suggestion=getattr(exc, "suggestion", None))
        answer.kind = "refusal" if type(exc).__name__ == "ScopeRefused" else "error"
        answer.request_text = text
        return answer
    except (OperationalError, DBAPIError) as exc:
        if isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False):
            error_id = uuid.uuid4().hex[:8]
            log.warning("data source unavailable (error id %s): %s", error_id, exc)
            return error_answer(_(UNAVAILABLE), error_id=error_id)
        return _unexpected(text)
    except Exception:  # noqa: BLE001 - the user gets a sentence and an id; the log gets the trace
        return _unexpected(text)


def _unexpected(text: str) -> Answer:
    error_id = uuid.uuid4().hex[:8]
    log.exception("failed to answer %r (error id %s)", text, error_id)
    return error_answer(_("Something went wrong on my side (error id {error_id}). The team has the details.")
                        .format(error_id=error_id), error_id=error_id)
