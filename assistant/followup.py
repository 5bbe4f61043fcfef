"""Follow-ups: "and last quarter?", "by owner", "what about Dana?", "show as a chart", "only Negotiation",
"same for the west team", "vs last year" change the previous question of the conversation instead of starting
a new one.

A message is a follow-up when it names no question of its own (the grammar found no intent) but carries
something a question is made of (a period, a person or team, a breakdown, a filter, a count, an option, a
comparison), or when it opens with a follow-up cue ("and …", "what about …", "same for …") before naming another
question ("and the forecast?": the same people and period). A complete question on its own ("pipeline last
quarter") is a new question. The change is applied to the previous reading as if it had been said in it:
`merge` is pure; `assistant.resolve` then looks the names up for the asker, as for any question.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from zoneinfo import ZoneInfo

from assistant.grammar import ARG_INTENTS, NO_INTENT_NOTE, Compare, Request, parse_request
from assistant.reading_words import dimension_name, intent_name, metric_name, option_name
from assistant.request_codec import encode
from assistant.resolve import Reading
from i18n import _
from metrics.periods import PeriodError, parse_period

_CUE = re.compile(
    r"^\s*(?:(?:and|but|also|ok|okay|so|now|then|great|thanks)\b[\s,]*)*"
    r"(?:(?:what|how)\s+about\b|(?:(?:do|show)\s+(?:me\s+)?)?(?:the\s+)?same\s+(?:thing\s+)?(?:for|but|with|as)\b)?",
    re.IGNORECASE)
_COMPARE_LEAD = re.compile(r"^\s*(?:vs\.?|versus|compared\s+(?:to|with)|against|relative\s+to)\s+", re.IGNORECASE)
_MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*")


def _changes_something(fragment: Request) -> bool:
    return bool(fragment.period or fragment.by or fragment.filters or fragment.options or fragment.names
                or fragment.scope_word or fragment.limit is not None or fragment.compare or fragment.problem
                or fragment.as_of)


def read_followup(text: str, previous: Request | None, today: date, fiscal: int, zone: ZoneInfo | None = None
                  ) -> Request | None:
    """The previous request with this message's change applied, or None when the message is a question of its
    own (or there is no previous request)."""
    if previous is None or not previous.intent_given or previous.intent in ARG_INTENTS + ("help",):
        return None
    body = _MENTION.sub("", text or "").replace("’", "'")
    if body.lstrip().lower().startswith("/sales"):
        return None
    cue = _CUE.match(body)
    rest, cued = body[cue.end():], bool(cue.group(0).strip())
    lead = _COMPARE_LEAD.match(rest)
    if lead:
        rest = rest[lead.end():]
    fragment = parse_request(rest, today, fiscal, zone)
    if fragment.intent_given and (not cued or fragment.intent in ARG_INTENTS + ("help",)):
        return None
    if not fragment.intent_given and not _changes_something(fragment):
        return None
    # a name is all a fragment like "what about mei?" says: meant as a name even in lower case at its start
    fragment.names = [(name, True) for name, _ in fragment.names]
    if lead and not _as_comparison(fragment):
        return None
    merged = merge(previous, fragment, today, fiscal)
    merged.raw = encode(merged)
    return merged


def _as_comparison(fragment: Request) -> bool:
    """"vs last year", "vs Dana": what follows "vs" is the other side of a comparison."""
    if fragment.names:
        fragment.compare, fragment.names = Compare("scope", names=fragment.names), []
    elif fragment.period is not None:
        fragment.compare, fragment.period = Compare("period", period=fragment.period), None
    else:
        return False
    return True


def merge(previous: Request, fragment: Request, today: date, fiscal: int) -> Request:
    """`previous` with what `fragment` says instead. A new question word ("and the forecast?") keeps who, when and
    the comparison; its own breakdown, filters and options replace the old ones, which belonged to the old
    question."""
    merged = copy.deepcopy(previous)
    if fragment.intent_given:
        merged.intent, merged.metric = fragment.intent, fragment.metric
        merged.by, merged.limit = fragment.by, fragment.limit
        merged.filters, merged.options = dict(fragment.filters), set(fragment.options)
    else:
        merged.by = fragment.by or merged.by
        merged.limit = merged.limit if fragment.limit is None else fragment.limit
        merged.filters.update(fragment.filters)
        merged.options |= fragment.options
    if fragment.names or fragment.scope_word:
        merged.names, merged.scope_word = list(fragment.names), fragment.scope_word
    if fragment.period is not None:
        merged.period = fragment.period
        if merged.compare is not None and merged.compare.kind == "period" and fragment.compare is None:
            merged.compare = None  # "vs last quarter" was relative to the old period
    if fragment.as_of is not None:
        merged.as_of = fragment.as_of
    if fragment.compare is not None:
        merged.compare = fragment.compare
        _period_for_comparison(merged, today, fiscal)
    # "help (I did not recognise …)": the previous reading names the question, so the merged one drops the note
    merged.notes = [n for n in fragment.notes if n != _(NO_INTENT_NOTE)]
    merged.unknown, merged.problem = list(fragment.unknown), fragment.problem
    merged.args, merged.understood_anything, merged.intent_given = "", True, True
    merged.scope_text = merged.names[0][0] if merged.names else (
        merged.scope_word if merged.scope_word in ("me", "team", "org") else "")
    return merged


def _period_for_comparison(request: Request, today: date, fiscal: int) -> None:
    """"vs last year" on a question with no period compares this year with last, as the grammar reads it whole."""
    compare = request.compare
    if request.period is not None or compare is None or compare.kind != "period" or compare.period is None:
        return
    if compare.period.grain in ("week", "month", "quarter", "year"):
        try:
            request.period = parse_period(f"this {compare.period.grain}", today, fiscal)
        except PeriodError as exc:
            request.problem = request.problem or str(exc)


def summary(reading: Reading) -> str:
    """How a follow-up was read, in a few words: "pipeline, Dana Lee, last quarter, by owner"."""
    r = reading.request
    what = metric_name(r.metric) if r.intent == "metric" else intent_name(r.intent)
    parts = [what]
    if reading.scope is not None:
        parts.append(reading.scope.scope.label if reading.scope.scope is not None else reading.scope.name)
    if reading.period is not None:
        parts.append(reading.period.label)
    if r.compare is not None and r.compare.kind == "period" and r.compare.period is not None:
        parts.append(_("vs {other}").format(other=r.compare.period.label))
    elif reading.compare_scope is not None:
        parts.append(_("vs {other}").format(other=reading.compare_scope.name))
    if r.by:
        parts.append(_("by {dimensions}").format(dimensions=", ".join(dimension_name(d) for d in r.by)))
    if r.limit:
        parts.append(_("top {count}").format(count=r.limit))
    if "stage" in r.filters:
        parts.append(_("only {stage}").format(stage=r.filters["stage"]))
    if "amount_min" in r.filters:
        parts.append(_("over {amount}").format(amount=f"{r.filters['amount_min']:,}"))
    if "amount_max" in r.filters:
        parts.append(_("under {amount}").format(amount=f"{r.filters['amount_max']:,}"))
    parts += sorted(option_name(o) for o in r.options)
    return ", ".join(parts)
