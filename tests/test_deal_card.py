"""`/sales deal NAME` over deals with a known history: through the assistant, and through the real bot and the
fake Slack. Every expected string below is worked out by hand from the rows `add_card_deals` writes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from assistant.service import answer_text
from config import load_settings
from metrics.scopes import viewer_by_email
from render.blocks import answer_to_message
from render.text import answer_to_text
from tests.factories import Factory
from tests.fakeslack import post_slash_command
from tests.orgs import build_small_org
from tests.slackbot import SECRET

CRM = "https://crm.example.com/{id}"
SETTINGS = replace(load_settings({}), crm_url_template=CRM)
ANN, MAX, ERIN = "ann.rep@example.com", "max.manager@example.com", "erin.exec@example.com"
CANT_FIND = "I can't find a deal called “{}” among the deals you can see. Try part of its name or its CRM id."


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def add_card_deals(engine, org: dict[str, int]) -> dict[str, int]:
    """Ann's "Acme renewal" (history below), her "Acme expansion" (history behind the deal), deals whose names
    look like commands, and Bob's "Globex platform", which Ann may not see. Ann also owns the small org's
    "Acme platform" (Proposal, $1,000)."""
    f = Factory(engine)
    acme = f.account("Acme Corp")
    renewal = f.deal(org["A"], "Proposal", "12345.67", date(2026, 12, 20), created=date(2026, 9, 1),
                     name="Acme renewal", external_id="006-ACME-42", account_id=acme, probability=60,
                     next_step="Send the order form", stage_entered_at=utc(2026, 11, 10, 16),
                     last_activity_at=utc(2026, 11, 3, 9), history=False)
    f.history(renewal, utc(2026, 9, 1, 10), stage="Prospecting", amount=Decimal("9999.50"),
              close_date=date(2026, 11, 30))
    f.history(renewal, utc(2026, 9, 20, 14), stage="Qualification", amount=Decimal("9999.50"),
              close_date=date(2026, 11, 30))
    f.history(renewal, utc(2026, 10, 1, 8), stage="Qualification", probability=25)  # a row that records one field
    f.history(renewal, utc(2026, 10, 15, 9, 30), stage="Qualification", amount=Decimal("12345.67"),
              close_date=date(2026, 11, 30))
    f.history(renewal, utc(2026, 11, 10, 16), stage="Proposal", amount=Decimal("12345.67"),
              close_date=date(2026, 12, 20))
    f.activity(renewal, org["A"], utc(2026, 11, 5, 15))
    f.activity(renewal, org["A"], utc(2026, 11, 20, 2), kind="meeting")  # the last: 19 Nov in New York
    expansion = f.deal(org["A"], "Qualification", "4000.00", date(2027, 2, 1), name="Acme expansion",
                       external_id="006-ACME-43", account_id=acme, stage_entered_at=utc(2026, 11, 25, 12),
                       history=False)
    f.history(expansion, utc(2026, 11, 2, 12), stage="Prospecting", amount=Decimal("4000.00"),
              close_date=date(2027, 2, 1))
    for name, record in (("Q4 expansion", "006-Q4"), ("Q1 expansion", "006-Q1"), ("Deal Room", "006-DR"),
                         ("Room service", "006-RS")):
        f.deal(org["A"], "Prospecting", "100.00", date(2027, 3, 1), name=name, external_id=record)
    globex = f.deal(org["B"], "Negotiation", "48000.00", date(2026, 12, 12), name="Globex platform",
                    external_id="006-GLX-7")
    f.activity(globex, org["B"], utc(2026, 11, 28, 10))  # later than the renewal's: another deal's
    return {"renewal": renewal, "globex": globex}


@pytest.fixture
def ask(db, small_org_clock):
    add_card_deals(db.engine, build_small_org(db.engine))

    def ask(email: str, text: str):
        with db.engine.connect() as conn:
            viewer = viewer_by_email(conn, email)
        return answer_text(db.engine, viewer, text, settings=SETTINGS)

    return ask


RENEWAL_LINES = [
    "Acme Corp · Ann Rep",
    "Stage: Proposal",
    "Amount: $12,345.67",
    "Close date: 20 Dec 2026",
    "Probability: 60%",
    "Last activity: 20 Nov 2026",
    "Next step: Send the order form",
    "Stage path: Prospecting (1 Sep 2026) → Qualification (20 Sep 2026) → Proposal (10 Nov 2026)",
    "Changes:",
    "  • Amount $9,999.50 → $12,345.67 on 15 Oct 2026",
    "  • Close date 30 Nov 2026 → 20 Dec 2026 on 10 Nov 2026",
    "CRM: https://crm.example.com/006-ACME-42",
]


def card_lines(answer) -> list[str]:
    """The console card: the paragraph that holds the stage."""
    paragraphs = answer_to_text(answer, crm_url_template=CRM).split("\n\n")
    return next(p for p in paragraphs if "\nStage: " in p).split("\n")


def test_card_shows_stage_path_changes_last_activity_and_crm_link(ask):
    a = ask(ANN, "/sales deal Acme renewal")
    assert a.kind == "deal" and a.title == "Acme renewal" and a.understood is None
    card = a.deal
    assert (card.record, card.amount, card.close_date, card.probability) == (
        "006-ACME-42", Decimal("12345.67"), date(2026, 12, 20), 60)
    assert [(stage, at) for stage, at in card.stage_path] == [
        ("Prospecting", utc(2026, 9, 1, 10)), ("Qualification", utc(2026, 9, 20, 14)),
        ("Proposal", utc(2026, 11, 10, 16))]
    # the activity log's last entry, later than the deal's own last_activity_at and earlier than Bob's call
    assert card.last_activity == utc(2026, 11, 20, 2)
    assert card_lines(a) == RENEWAL_LINES


def test_card_by_crm_id_in_any_case(ask):
    a = ask(ANN, "/sales deal 006-acme-42")
    assert a.kind == "deal" and a.deal.record == "006-ACME-42" and a.understood is None
    assert card_lines(a) == RENEWAL_LINES


def test_a_typo_finds_the_deal_and_says_how_it_was_read(ask):
    a = ask(ANN, "/sales deal acme renewl")
    assert a.kind == "deal" and a.deal.record == "006-ACME-42"
    assert a.understood == "I read “acme renewl” as Acme renewal."
    assert card_lines(a) == RENEWAL_LINES


def test_part_of_a_name_finds_the_one_deal_it_fits(ask):
    a = ask(MAX, "/sales deal globex")
    assert a.kind == "deal" and a.deal.record == "006-GLX-7"
    assert a.understood == "I read “globex” as Globex platform."
    assert "Amount: $48,000" in card_lines(a)


def test_a_name_several_deals_fit_offers_the_choice(ask, db):
    a = ask(ANN, "/sales deal acme")
    assert a.kind == "list" and a.title == "Which deal?" and a.deal is None
    # open deals first, the largest first
    assert [row[:2] for row in a.table.rows] == [
        ["Acme renewal", "006-ACME-42"], ["Acme expansion", "006-ACME-43"], ["Acme platform", "opp-acme-platform"]]
    assert a.lines == ["More than one deal you can see matches “acme”. Ask again with its full name or its id, "
                       "e.g. `/sales deal 006-ACME-42`."]
    close = ask(ANN, "/sales deal Q4 expansoin")  # a typo in letters: as close to "Q4 expansion" as can be
    assert close.kind == "deal" and close.deal.record == "006-Q4"
    other = ask(ANN, "/sales deal Q3 expansion")  # numbers are not typos: Q3 is neither Q4 nor Q1
    assert (other.kind, other.lines) == ("error", [CANT_FIND.format("Q3 expansion")])
    with db.engine.connect() as conn:
        ann = viewer_by_email(conn, ANN).rep_id
    Factory(db.engine).deal(ann, "Proposal", "700.00", date(2026, 12, 30), name="Acme Renewal", external_id="006-X")
    twins = ask(ANN, "/sales deal acme renewal")  # two deals with this very name
    assert twins.kind == "list" and [row[1] for row in twins.table.rows] == ["006-ACME-42", "006-X"]


def test_names_that_look_like_commands_or_periods_are_names(ask):
    for name, record in (("Q4 expansion", "006-Q4"), ("Q1 expansion", "006-Q1"), ("Deal Room", "006-DR")):
        a = ask(ANN, f"/sales deal {name}")
        assert a.kind == "deal" and a.deal.record == record and a.understood is None, a.lines
    assert ask(ANN, "deal Room service?").deal.record == "006-RS"


def test_the_stage_path_ends_at_the_current_stage(ask):
    a = ask(ANN, "/sales deal Acme expansion")
    assert [(stage, at) for stage, at in a.deal.stage_path] == [
        ("Prospecting", utc(2026, 11, 2, 12)), ("Qualification", utc(2026, 11, 25, 12))]
    assert a.deal.changes == []


def test_no_name_and_an_unknown_name_get_a_sentence(ask):
    a = ask(ANN, "/sales deal")
    assert (a.kind, a.lines) == ("error", ["Which deal? Try `/sales deal Acme renewal` or a deal id."])
    a = ask(ANN, "/sales deal Initech")
    assert (a.kind, a.lines, a.deal) == ("error", [CANT_FIND.format("Initech")], None)


@pytest.mark.parametrize("typed", ["Globex platform", "006-GLX-7", "globex", "globex platfrom"])
def test_a_deal_outside_the_scope_is_refused_without_a_figure(ask, typed):
    a = ask(ANN, f"/sales deal {typed}")
    # answered exactly like a deal that does not exist: nothing says it exists, whose it is, or what it is worth
    assert (a.kind, a.lines, a.deal, a.figures, a.table) == ("error", [CANT_FIND.format(typed)], None, [], None)
    shown = json.dumps(answer_to_message(a, crm_url_template=CRM), ensure_ascii=False)
    for secret in ("$", "48", "Negotiation", "Bob", "12 Dec", "crm.example.com"):
        assert secret not in shown
    assert ask(MAX, f"/sales deal {typed}").deal.record == "006-GLX-7"  # Bob's manager sees it
    assert ask(ERIN, f"/sales deal {typed}").deal.record == "006-GLX-7"  # so does the exec


def test_the_card_says_each_thing_once(ask):
    msg = answer_to_message(ask(ANN, "/sales deal Acme renewal"), crm_url_template=CRM)
    shown = json.dumps([b for b in msg["blocks"] if b["type"] != "actions"], ensure_ascii=False)
    assert msg["blocks"][0]["text"]["text"] == "Acme renewal"
    for once in ("Acme renewal", "*Stage*", "*Amount*", "*Close date*", "*Probability*", "*Last activity*",
                 "Acme Corp"):
        assert shown.count(once) == 1, once
    assert msg["text"] == "Acme renewal: Proposal · $12,345.67"


# --- through Slack --------------------------------------------------------------------------------------------


def slack_ask(bot, user: str, text: str):
    """The ephemeral reply to a slash command: (the message, everything it shows as one string)."""
    bot.fake.reset()
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=bot.fake.response_url(user))
    assert status == 200
    msg = bot.fake.wait_for_messages(1, kind="response_url", timeout=10)[-1]
    return msg, "\n".join([msg.text or "", json.dumps(msg.blocks, ensure_ascii=False)])


def test_slack_deal_card_in_the_askers_time_zone(running_bot, db):
    add_card_deals(db.engine, running_bot.org)
    msg, shown = slack_ask(running_bot, "UANN", "deal acme renewl")
    blocks = msg.blocks
    assert msg.response_type == "ephemeral" and blocks[0]["text"]["text"] == "Acme renewal"
    assert blocks[1]["elements"][0]["text"] == "I read “acme renewl” as Acme renewal."
    assert blocks[2]["text"]["text"] == "Acme Corp · Ann Rep"
    sections = [block.get("text", {}).get("text") for block in blocks if block["type"] == "section"]
    fields = [f["text"] for block in blocks if block["type"] == "section" for f in block.get("fields", [])]
    # Ann's Slack time zone is New York: the last meeting, 02:00 UTC on 20 Nov, was on the 19th for her
    assert fields == ["*Stage*\nProposal", "*Amount*\n$12,345.67", "*Close date*\n20 Dec 2026",
                      "*Probability*\n60%", "*Last activity*\n19 Nov 2026", "*Next step*\nSend the order form"]
    assert sections[-2:] == [
        "*Stage path*\nProspecting (1 Sep 2026) → Qualification (20 Sep 2026) → Proposal (10 Nov 2026)",
        "*Changes*\n• Amount $9,999.50 → $12,345.67 on 15 Oct 2026\n"
        "• Close date 30 Nov 2026 → 20 Dec 2026 on 10 Nov 2026"]
    buttons = {b["action_id"]: b for b in blocks[-1]["elements"]}
    assert buttons["sales_open_crm"]["url"] == "https://crm.example.com/006-ACME-42"


def test_slack_deal_outside_the_scope_is_refused(running_bot, db):
    add_card_deals(db.engine, running_bot.org)
    msg, shown = slack_ask(running_bot, "UANN", "deal Globex platform")
    assert CANT_FIND.format("Globex platform") in shown
    for secret in ("$", "48", "Negotiation", "Bob", "crm.example.com"):
        assert secret not in shown
    _, shown = slack_ask(running_bot, "UMAX", "deal Globex platform")
    assert "*Amount*\\n$48,000" in shown
