"""Who is asking, whose numbers they ask for, and whether they may see them (DESIGN §4 "Scopes").

A rep may see only their own numbers; a manager their whole tree (recursive, not a flat team label); exec and
ops everything. Every name the user typed is matched in Python against rows fetched with bound parameters;
no input text is ever spliced into SQL.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Select, func, or_, select

from db.schema import reps
from errors import UserError
from i18n import _

ORG_WORDS = {"org", "company", "everyone", "all", "whole org", "organisation", "organization", "global"}
TEAM_WORDS = {"team", "my team", "my org", "direct reports", "reports"}
ME_WORDS = {"me", "my", "mine", "i", "myself", "own", "my own"}
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


class ScopeError(UserError):
    """The scope cannot be used (unknown person or team)."""


@dataclass(frozen=True)
class ScopeChoice:
    """One of several people or teams a name could mean: what to show, and words that name only this one (the
    email, else the full name; None when neither is unique, so it cannot be offered as a button)."""

    label: str
    reference: str | None
    scope: Scope


class AmbiguousScope(ScopeError):
    """Several people (or teams) match what was typed; the message names them, `choices` lists them."""

    def __init__(self, message: str, *, words: str = "", choices: list[ScopeChoice] | None = None):
        super().__init__(message)
        self.words = words
        self.choices = choices or []


class ScopeRefused(UserError):
    """The viewer may not see that scope; the message says what they may ask instead."""


class UnknownViewer(UserError):
    """The person asking is not a rep in the sales database."""


@dataclass(frozen=True)
class Viewer:
    rep_id: int
    name: str
    email: str | None
    role: str
    active: bool
    timezone: str | None

    @property
    def sees_everything(self) -> bool:
        return self.role in ("exec", "ops")


@dataclass(frozen=True)
class Scope:
    """A set of deal owners: one rep, a manager's tree, a team label, or the whole org."""

    kind: str  # rep | tree | team | org
    label: str
    rep_id: int | None = None  # the rep, or the tree's root manager
    team: str | None = None

    def owner_ids(self) -> Select | None:
        """A SELECT of the rep ids in scope, or None for the whole org."""
        if self.kind == "org":
            return None
        if self.kind == "rep":
            return select(reps.c.id).where(reps.c.id == self.rep_id)
        if self.kind == "team":
            return select(reps.c.id).where(func.lower(reps.c.team) == self.team.lower())
        return tree_ids(self.rep_id)


    def member_ids(self, conn: Connection) -> list[int] | None:
        """The rep ids in scope as a list (None for the org). Rule queries plan far better on PostgreSQL with a
        short literal list than with the recursive CTE inside IN (a team of ten: ~2 s → ~50 ms at 1M deals)."""
        query = self.owner_ids()
        return None if query is None else [rep_id for (rep_id,) in conn.execute(query)]


# A scope holding more than this share of the org's people is read like the org: every deal scanned and kept by a
# hashed look-up of its owner (metrics.dialect.among), rather than found first through the owner index, which
# for a VP's tree means half the deals fetched one index entry at a time.
WIDE_SCOPE_SHARE = 0.25


def is_wide(conn: Connection, ids: list[int] | None) -> bool:
    """Whether `ids` (Scope.member_ids; None is the org) hold more than WIDE_SCOPE_SHARE of all reps."""
    if ids is None:
        return True
    return len(ids) > WIDE_SCOPE_SHARE * conn.execute(select(func.count()).select_from(reps)).scalar_one()


def tree_ids(root_id: int) -> Select:
    """The ids of a manager and everyone below them, through a recursive CTE (same SQL on both databases)."""
    base = select(reps.c.id).where(reps.c.id == root_id).cte("team_tree", recursive=True)
    tree = base.union_all(select(reps.c.id).where(reps.c.manager_id == base.c.id))
    return select(tree.c.id)


def _viewer_from_row(row) -> Viewer:
    return Viewer(row.id, row.name, row.email, row.role, row.active, row.timezone)


def viewer_by_email(conn: Connection, email: str) -> Viewer:
    row = conn.execute(select(reps).where(func.lower(reps.c.email) == email.strip().lower())).first()
    if row is None:
        raise UnknownViewer(_("No rep with the email {email!r} is in the sales database, so there is nothing to "
                              "show. Ask sales ops to add you (or check the address).").format(email=email))
    return _viewer_from_row(row)


