"""Which messages follow up the last question and what they change (assistant/followup.py), and readings kept as
text and read back (assistant/request_codec.py). No database: the grammar is pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from assistant.followup import read_followup
from assistant.grammar import parse_request
from assistant.request_codec import UnreadableRequest, decode, encode

TODAY = date(2026, 12, 1)  # Q4 2026 is Oct 1 – Dec 31; last quarter is Jul 1 – Sep 30


def previous(text: str = "pipeline for Dana Lee this quarter"):
    return parse_request(text, TODAY)


def follow(text: str, before: str = "pipeline for Dana Lee this quarter"):
    return read_followup(text, previous(before), TODAY, 1)


@pytest.mark.parametrize("text", [
    "pipeline last quarter",  # names its question: a new one
    "what's my forecast?",
    "deals closing this month",
    "deal Acme platform",
    "help",
    "thanks",
    "",
])
def test_a_question_of_its_own_is_not_a_follow_up(text):
    assert follow(text) is None


def test_no_previous_question_no_follow_up():
    assert read_followup("and last quarter?", None, TODAY, 1) is None


def test_a_new_period_keeps_the_question_and_the_person():
    r = follow("and last quarter?")
    assert (r.intent, r.names, r.period.start, r.period.end) == (
        "pipeline", [("Dana Lee", True)], date(2026, 7, 1), date(2026, 9, 30))


def test_a_name_replaces_the_person_and_keeps_the_period():
    r = follow("what about Mei?")
    assert (r.intent, r.names, r.period.start) == ("pipeline", [("Mei", True)], date(2026, 10, 1))


def test_a_scope_word_replaces_the_names():
    r = follow("and for the whole org?")
    assert (r.names, r.scope_word) == ([], "org")


def test_same_for_a_team():
    assert follow("same for the west team").names == [("west team", True)]


def test_breakdown_option_and_filter_accumulate():
    r = follow("by owner")
    assert r.by == ("owner",)
    r = read_followup("show as a chart", r, TODAY, 1)
    assert (r.by, r.options) == (("owner",), {"chart"})
    r = read_followup("only Negotiation", parse_request("deals closing this quarter over 1k", TODAY), TODAY, 1)
    assert (r.intent, r.filters) == ("deals", {"amount_min": Decimal("1000"), "stage": "Negotiation"})


def test_vs_makes_a_comparison_as_the_whole_question_would():
    r = follow("vs last year")
    whole = parse_request("pipeline for Dana Lee this quarter vs last year", TODAY)
    assert (r.period, r.compare.kind, r.compare.period) == (whole.period, "period", whole.compare.period)
    r = follow("vs last year", before="win rate for Dana Lee")  # no period: this year against last
    assert (r.period.start, r.compare.period.start) == (date(2026, 1, 1), date(2025, 1, 1))
    r = follow("vs Mei")
    assert (r.compare.kind, r.compare.names, r.names) == ("scope", [("Mei", True)], [("Dana Lee", True)])


def test_a_new_period_drops_a_comparison_that_was_relative_to_the_old_one():
    r = follow("and last quarter?", before="pipeline this quarter vs last quarter")
    assert r.compare is None and r.period.start == date(2026, 7, 1)


def test_a_cue_with_another_question_keeps_who_and_when():
    r = follow("and the forecast?", before="pipeline for Dana Lee last quarter by owner")
    assert (r.intent, r.names, r.period.start, r.by) == ("forecast", [("Dana Lee", True)], date(2026, 7, 1), ())


def test_an_impossible_period_is_kept_as_the_problem():
    assert follow("and q5?").problem


def test_encoded_reading_round_trips():
    r = follow("only Negotiation", before="top 5 deals over 50k for Dana Lee vs last year by stage chart")
    text = encode(r)
    back, rest = decode(text + " chart")
    assert rest == "chart"
    assert (back.intent, back.metric, back.names, back.period, back.by, back.limit, back.filters, back.options) == (
        r.intent, r.metric, r.names, r.period, r.by, r.limit, r.filters, r.options)
    assert (back.compare.kind, back.compare.period) == (r.compare.kind, r.compare.period)


@pytest.mark.parametrize("text", [
    '{"reading":',
    '{"reading":{}}',
    '{"reading":{"intent":"drop table","metric":null,"scope_word":null,"by":[],"limit":null,"options":[],'
    '"compare":null,"names":[],"period":null,"filters":{}}}',
    '{"reading":{"intent":"pipeline","metric":null,"scope_word":null,"by":[],"limit":null,"options":[],'
    '"compare":null,"names":[],"period":{"start":"2026-12-31","end":"2026-01-01","label":"x"},"filters":{}}}',
    '{"reading":{"intent":"deals","metric":null,"scope_word":null,"by":[],"limit":null,"options":[],'
    '"compare":null,"names":[],"period":null,"filters":{"amount_min":"lots"}}}',
    '{"reading":{"intent":"deals","metric":null,"scope_word":"everyone","by":[],"limit":null,"options":[],'
    '"compare":null,"names":[],"period":null,"filters":{}}}',
])
def test_a_broken_reading_is_a_sentence(text):
    with pytest.raises(UnreadableRequest, match="couldn't read that button"):
        decode(text)
