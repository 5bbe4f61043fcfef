"""Glue shared by the listeners: who is asking, the answer, and delivering it (payload, chart) to Slack."""

from __future__ import annotations

import logging
import time
import uuid

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError

from assistant import vocabulary
from assistant.service import UNAVAILABLE, answer_text, error_answer
from db.languages import language_for
from errors import UserError
from handlers.deps import BotDeps
from handlers.identity import viewer_for_slack_user
from i18n import N_, _, current_locale, set_currency, set_locale
from ops import telemetry
from render.answers import Answer
from render.blocks import answer_to_message
from render.charts import chart_alt_text, render_chart
from render.export import csv_filename, table_csv

log = logging.getLogger(__name__)


def conversation_key(channel: str | None, user_id: str, thread_ts: str | None = None) -> str | None:
    """Where follow-ups belong: a DM (the whole DM, threads or not) or one channel thread, and the person (two
    people in one thread each follow up their own question). None where there is no conversation."""
    if not channel or not user_id:
        return None
    if channel.startswith("D"):
        return f"dm:{channel}:{user_id}"
    return f"thread:{channel}:{thread_ts}:{user_id}" if thread_ts else None


RATE_LIMITED = N_("You've asked me {limit} things in the last minute, which is my limit for one person so that "
                "everyone gets quick answers. Please wait a minute and ask again.")
BUSY = N_("I'm busy answering a lot of questions right now; please try again in a moment.")
SUBCOMMANDS = frozenset(vocabulary.SUBCOMMANDS)
OUTCOMES = {"refusal": "refused", "error": "error"}
request_log = logging.getLogger("salesbot.request")


def subcommand_of(text: str) -> str:
    """The metrics label of a request: its subcommand, "question" for plain English, "other" for the rest."""
    words = text.split()
    if not words or words[0].lower() != "/sales":
        return "question"
    if len(words) == 1:
        return "help"
    first = words[1].lower()
    return first if first in SUBCOMMANDS else "other"


def answer_for(deps: BotDeps, client: WebClient, user_id: str, text: str, *, conversation: str | None = None
               ) -> Answer:
    """The answer for this Slack user, within fair use (the per-person limit, a bounded wait for a database
    connection); counted, timed and logged as one line. Never raises. `conversation` (see `conversation_key`)
    lets the message follow up the last question asked there."""
    started = time.perf_counter()
    set_locale(deps.settings.default_locale)  # until the person is known (their own language: speak_to)
    set_currency(deps.settings.org_currency)
    subcommand = subcommand_of(text)
    outcome, answer = "ok", None
    if not deps.limiter.allow(user_id):
        speak_to_refused(deps, user_id, read_store=True)
        outcome, answer = "rate_limited", error_answer(_(RATE_LIMITED).format(limit=deps.limiter.per_minute))
    else:
        with deps.gate.slot() as free:
            if free:
                answer = _answer(deps, client, user_id, text, conversation)
                deps.languages.remember(user_id, current_locale())  # after `settings language`: the new one
                outcome = OUTCOMES.get(answer.kind, "ok")
            else:
                speak_to_refused(deps, user_id, read_store=False)
                outcome, answer = "busy", error_answer(_(BUSY))
    took = time.perf_counter() - started
    if outcome in ("rate_limited", "busy"):
        telemetry.LIMITED.labels(reason=outcome).inc()
    telemetry.REQUESTS.labels(subcommand=subcommand, outcome=outcome).inc()
    telemetry.REQUEST_SECONDS.labels(subcommand=subcommand, outcome=outcome).observe(took)
    request_log.info("request %s", outcome, extra={
        "request_id": uuid.uuid4().hex[:12], "user": user_id, "subcommand": subcommand,
        "duration_ms": round(took * 1000, 1), "outcome": outcome, "error_id": answer.error_id})
    return answer


def _answer(deps: BotDeps, client: WebClient, user_id: str, text: str, conversation: str | None) -> Answer:
    """The answer; identity problems and outages become error answers, never exceptions."""
    try:
        viewer = viewer_for_slack_user(client, deps.engine, user_id)
    except UserError as exc:
        return error_answer(str(exc))
    except DBAPIError as exc:
        error_id = uuid.uuid4().hex[:8]
        log.warning("data source unavailable (error id %s): %s", error_id, exc)
        return error_answer(_(UNAVAILABLE), error_id=error_id)
    except Exception:  # noqa: BLE001 - Slack or network failure while identifying: a sentence and an id
        error_id = uuid.uuid4().hex[:8]
        log.exception("could not identify Slack user %s (error id %s)", user_id, error_id)
        return error_answer(_("I couldn't check who you are right now (error id {error_id}). Please try again.")
                            .format(error_id=error_id),
                            error_id=error_id)
    speak_to(deps, user_id, rep_id=viewer.rep_id)
    return answer_text(deps.engine, viewer, text, settings=deps.settings, cache=deps.cache,
                       conversation=conversation)