def viewer_by_id(conn: Connection, rep_id: int) -> Viewer:
    row = conn.execute(select(reps).where(reps.c.id == rep_id)).first()
    if row is None:
        raise UnknownViewer(_("That person is no longer in the sales database."))
    return _viewer_from_row(row)


def is_in_tree(conn: Connection, root_id: int, rep_id: int) -> bool:
    ids = tree_ids(root_id).subquery()
    return conn.execute(select(func.count()).select_from(ids).where(ids.c.id == rep_id)).scalar_one() > 0


def _may_see(conn: Connection, viewer: Viewer, scope: Scope) -> bool:
    if viewer.sees_everything:
        return True
    if scope.kind == "org":
        return False
    if scope.kind in ("rep", "tree"):
        if scope.rep_id == viewer.rep_id:
            return scope.kind == "rep" or viewer.role == "manager"
        return viewer.role == "manager" and is_in_tree(conn, viewer.rep_id, scope.rep_id)
    # a team label: every member must be inside the viewer's tree
    if viewer.role != "manager":
        return False
    members = scope.owner_ids().subquery()
    mine = tree_ids(viewer.rep_id).subquery()
    outside = conn.execute(
        select(func.count()).select_from(members).where(members.c.id.not_in(select(mine.c.id)))
    ).scalar_one()
    return outside == 0


def _refusal(viewer: Viewer, scope: Scope) -> ScopeRefused:
    if viewer.role == "manager":
        return ScopeRefused(_("You can't see {scope}'s numbers. You can ask about your own numbers, your team "
                              "(`team`) or anyone in your team by name.").format(scope=scope.label))
    return ScopeRefused(_("You can't see {scope}'s numbers. You can ask about your own numbers (`me`).").format(
        scope=scope.label))


def team_label(name: str) -> str:
    """A manager's whole tree, named after them: "Max's team" ("tim Max", "team di Max")."""
    return _("{name}'s team").format(name=name)


def default_scope(viewer: Viewer) -> Scope:
    """What "my numbers" means: a rep's own deals, a manager's tree, the org for exec and ops."""
    if viewer.sees_everything:
        return Scope("org", _("the whole org"))
    if viewer.role == "manager":
        return Scope("tree", team_label(viewer.name), rep_id=viewer.rep_id)
    return Scope("rep", viewer.name, rep_id=viewer.rep_id)


def resolve_scope(conn: Connection, viewer: Viewer, text: str | None) -> Scope:
    """Turn what the user typed into a Scope they may see, or raise ScopeError / ScopeRefused."""
    scope = identify_scope(conn, viewer, text)
    check_scope(conn, viewer, scope)
    return scope


def check_scope(conn: Connection, viewer: Viewer, scope: Scope) -> None:
    """ScopeRefused, saying what they may ask instead, when the viewer may not see `scope`."""
    if not _may_see(conn, viewer, scope):
        raise _refusal(viewer, scope)


def identify_scope(conn: Connection, viewer: Viewer, text: str | None) -> Scope:
    """The scope what the user typed names, before any permission check; ScopeError when it names nothing."""
    words = (text or "").strip()
    key = words.lower()
    if not key:
        scope = default_scope(viewer)
    elif key in ME_WORDS:
        scope = Scope("rep", viewer.name, rep_id=viewer.rep_id)
    elif key in TEAM_WORDS:
        if viewer.role == "rep":
            raise ScopeRefused(_("Team figures are for managers. You can ask about your own numbers (`me`)."))
        scope = Scope("tree", team_label(viewer.name), rep_id=viewer.rep_id)
    elif key in ORG_WORDS:
        scope = Scope("org", _("the whole org"))
    else:
        scope = _named_scope(conn, words)
    return scope


def _named_scope(conn: Connection, words: str) -> Scope:
    mention = _SLACK_MENTION.match(words)
    key = words.strip().lower().removesuffix("'s").removesuffix("’s").strip()
    key = re.sub(r"\s+team$", "", key) if not mention else key
    if mention:
        cond = reps.c.slack_user_id == mention.group(1)
    else:
        cond = or_(func.lower(reps.c.email) == key, func.lower(reps.c.name) == key, reps.c.slack_user_id == words)
    rows = conn.execute(select(*_PERSON).where(cond)).all()
    if len(rows) == 1:
        return _person_scope(rows[0])
    if len(rows) > 1:
        names = ", ".join(f"{r.name} (#{r.id})" for r in rows[:5])
        raise AmbiguousScope(_("More than one person matches {words}: {names}. Use their email.").format(
            words=repr(words), names=names), words=words,
                             choices=_person_choices(rows))
    team = _team_scope(conn, key)
    return team if team is not None else _fuzzy_scope(conn, words, key)


