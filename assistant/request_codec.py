"""A reading (`Request`) as plain JSON and back: what a conversation keeps for its follow-ups, and what a button
carries when the question it answers was never typed whole (a follow-up, a clarification).

A decoded request is only a question: `assistant.resolve` looks its names up and checks them against the rights
of whoever asks it now, exactly as if they had typed it. Decoding checks shapes only and says what is wrong in a
sentence (`UnreadableRequest`), never a traceback.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from assistant import vocabulary as v
from assistant.grammar import Compare, Request
from errors import UserError
from metrics.periods import Period

# A button value or stored reading starts with this; nobody types it.
MARKER = '{"reading":'
INTENTS = frozenset(v.SUBCOMMANDS) | {"metric"}
FILTER_KEYS = frozenset({"amount_min", "amount_max", "stage", "rule", "sort"})
MAX_NAMES = 5


class UnreadableRequest(UserError):
    """A stored reading or button value that is not one (edited, cut, or from another version)."""

    def __init__(self, message: str = "I couldn't read that button. Please ask the question again."):
        super().__init__(message)


def _period_dict(period: Period | None) -> dict | None:
    if period is None:
        return None
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "label": period.label,
            "grain": period.grain, "fiscal": period.fiscal_year_start_month}


def _period_of(data: Any) -> Period | None:
    if data is None:
        return None
    try:
        return Period(date.fromisoformat(data["start"]), date.fromisoformat(data["end"]), str(data["label"])[:200],
                      data.get("grain"), int(data.get("fiscal", 1)))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnreadableRequest() from exc


def _moment_of(data: Any) -> datetime | None:
    """An as-of moment: an ISO timestamp with its offset (readings kept before there were moments have none)."""
    if data is None:
        return None
    try:
        moment = datetime.fromisoformat(data)
    except (TypeError, ValueError) as exc:
        raise UnreadableRequest() from exc
    if moment.tzinfo is None:
        raise UnreadableRequest()
    return moment


def _names_of(data: Any) -> list[tuple[str, bool]]:
    if not isinstance(data, list) or len(data) > MAX_NAMES:
        raise UnreadableRequest()
    out = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and len(item[0]) <= 320):
            raise UnreadableRequest()
        out.append((item[0], bool(item[1])))
    return out


def request_to_dict(request: Request) -> dict:
    """What a follow-up can change and a button must re-ask: the reading, not the words it was typed in."""
    compare = None
    if request.compare is not None:
        compare = {"kind": request.compare.kind, "period": _period_dict(request.compare.period),
                   "names": [list(n) for n in request.compare.names]}
    return {
        "intent": request.intent, "metric": request.metric, "scope_word": request.scope_word,
        "names": [list(n) for n in request.names], "period": _period_dict(request.period), "by": list(request.by),
        "limit": request.limit, "filters": {k: str(val) for k, val in request.filters.items()},
        "options": sorted(request.options), "compare": compare,
        "as_of": request.as_of.isoformat() if request.as_of else None,
    }


def _filters_of(data: Any) -> dict:
    if not isinstance(data, dict) or not set(data) <= FILTER_KEYS:
        raise UnreadableRequest()
    out: dict = {}
    for key, value in data.items():
        if not isinstance(value, str) or len(value) > 100:
            raise UnreadableRequest()
        try:
            out[key] = Decimal(value) if key.startswith("amount") else value
        except InvalidOperation as exc:
            raise UnreadableRequest() from exc
    return out


def request_from_dict(data: Any) -> Request:
    """The inverse of `request_to_dict`; UnreadableRequest for anything that is not such a dict."""
    try:
        intent, metric, word = data["intent"], data["metric"], data["scope_word"]
        by, limit, options, compare = data["by"], data["limit"], data["options"], data["compare"]
    except (KeyError, TypeError) as exc:
        raise UnreadableRequest() from exc
    if (intent not in INTENTS or not isinstance(metric, str | None) or word not in (None, "me", "team", "org",
                                                                                      "default")
            or not isinstance(by, list) or not all(isinstance(d, str) for d in by) or len(by) > 3
            or not (limit is None or (isinstance(limit, int) and 0 < limit <= 1000))
            or not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
        raise UnreadableRequest()
    request = Request(intent=intent, metric=metric, scope_word=word, names=_names_of(data["names"]),
                      period=_period_of(data["period"]), by=tuple(by), limit=limit,
                      filters=_filters_of(data["filters"]), options=set(options))
    if compare is not None:
        if not isinstance(compare, dict) or compare.get("kind") not in ("period", "scope"):
            raise UnreadableRequest()
        request.compare = Compare(compare["kind"], _period_of(compare.get("period")),
                                  _names_of(compare.get("names", [])))
    request.as_of = _moment_of(data.get("as_of"))
    request.scope_text = request.names[0][0] if request.names else (word if word in ("me", "team", "org") else "")
    return request


def encode(request: Request) -> str:
    """The request as a button value or stored text (MARKER first)."""
    return json.dumps({"reading": request_to_dict(request)}, separators=(",", ":"), ensure_ascii=False)


def is_encoded(text: str) -> bool:
    return text.lstrip().startswith(MARKER)


def decode(text: str) -> tuple[Request, str]:
    """The request an encoded text carries, and the words after it (a button's " chart"), for the caller to read
    as a follow-up. The request's `raw` is the encoded part, so its own buttons re-ask it."""
    text = text.lstrip()
    try:
        data, end = json.JSONDecoder().raw_decode(text)
    except ValueError as exc:
        raise UnreadableRequest() from exc
    if not isinstance(data, dict):
        raise UnreadableRequest()
    request = request_from_dict(data.get("reading"))
    request.raw = text[:end]
    return request, text[end:].strip()
