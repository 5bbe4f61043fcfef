"""The Indonesian and Italian question corpora (tests/corpus/questions_id.tsv, questions_it.tsv): questions as a
Jakarta or Milan rep, manager, VP, exec or sales-ops person types them, mixed with English words and with typos,
read in the asker's language (dates such as 1/10 are the 1st of October) through the code `bot.py parse` uses, against
the reading written by hand beside each (the columns and aliases of tests/test_corpus.py).

At least 97% of each must read as expected; the rest are listed in KNOWN_MISSES, which must stay true.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.service import read_for
from i18n import _, use_locale
from metrics.scopes import viewer_by_email
from tests.factories import Factory
from tests.test_corpus import ASKERS, NOW, PASS_RATE, SETTINGS, build_corpus_org, load_corpus, mismatches

CORPORA = {lang: Path(__file__).parent / "corpus" / f"questions_{lang}.tsv" for lang in ("id", "it")}
# The people the questions name beyond tests/test_corpus.py's org: reps on Max Manager's team.
EXTRA_REPS = ("Budi Santoso", "Siti Rahma", "Marco Rossi", "Giulia Bianchi")

# Questions whose reading is still wrong, by language and question text. Keep these lists true.
KNOWN_MISSES: dict[str, set[str]] = {
    "id": {
        "target vs achievement tim kuartal ini",  # "vs" splits a comparison: "achievement" is read as its other side
    },
    "it": {
        "chi ha chiuso di più questo mese?",  # "who closed the most" is a ranking; read as closed won, "più" ignored
    },
}


@pytest.fixture
def intl_org(db):
    build_corpus_org(db.engine)
    f = Factory(db.engine)
    with db.engine.connect() as conn:
        max_id = viewer_by_email(conn, "max.manager@example.com").rep_id
    for name in EXTRA_REPS:
        f.rep(name, manager=max_id, team="EMEA Enterprise 1", region="EMEA")
    with db.engine.connect() as conn:
        viewers = {asker: viewer_by_email(conn, email) for asker, email in ASKERS.items()}
    return db.engine, viewers


def _in_english_scope(reading: dict) -> dict:
    """The scope's name as the corpus writes it (English): answers name scopes in the asker's language."""
    scope = reading.get("scope")
    if scope:
        name = scope["name"]
        if name == _("the whole org"):
            name = "the whole org"
        else:
            head, _sep, tail = _("{name}'s team").partition("{name}")
            if name.startswith(head) and name.endswith(tail) and scope["kind"] == "team":
                name = f"{name[len(head):len(name) - len(tail)]}'s team"
        reading = {**reading, "scope": {**scope, "name": name}}
    return reading


@pytest.mark.parametrize("lang", sorted(CORPORA))
def test_corpus_is_big_and_covers_every_asker(lang):
    rows = load_corpus(CORPORA[lang])
    assert len(rows) >= 200
    assert {r.asker for r in rows} == set(ASKERS)
    assert len({(r.asker, r.question) for r in rows}) == len(rows), "a question is listed twice for one asker"
    assert {r.question for r in rows} >= KNOWN_MISSES[lang]


@pytest.mark.parametrize("lang", sorted(CORPORA))
def test_corpus_reads_as_expected_in_the_askers_language(intl_org, lang):
    engine, viewers = intl_org
    rows = load_corpus(CORPORA[lang])
    failed: dict[str, list[str]] = {}
    with use_locale(lang):
        for row in rows:
            reading = _in_english_scope(read_for(engine, viewers[row.asker], row.question, settings=SETTINGS,
                                                 now=NOW).to_dict())
            if problems := mismatches(row, reading):
                failed[row.question] = problems
    passed = len(rows) - len(failed)
    known = KNOWN_MISSES[lang]
    report = "\n".join(f"  line {r.line}: {r.question!r}: {'; '.join(failed[r.question])}"
                       for r in rows if r.question in failed and r.question not in known)
    assert not set(failed) - known, f"unexpected misses ({passed}/{len(rows)} pass):\n{report}"
    assert not known - set(failed), f"now read right, take them off KNOWN_MISSES: {known - set(failed)}"
    assert passed / len(rows) >= PASS_RATE
