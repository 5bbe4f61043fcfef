"""Answers as the data stood at a past moment ("pipeline as of oct 1", DESIGN §4a): which answers can be read so,
and how the moment is said back (once, in the context line "figures as of 1 Oct 2026"; and in the chart's title).

The figures themselves come from `Ask.metric`, which reads every deal metric as of the request's moment
(metrics.asof); a date means the end of that day where the org is (DEFAULT_TIMEZONE), a timestamp is as given.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.ask import Ask
from errors import UserError
from i18n import _
from metrics.evaluate import metric_definition
from metrics.moments import end_of_day
from metrics.special import SpecialMetric
from render.answers import Answer
from render.format import date_text, moment_text

# Answers built from deal metrics only, so every figure in them can be read as of a past moment.
AS_OF_INTENTS = frozenset({"pipeline", "quota", "forecast", "winrate", "leaderboard", "metric", "waterfall"})


def as_of_text(moment: datetime, zone: ZoneInfo) -> str:
    """"1 Oct 2026" (in the asker's language) for the end of a day where the org is; else the time and zone too,
    as `render.format.moment_text` says them ("1 Oct 2026 09:30 CEST")."""
    local = moment.astimezone(zone)
    if local == end_of_day(local.date(), zone):
        return date_text(local.date())
    return f"{date_text(local.date())} {moment_text(local, day=False, weekday=False)}"


def as_of_line(ask: Ask) -> str | None:
    """The context line, the one place the answer states its moment: "figures as of 1 Oct 2026"; None for an
    answer about now."""
    moment = ask.request.as_of
    if moment is None:
        return None
    return _("figures as of {moment}").format(moment=as_of_text(moment, ask.settings.tz))


def check_as_of(ask: Ask) -> None:
    """A sentence (UserError) when the question cannot be answered as of its moment."""
    request = ask.request
    if request.as_of is None:
        return
    if request.intent not in AS_OF_INTENTS:
        raise UserError(_("I can't answer “{what}” as of a past date yet. Deal figures can be: try "
                          "`/sales pipeline as of oct 1`, `forecast`, `quota`, `winrate` or `won`.")
                        .format(what=request.intent))
    if request.intent == "metric" and isinstance(metric_definition(request.metric or "pipeline"), SpecialMetric):
        raise UserError(_("{metric} can't be read as of a past date: it is not worked out from the deals' "
                          "history. Ask it without “as of”.").format(metric=metric_definition(request.metric).label))


def said_as_of(ask: Ask, answer: Answer) -> Answer:
    """The moment said back in the chart's title; the message itself states it once, in its context line."""
    moment = ask.request.as_of
    if moment is None or answer.kind in ("error", "refusal") or ask.request.intent == "waterfall":
        return answer  # a waterfall states its two moments itself
    if answer.chart is not None:
        answer.chart = replace(answer.chart, title=f"{answer.chart.title} · {as_of_line(ask)}")
    return answer
