"""render.text: the console rendering of an Answer."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings

from render.answers import Action, Answer, Column, Figure, Table
from render.format import display_width
from render.text import answer_to_text
from tests.test_render_blocks import answers, deal_answer, deal_card, metric_answer


def test_metric_answer_as_text():
    out = answer_to_text(metric_answer(understood="I read this as: pipeline, West, Q3"))
    # worked out from the answer: $1,234,567 in short money; the table's columns as wide as their widest cell
    # (Prospecting: 11; Deals: 5; Amount: 6), two spaces apart, numbers right-aligned
    assert out.split("\n") == [
        "Open pipeline",
        "=============",
        "",
        "I read this as: pipeline, West, Q3",
        "",
        "Open pipeline: $1.2M",
        "Deals: 42",
        "Win rate: 31%",
        "Avg cycle: 41 days",
        "",
        "Stage        Deals  Amount",
        "-----------  -----  ------",
        "Prospecting     12   $420K",
        "Proposal         5   $336K",
        "",
        "Pipeline is up $120K since Monday.",
        "",
        "Q3 FY2026 · West team · data as of 09:14 UTC",
        "",
        "[Share in channel] [Show chart]",
    ]


def test_table_is_aligned():
    out = answer_to_text(metric_answer())
    lines = out.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("Stage"))
    table = lines[start : start + 4]
    assert len({display_width(line) for line in table}) == 1  # the money column is right-aligned


def test_no_markup_and_no_escaping():
    evil = "<script> & Co *bold* _it_"
    ans = Answer(
        kind="list",
        title=evil,
        table=Table([Column("Deal")], [[evil]]),
        lines=[evil],
        figures=[Figure("Name", evil, "text")],
    )
    out = answer_to_text(ans)
    assert out.split("\n") == [  # as typed: no escaping, no markup, no code fences
        evil, "=" * len(evil), "", f"Name: {evil}", "", "Deal", "-" * len(evil), evil, "", evil,
    ]


def test_control_characters_and_escape_sequences_from_data_are_dropped():
    ans = Answer(
        kind="info",
        title="\x1b[2Jcleared",  # clear the screen
        lines=["\x1b[31mred\x1b[0m"],  # colours
        figures=[Figure("x\x07", "y\x1b]0;title\x07", "text")],  # a bell; set the window title
    )
    assert answer_to_text(ans).split("\n") == ["cleared", "=======", "", "x: y", "", "red"]


def test_long_table_cut_with_and_more():
    rows = [[f"Deal {i}", Decimal(i)] for i in range(500)]
    ans = Answer(
        kind="list", title="Deals", table=Table([Column("Deal"), Column("Amount", "money")], rows, total_rows=1000)
    )
    out = answer_to_text(ans, max_rows=50)
    # 50 rows of the 1,000: "Deal 49" is the widest name (7), "Amount" the widest money cell (6)
    rows = [f"Deal {i}".ljust(7) + "  " + f"${i}".rjust(6) for i in range(50)]
    assert out.split("\n") == ["Deals", "=====", "", "Deal     Amount", "-------  ------", *rows, "…and 950 more"]


def test_deal_card_as_text():
    out = answer_to_text(
        deal_answer(deal=deal_card(history=3, changes=1)), crm_url_template="https://crm.example.com/r/{id}"
    )
    for expected in (
        "Acme renewal",
        "Acme Corp · Dana Scully",
        "Stage: Proposal",
        "Amount: $50,000",
        "Close date: 30 Nov 2026",
        "Last activity: 1 Nov 2026",
        "Next step: Send pricing",
        "Stage path: Prospecting (1 Jan 2025) → Qualification (4 Jan 2025) → Discovery (7 Jan 2025)",
        "  • close date 2026-10-31 → 2026-11-30 on 1 Nov",
        "CRM: https://crm.example.com/r/006Ab000001",
        "[Snooze 7 days] [Snooze 30 days] [Still active] [Open in CRM]",
    ):
        assert expected in out.split("\n"), expected


def test_error_answer_as_text():
    out = answer_to_text(
        Answer(kind="error", title="Something went wrong", lines=["Please try again."], error_id="E7F3A1")
    )
    assert out == "Something went wrong\n====================\n\nPlease try again.\n\nError id: E7F3A1"


def test_default_button_labels():
    out = answer_to_text(Answer(kind="info", title="t", actions=[Action("share", ""), Action("snooze_custom", "")]))
    assert out == "t\n=\n\n[Share in channel] [Snooze until…]"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(answers())
def test_any_answer_renders_as_text(answer):
    out = answer_to_text(answer)
    assert isinstance(out, str) and out
    assert "\x1b" not in out