def speak_to(deps: BotDeps, user_id: str | None, *, rep_id: int | None = None) -> str:
    """Speak this person's language, in the org currency, for the rest of this listener (each listener runs in its
    own context: handlers/workers.py). Returns the language; the default one when the store cannot be read."""
    set_currency(deps.settings.org_currency)
    try:
        lang = language_for(deps.engine, deps.settings.default_locale, rep_id=rep_id, slack_user_id=user_id)
    except DBAPIError:
        lang = deps.settings.default_locale
    if user_id:
        deps.languages.remember(user_id, lang)
    return set_locale(lang)


def speak_to_refused(deps: BotDeps, user_id: str, *, read_store: bool) -> str:
    """The language to refuse this person in: the one they were last answered in (a short memory), else — when
    `read_store` (a rate limit: the database is free) — their chosen language or Slack locale, else DEFAULT_LOCALE.
    A "busy" refusal reads no store: the database connections are what is short."""
    lang = deps.languages.recall(user_id)
    if lang is None and read_store:
        try:
            lang = language_for(deps.engine, deps.settings.default_locale, slack_user_id=user_id)
        except DBAPIError:
            lang = None
    return set_locale(lang or deps.settings.default_locale)


def message_for(deps: BotDeps, answer: Answer) -> dict:
    return answer_to_message(answer, crm_url_template=deps.settings.crm_url_template or None)


def private_channel_for(client: WebClient, channel_id: str | None, user_id: str) -> str:
    """Where a private artefact (a chart, a CSV file) may go: this conversation if it is a DM, else the user's DM."""
    if channel_id and channel_id.startswith("D"):
        return channel_id
    return client.conversations_open(users=user_id)["channel"]["id"]


def _upload(client: WebClient, target: str, content: bytes | str, filename: str, title: str,
            thread_ts: str | None, alt_txt: str | None = None) -> bool:
    try:
        client.files_upload_v2(channel=target, content=content, filename=filename, title=title, thread_ts=thread_ts,
                               alt_txt=alt_txt)
    except SlackApiError as exc:
        log.warning("upload of %s to %s failed: %s", filename, target, exc.response.get("error"))
        return False
    return True


def send_chart(client: WebClient, answer: Answer, *, user_id: str, channel_id: str | None,
               thread_ts: str | None = None, public: bool = False) -> str | None:
    """Upload the answer's chart and its CSV file (when `csv` was asked); returns the channel they went to.
    Private (the asker's DM, or this DM) unless `public` (a shared answer goes to its channel)."""
    if answer.chart is None and answer.export is None:
        return None
    target = channel_id if public and channel_id else private_channel_for(client, channel_id, user_id)
    sent = False
    if answer.chart is not None:
        sent = _upload(client, target, render_chart(answer.chart), f"{answer.chart.kind}.png", answer.chart.title,
                       thread_ts, chart_alt_text(answer.chart))
    if answer.export is not None:
        sent = _upload(client, target, table_csv(answer.export), csv_filename(answer), answer.title,
                       thread_ts) or sent
    return target if sent else None


def _retry_after(result) -> float | None:
    """The Retry-After of a response_url answer in seconds, or None (WebhookResponse headers map names to lists)."""
    headers = getattr(result, "headers", None) or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return None


def respond_reliably(respond, attempts: int = 4, **message) -> bool:
    """`respond()` (a response_url post) neither raises nor retries on 429/5xx; this retries it with backoff,
    honouring Retry-After (a 5xx usually has none: 0.5, 1, 2 s). Returns whether Slack took it; a refusal
    (4xx: the URL expired or was used up) or a connection that failed after the client's own retries is not
    retried here (the caller falls back, see `reply_privately`)."""
    for attempt in range(attempts):
        try:
            result = respond(**message)
        except Exception as exc:  # noqa: BLE001 - the webhook client gave up on the connection
            log.warning("response_url post failed: %s", exc)
            return False
        status = getattr(result, "status_code", 200)
        if status < 400:
            return True
        if status != 429 and status < 500:
            log.warning("response_url post refused with HTTP %s: %s", status, getattr(result, "body", ""))
            return False
        if attempt + 1 < attempts:
            wait = _retry_after(result)
            time.sleep(min(0.5 * 2**attempt if wait is None else wait, 30))
    log.warning("response_url post failed after %s attempts", attempts)
    return False


def reply_privately(client: WebClient, respond, message: dict, *, user_id: str, channel_id: str | None) -> str:
    """The answer for the asker's eyes only, once: through the response_url (retried), else as an ephemeral
    message in the conversation they asked in, else in their DM. Returns the way it went ("response_url",
    "ephemeral", "dm") or "lost" (logged)."""
    if respond_reliably(respond, response_type="ephemeral", **message):
        return "response_url"
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, **message)
            return "ephemeral"
        except SlackApiError as exc:  # the bot is not in that channel, or it is gone
            log.warning("ephemeral fallback to %s failed: %s", channel_id, exc.response.get("error"))
    try:
        client.chat_postMessage(channel=private_channel_for(client, None, user_id), **message)
        return "dm"
    except SlackApiError as exc:
        log.warning("could not reach %s at all: %s", user_id, exc.response.get("error"))
        return "lost"
