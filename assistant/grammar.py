"""Understand a request: `/sales <what> [who] [when] [options]` in any word order, or a plain-English question.

Deterministic: a vocabulary of intents with synonyms, difflib for typos, `metrics.periods.extract_period` for
the when. What was understood is stated back when anything had to be guessed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date

from metrics.model import DIMENSIONS
from metrics.periods import Period, extract_period

# Subcommands, in the order `help` lists them, with the words that call them.
INTENTS: dict[str, tuple[str, ...]] = {
    "help": ("help", "commands", "usage", "?"),
    "pipeline": ("pipeline", "pipe"),
    "quota": ("quota", "attainment", "tracking", "target", "gap", "coverage"),
    "forecast": ("forecast", "commit", "rollup", "roll-up"),
    "deals": ("deals", "closing", "opportunities", "opps"),
    "deal": ("deal", "opportunity", "opp"),
    "stalled": ("stalled", "stuck", "stale", "stalling", "cold", "slipping"),
    "winrate": ("winrate", "win-rate", "wins", "winning"),
    "cycle": ("cycle", "velocity"),
    "funnel": ("funnel", "conversion", "conversions", "convert"),
    "leaderboard": ("leaderboard", "leaders", "ranking", "rankings", "top"),
    "changes": ("changes", "changed", "change", "moved"),
    "integrity": ("integrity", "hygiene", "quality", "findings"),
    "digest": ("digest",),
    "settings": ("settings", "preferences", "setting"),
    "status": ("status",),
}
# Phrases checked before single words (plain English).
PHRASES: tuple[tuple[str, str], ...] = (
    ("win rate", "winrate"),
    ("sales cycle", "cycle"),
    ("how long", "cycle"),
    ("going cold", "stalled"),
    ("what changed", "changes"),
    ("what's new", "changes"),
    ("data quality", "integrity"),
    ("who is winning", "leaderboard"),
    ("who's winning", "leaderboard"),
    ("top reps", "leaderboard"),
)
OPTION_WORDS = {"chart": "chart", "graph": "chart", "plot": "chart", "explain": "explain", "sql": "explain",
                "why": "explain", "share": "share"}
STOP_WORDS = {
    "how", "am", "is", "are", "was", "were", "do", "does", "did", "to", "what", "whats", "what's", "which", "of",
    "the", "a", "an", "for", "in", "on", "at", "show", "give", "tell", "please", "pls", "our", "with", "and",
    "about", "me?", "us", "can", "you", "get", "list", "see", "there", "any", "by", "this", "that", "all", "/sales",
    "sales", "doing", "look", "looking", "like", "against", "vs", "numbers", "number", "hey", "hi", "bot",
    "since", "from", "during", "between", "until", "so", "far", "far?", "now", "currently", "right",
}
ME_WORDS = {"i", "me", "my", "mine", "myself", "i'm", "im"}
DIMENSION_WORDS = {name: name for name in DIMENSIONS} | {"rep": "owner", "reps": "owner", "person": "owner",
                                                          "stages": "stage", "teams": "team", "regions": "region",
                                                          "products": "product", "months": "month"}
ALL_WORDS = {w: intent for intent, words in INTENTS.items() for w in words}
# When a question names several intents ("which of Dana's deals are stuck?"), the most specific wins.
PRIORITY = ("stalled", "winrate", "cycle", "funnel", "leaderboard", "forecast", "quota", "integrity", "changes",
            "digest", "settings", "pipeline", "deal", "deals", "help")
_TOKEN = re.compile(r"<[@#!][^>]+>|[\w.@'’+-]+|\?")


@dataclass
class Request:
    intent: str
    scope_text: str = ""
    period: Period | None = None
    options: set[str] = field(default_factory=set)
    by: tuple[str, ...] = ()
    args: str = ""  # the rest, for `deal NAME`, `digest …`, `settings …`
    notes: list[str] = field(default_factory=list)  # what had to be guessed
    raw: str = ""

    @property
    def guessed(self) -> bool:
        return bool(self.notes)


def _strip_bot_mention(text: str) -> str:
    return re.sub(r"^\s*<@[A-Z0-9]+>\s*", "", text)


def _fuzzy_intent(word: str) -> str | None:
    if len(word) < 4:
        return None
    close = difflib.get_close_matches(word, list(ALL_WORDS), n=1, cutoff=0.78)
    return ALL_WORDS[close[0]] if close else None


def _norm(tok: str) -> str:
    low = tok.lower().rstrip("?!.,").replace("’", "'")
    if low.endswith("'s") and low[:-2] in ALL_WORDS:
        low = low[:-2]
    return low


def _dimension(word: str, req: Request) -> str | None:
    dim = DIMENSION_WORDS.get(word.lower())
    if dim is None:
        close = difflib.get_close_matches(word.lower(), list(DIMENSION_WORDS), n=1, cutoff=0.75)
        if close:
            dim = DIMENSION_WORDS[close[0]]
            req.notes.append(f"by {dim} (for {word!r})")
    return dim


def _was_guessed(tok: str, req: Request) -> bool:
    return any(f"(for {tok!r})" in note for note in req.notes)


def _choose_intent(words: list[str], req: Request) -> str:
    """The first word if it is a subcommand; else the most specific intent named; else a close spelling."""
    if words and _norm(words[0]) in INTENTS:
        return _norm(words[0])
    named = {ALL_WORDS[_norm(w)] for w in words if _norm(w) in ALL_WORDS}
    for intent in PRIORITY:
        if intent in named:
            return intent
    for w in words:
        low = _norm(w)
        if low not in STOP_WORDS and (guess := _fuzzy_intent(low)):
            req.notes.append(f"{guess} (for {w!r})")
            return guess
    if words:
        req.notes.append("help (I did not recognise what you asked for)")
    return "help"


def parse_request(text: str, today: date, fiscal_start_month: int = 1) -> Request:
    raw = text
    text = _strip_bot_mention(text or "").strip()
    if text.lower().startswith("/sales"):
        text = text[len("/sales"):].strip()
    lowered = text.lower()
    intent = None
    for phrase, target in PHRASES:
        if phrase in lowered:
            intent = target
            text = re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)
            break
    period, text = extract_period(text, today, fiscal_start_month)
    tokens = _TOKEN.findall(text)
    req = Request(intent=intent or "", period=period, raw=raw)
    words: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        low = _norm(tok)
        if low == "by" and i + 1 < len(tokens):
            dim = _dimension(tokens[i + 1], req)
            if dim:
                req.by += (dim,)
                i += 2
                continue
        if low in OPTION_WORDS:
            req.options.add(OPTION_WORDS[low])
        else:
            words.append(tok)
        i += 1
    if not req.intent:
        req.intent = _choose_intent(words, req)
    rest = []
    for tok in words:
        low = _norm(tok)
        if req.intent in ("deal", "digest", "settings"):
            if not rest and low in ALL_WORDS and ALL_WORDS[low] == req.intent:
                continue
            rest.append(tok)
        elif not (low in ALL_WORDS or low in STOP_WORDS or not low or _was_guessed(tok, req)):
            rest.append(tok)
    return _finish(req, rest)


def _finish(req: Request, rest: list[str]) -> Request:
    if req.intent in ("deal", "digest", "settings"):
        req.args = " ".join(rest).strip()
        return req
    words = [w for w in rest]
    lowered = [w.lower().rstrip("?!.,") for w in words]
    if "team" in lowered or "org" in lowered or "company" in lowered:
        others = [w for w, low in zip(words, lowered, strict=True) if low not in ME_WORDS]
        req.scope_text = " ".join(others)
    elif any(low in ME_WORDS for low in lowered) and all(low in ME_WORDS for low in lowered):
        req.scope_text = "me"
    else:
        names = [w.rstrip("?!.,") for w, low in zip(words, lowered, strict=True) if low not in ME_WORDS]
        req.scope_text = " ".join(re.sub(r"['’]s$", "", n) for n in names)
    return req