_PERSON = (reps.c.id, reps.c.name, reps.c.role, reps.c.email)


def _person_scope(row) -> Scope:
    """A person's numbers: a manager's or exec's are their tree's."""
    if row.role in ("manager", "exec"):
        return Scope("tree", team_label(row.name), rep_id=row.id)
    return Scope("rep", row.name, rep_id=row.id)


def _person_choices(rows) -> list[ScopeChoice]:
    """The people a name could mean, each with the words that name only them: the email, else a full name that no
    one else among them has."""
    names = [r.name.lower() for r in rows]

    def label(r) -> str:  # two people of one name are told apart by their email
        return f"{r.name} ({r.email})" if names.count(r.name.lower()) > 1 and r.email else r.name

    return [ScopeChoice(label(r), r.email or (r.name if names.count(r.name.lower()) == 1 else None), _person_scope(r))
            for r in rows]


def _team_scope(conn: Connection, key: str) -> Scope | None:
    """A team label at any level, or a region. A label that reps carry is those reps ("West"); a label only
    managers carry ("EMEA Sales", a VP's) is the tree of its most senior holder; a region ("EMEA") is the tree of
    the one manager at its top."""
    people = conn.execute(select(reps.c.id, reps.c.role, reps.c.team, reps.c.region, reps.c.manager_id)
                          .where(or_(func.lower(reps.c.team) == key, func.lower(reps.c.region) == key))).all()
    holders = [p for p in people if (p.team or "").lower() == key]
    if any(p.role == "rep" for p in holders):
        team = holders[0].team
        return Scope("team", _("the {team} team").format(team=team), team=team)
    regional = [p for p in people if p.role == "manager" and (p.region or "").lower() == key]
    several: list = []
    for group, field in ((holders, "team"), (regional, "region")):
        ids = {p.id for p in group}
        tops = [p for p in group if p.manager_id not in ids]
        if len(tops) == 1:
            top = tops[0]
            label = top.team if field == "team" or top.team else _("{region} region").format(region=top.region)
            return Scope("tree", label, rep_id=top.id)
        several = several or tops
    if several:  # two separate trees carry the label: whose?
        tops = conn.execute(select(*_PERSON).where(reps.c.id.in_([p.id for p in several])).order_by(reps.c.name)).all()
        choices = [ScopeChoice(team_label(p.name), p.email or None, Scope("tree", team_label(p.name), rep_id=p.id))
                   for p in tops]
        raise AmbiguousScope(_("{words} is the label of more than one team: {teams}. Which one? Name its manager.")
                             .format(words=repr(key), teams=", ".join(c.label for c in choices[:5])),
                             words=key, choices=choices)
    return None


def _fuzzy_scope(conn: Connection, words: str, key: str) -> Scope:
    """A unique first name or a close spelling of one name or team; otherwise a ScopeError with suggestions."""
    people = conn.execute(select(*_PERSON)).all()
    first = [p for p in people if p.name.lower().split()[0] == key]
    if len(first) == 1:
        return _person_scope(first[0])
    teams = sorted({t for (t,) in conn.execute(select(reps.c.team).distinct()) if t})
    by_name = {p.name.lower(): p for p in people}
    candidates = list(by_name) + [t.lower() for t in teams]
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.75)
    if len(close) == 1 or (close and difflib.SequenceMatcher(None, key, close[0]).ratio() >= 0.9):
        match = close[0]
        if match in by_name:
            return _person_scope(by_name[match])
        team = next(t for t in teams if t.lower() == match)
        return Scope("team", _("the {team} team").format(team=team), team=team)
    hint = (" " + _("Did you mean {names}?").format(names=_(" or ").join(repr(c.title()) for c in close))
            if close else "")
    if len(first) > 1:
        raise AmbiguousScope(_("Several people are called {words}: {names}. Which one? Use the full name or the "
                               "email.").format(words=repr(words), names=", ".join(p.name for p in first[:5])),
                             words=words,
                             choices=_person_choices(sorted(first, key=lambda p: p.name)))
    raise ScopeError(_("I don't know anyone or any team called {words}.").format(words=repr(words)) + hint)
