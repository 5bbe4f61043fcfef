"""Ask instead of guessing: when a name means several people ("Dana": Dana Lee and Dana Park) or a label several
teams, the answer is "Which Dana?" with one button per person the asker may see.

Each button carries the question with the name replaced by words naming only that person (their email), encoded
(`assistant.request_codec`). A click re-asks it as the person who clicked, so their rights are checked again: a
value edited to name someone else is refused like the same question typed.
"""

from __future__ import annotations

import copy

from sqlalchemy import Connection

from assistant.request_codec import encode
from assistant.resolve import Reading, ScopeReading
from errors import UserError
from i18n import _
from metrics.scopes import AmbiguousScope, ScopeChoice, Viewer, check_scope
from render.answers import Action, Answer

MAX_BUTTONS = 5
PICK = "pick"  # the buttons' action kind (action_id sales_pick, sales_pick.2 …)


def _visible(conn: Connection, viewer: Viewer, choices: list[ScopeChoice]) -> list[ScopeChoice]:
    out = []
    for choice in choices:
        if choice.reference is None:
            continue
        try:
            check_scope(conn, viewer, choice.scope)
        except UserError:
            continue
        out.append(choice)
    return out


def _picked(reading: Reading, side: str, typed: str, reference: str):
    request = copy.deepcopy(reading.request)
    holder = request if side == "scope" else request.compare
    holder.names = [((reference, True) if text == typed else (text, explicit)) for text, explicit in holder.names]
    if side == "scope":
        request.scope_text = reference
    request.unknown, request.notes = [], []
    return request


def clarification(conn: Connection, viewer: Viewer, reading: Reading) -> Answer | None:
    """"Which Dana?" with buttons, when the reading's person (or the one compared with) is ambiguous and at least
    one of the people it could mean is someone the asker may see; None otherwise (the ambiguity, if any, is then
    said as a sentence by the usual path)."""
    sides: list[tuple[str, ScopeReading | None]] = [("scope", reading.scope), ("compare", reading.compare_scope)]
    for side, scope in sides:
        if scope is None or not isinstance(scope.error, AmbiguousScope):
            continue
        error = scope.error
        words = error.words or scope.name
        choices = _visible(conn, viewer, error.choices)
        if not choices:
            return None
        if len(choices) > MAX_BUTTONS:
            return Answer(kind="info", title=_("Which {words}?").format(words=words),
                          lines=[_("{count} people or teams match “{words}”. Please ask again with the full name "
                                   "or the email.").format(count=len(choices), words=words)])
        actions = [Action(PICK, choice.label, value=encode(_picked(reading, side, scope.name, choice.reference)))
                   for choice in choices]
        line = (_("More than one team matches “{words}”. Pick one and I'll answer for them.") if _teams(choices)
                else _("More than one person matches “{words}”. Pick one and I'll answer for them."))
        return Answer(kind="info", title=_("Which {words}?").format(words=words),
                      lines=[line.format(words=words)],
                      actions=actions)
    return None


def _teams(choices: list[ScopeChoice]) -> bool:
    return all(c.scope.kind == "tree" and c.label == c.scope.label for c in choices)
