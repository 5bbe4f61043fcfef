"""render.blocks / render.home: Block Kit payloads, always inside Slack's limits.

Every payload is checked twice: by slack-sdk's block models (`Block.parse` + `validate_json`) and by
`check_limits` below, which spells out the limits this bot relies on.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from render.answers import Action, Answer, Column, DealCard, Figure, Table
from render.blocks import (
    answer_to_message,
    ephemeral_with_share,
    shared_message,
)
from render.home import home_view

# ---------------------------------------------------------------------------------------------------------------
# the limits


def _texts(block: dict) -> list[dict]:
    """Every text object in a block (section text and fields, context elements, header, button texts)."""
    out = []
    if isinstance(block.get("text"), dict):
        out.append(block["text"])
    out += block.get("fields") or []
    for el in block.get("elements") or []:
        if el.get("type") in ("mrkdwn", "plain_text"):
            out.append(el)
        elif isinstance(el.get("text"), dict):
            out.append(el["text"])
    return out


_SAFE_ANGLE = re.compile(r"<(https?://[^\s<>|]+\|[^<>]*|@[UW][A-Z0-9]+)>")


def check_limits(payload: dict, *, max_blocks: int = 50) -> None:
    """Slack's Block Kit limits, explicitly: ≤50 blocks (100 for views), section text ≤3,000, ≤10 fields each
    ≤2,000, header ≤150, context ≤10 elements, ≤25 buttons with text ≤75 / value ≤2,000 / url ≤3,000, unique
    action ids, top-level text ≤40,000; no empty texts; no raw < in mrkdwn except links and mentions we build."""
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= max_blocks, len(blocks)
    if "text" in payload:
        assert 0 < len(payload["text"]) <= 40_000
        assert len(payload["text"]) <= 300  # it is the notification fallback: short
    for b in blocks:
        kind = b["type"]
        assert kind in ("header", "section", "context", "actions", "divider"), kind
        if kind == "header":
            assert b["text"]["type"] == "plain_text"
            assert 1 <= len(b["text"]["text"]) <= 150
            assert "\n" not in b["text"]["text"]
        elif kind == "section":
            assert "text" in b or "fields" in b
            if "text" in b:
                assert 1 <= len(b["text"]["text"]) <= 3000
            fields = b.get("fields") or []
            assert len(fields) <= 10
            for f in fields:
                assert 1 <= len(f["text"]) <= 2000
        elif kind == "context":
            assert 1 <= len(b["elements"]) <= 10
            for el in b["elements"]:
                assert 1 <= len(el["text"]) <= 3000
        elif kind == "actions":
            assert 1 <= len(b["elements"]) <= 25
            ids = [el["action_id"] for el in b["elements"]]
            assert len(ids) == len(set(ids)), ids
            for el in b["elements"]:
                assert el["type"] == "button"
                assert 1 <= len(el["text"]["text"]) <= 75
                assert len(el.get("value", "")) <= 2000
                assert len(el.get("url", "")) <= 3000
                assert el["action_id"].startswith("sales_") and len(el["action_id"]) <= 255
        for t in _texts(b):
            if t["type"] == "mrkdwn":
                assert "<" not in _SAFE_ANGLE.sub("", t["text"]), t["text"][:200]
    json.dumps(payload)  # plain JSON, nothing exotic


def check_slack_sdk(payload: dict) -> None:
    for raw in payload["blocks"]:
        Block.parse(raw).validate_json()
    parsed = Block.parse_all(payload["blocks"])
    assert len(parsed) == len(payload["blocks"])


def check_message(payload: dict) -> None:
    check_limits(payload)
    check_slack_sdk(payload)


def all_text(payload: dict) -> str:
    return "\n".join(t["text"] for b in payload["blocks"] for t in _texts(b))


# ---------------------------------------------------------------------------------------------------------------
# answers


def metric_answer(**kw) -> Answer:
    base = dict(
        kind="metric",
        title="Open pipeline",
        figures=[
            Figure("Open pipeline", Decimal("1234567.00")),
            Figure("Deals", 42, "count"),
            Figure("Win rate", Decimal("0.31"), "ratio"),
            Figure("Avg cycle", 41, "days"),
        ],
        table=Table(
            [Column("Stage"), Column("Deals", "count"), Column("Amount", "money")],
            [["Prospecting", 12, Decimal(420_000)], ["Proposal", 5, Decimal(336_000)]],
        ),
        lines=["Pipeline is up $120K since Monday."],
        context=["Q3 FY2026", "West team", "data as of 09:14 UTC"],
        actions=[Action("share", "Share in channel"), Action("chart", "Show chart")],
        request_text="/sales pipeline west q3",
    )
    base.update(kw)
    return Answer(**base)


def deal_card(history: int = 3, changes: int = 2, name: str = "Acme renewal") -> DealCard:
    t0 = datetime(2025, 1, 1, 9, 0)
    stages = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"]
    return DealCard(
        record="006Ab000001",
        name=name,
        owner="Dana Scully",
        account="Acme Corp",
        stage="Proposal",
        stage_path=[(stages[i % len(stages)], t0 + timedelta(days=3 * i)) for i in range(history)],
        amount=Decimal(50_000),
        close_date=date(2026, 11, 30),
        changes=[f"close date 2026-10-31 → 2026-11-30 on {i + 1} Nov" for i in range(changes)],
        last_activity=datetime(2026, 11, 1, 10, 30),
        next_step="Send pricing",
        crm_url=None,
    )


def deal_answer(**kw) -> Answer:
    return Answer(
        kind="deal",
        title="Acme renewal",
        deal=kw.pop("deal", None) or deal_card(),
        actions=[
            Action("snooze_7", "Snooze 7 days"),
            Action("snooze_30", "Snooze 30 days"),
            Action("still_active", "Still active"),
            Action("open_crm", "Open in CRM"),
        ],
        **kw,
    )


def test_normal_metric_answer():
    msg = answer_to_message(metric_answer())
    check_message(msg)
    blocks = msg["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Open pipeline", "emoji": True}}
    fields = blocks[1]["fields"]
    assert fields[0]["text"] == "*Open pipeline*\n$1.2M"
    assert [f["text"].split("\n")[1] for f in fields] == ["$1.2M", "42", "31%", "41 days"]
    # fenced, columns as wide as their widest cell, two spaces apart, numbers right-aligned
    assert blocks[2]["text"]["text"] == (
        "```\n"
        "Stage        Deals  Amount\n"
        "-----------  -----  ------\n"
        "Prospecting     12   $420K\n"
        "Proposal         5   $336K\n"
        "```"
    )
    assert blocks[3]["text"]["text"] == "Pipeline is up $120K since Monday."
    ctx = blocks[4]
    assert ctx["type"] == "context" and [e["text"] for e in ctx["elements"]][0] == "Q3 FY2026"
    actions = blocks[5]
    assert [e["action_id"] for e in actions["elements"]] == ["sales_share", "sales_chart"]
    assert actions["elements"][0]["value"] == "/sales pipeline west q3"  # share defaults to the request
    assert msg["text"] == "Open pipeline: $1.2M"


def test_table_columns_are_aligned():
    msg = answer_to_message(metric_answer())
    table = msg["blocks"][2]["text"]["text"]
    lines = table.split("\n")[1:-1]
    assert len({len(line) for line in lines}) == 1, lines  # right-aligned money column: same line length


def test_table_more_rows_says_and_n_more():
    table = Table([Column("Deal"), Column("Amount", "money")], [["Acme", 1], ["Globex", 2]], total_rows=120)
    msg = answer_to_message(Answer(kind="list", title="Deals", table=table))
    check_message(msg)
    assert msg["blocks"][1]["text"]["text"] == (
        "```\nDeal    Amount\n------  ------\nAcme        $1\nGlobex      $2\n```\n_…and 118 more_"
    )


def test_huge_table_is_cut_to_fit():
    rows = [
        [f"Deal {i} " + "with a very long name " * 10, f"Owner {i} " * 8, Decimal(i * 1000), i, 0.5]
        for i in range(5000)
    ]
    cols = [Column("Deal"), Column("Owner"), Column("Amount", "money"), Column("Age", "days"), Column("P", "ratio")]
    msg = answer_to_message(Answer(kind="list", title="All deals", table=Table(cols, rows)))
    check_message(msg)
    text = all_text(msg)
    m = re.search(r"and ([\d,]+) more", text)
    assert m and int(m.group(1).replace(",", "")) > 4900
    shown = len(re.findall(r"Deal \d+", text))
    assert int(m.group(1).replace(",", "")) + shown == 5000


def test_thirty_figures_split_into_sections_of_ten():
    figs = [Figure(f"Figure {i}", Decimal(i * 1000)) for i in range(30)]
    msg = answer_to_message(Answer(kind="metric", title="Lots", figures=figs))
    check_message(msg)
    sections = [b for b in msg["blocks"] if "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10, 10, 10]


def test_hundred_lines_are_packed():
    lines = [f"Line {i}: " + "x" * 80 for i in range(100)]
    msg = answer_to_message(Answer(kind="info", title="Lines", lines=lines))
    check_message(msg)
    text = all_text(msg)
    assert all(f"Line {i}:" in text for i in range(100))
    assert len(msg["blocks"]) < 10


def test_thousand_long_lines_cut_with_and_n_more():
    lines = [f"Line {i} " + "y" * 2990 for i in range(1000)]
    msg = answer_to_message(
        Answer(kind="info", title="Lines", lines=lines, context=["ctx"], actions=[Action("share", "Share")])
    )
    check_message(msg)
    blocks = msg["blocks"]
    assert len(blocks) == 50
    assert blocks[-1]["type"] == "actions" and blocks[-2]["type"] == "context"  # kept
    assert "and " in blocks[-3]["text"]["text"] and "more" in blocks[-3]["text"]["text"]


def test_long_title_is_cut_at_150():
    msg = answer_to_message(metric_answer(title="T" * 300))
    check_message(msg)
    assert len(msg["blocks"][0]["text"]["text"]) == 150
    assert msg["blocks"][0]["text"]["text"].endswith("…")


def test_empty_title_still_has_a_header():
    msg = answer_to_message(Answer(kind="info", title="  "))
    check_message(msg)
    assert msg["blocks"][0]["text"]["text"] == "Sales"


def test_data_is_escaped_everywhere():
    evil = "<script> & Co"
    ans = Answer(
        kind="list",
        title=evil,
        figures=[Figure(evil, evil, "text")],
        table=Table([Column(evil), Column("Amount", "money")], [[evil, 100]]),
        lines=[evil, "<!channel> please look", "<https://evil.example|click>"],
        context=[evil],
        understood=evil,
        suggestion=evil,
        deal=deal_card(name=evil),
        actions=[Action("share", evil)],
    )
    msg = answer_to_message(ans)
    check_message(msg)
    text = all_text(msg)
    assert "&lt;script&gt; &amp; Co" in text
    assert "<script>" not in text.replace(msg["blocks"][0]["text"]["text"], "")
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil" not in text
    # plain_text (header, buttons) is not mrkdwn: shown as typed, not entity-escaped
    assert msg["blocks"][0]["text"]["text"] == evil
    assert "&lt;" in msg["text"]  # top-level text is mrkdwn


def test_table_cells_cannot_break_the_code_fence():
    ans = Answer(kind="list", title="t", table=Table([Column("Deal")], [["```evil```\nnext line"]]))
    msg = answer_to_message(ans)
    check_message(msg)
    text = msg["blocks"][1]["text"]["text"]
    assert text.count("```") == 2


def test_deal_card_layout():
    msg = answer_to_message(deal_answer(), crm_url_template="https://crm.example.com/r/{id}")
    check_message(msg)
    text = all_text(msg)
    assert text.count("Acme renewal") == 1  # the header names the deal; the card does not say it again
    assert msg["blocks"][1]["text"]["text"] == "Acme Corp · Dana Scully"
    assert "*Stage*\nProposal" in text and "*Amount*\n$50,000" in text and "*Close date*\n30 Nov 2026" in text
    assert "*Last activity*\n1 Nov 2026" in text and "*Next step*\nSend pricing" in text
    assert "Prospecting (1 Jan 2025) → Qualification (4 Jan 2025)" in text
    assert "• close date 2026-10-31 → 2026-11-30 on 1 Nov" in text
    actions = msg["blocks"][-1]["elements"]
    by_id = {a["action_id"]: a for a in actions}
    assert set(by_id) == {"sales_snooze_7", "sales_snooze_30", "sales_still_active", "sales_open_crm"}
    assert by_id["sales_open_crm"]["url"] == "https://crm.example.com/r/006Ab000001"
    assert by_id["sales_snooze_7"]["value"] == "006Ab000001"  # deal actions carry the record


def test_deal_card_crm_template_quotes_the_record():
    deal = deal_card()
    deal = DealCard(**{**deal.__dict__, "record": "a b/c?d"})
    msg = answer_to_message(deal_answer(deal=deal), crm_url_template="https://crm.example.com/r/{id}")
    check_message(msg)
    urls = [a.get("url") for a in msg["blocks"][-1]["elements"] if a.get("url")]
    assert urls == ["https://crm.example.com/r/a%20b%2Fc%3Fd"]


def test_deal_card_without_crm_url_has_no_crm_button():
    msg = answer_to_message(deal_answer())
    check_message(msg)
    assert "sales_open_crm" not in json.dumps(msg)


def test_deal_card_with_its_own_url_gets_a_crm_button():
    deal = DealCard(**{**deal_card().__dict__, "crm_url": "https://crm.example.com/deal/1"})
    msg = answer_to_message(Answer(kind="deal", title="Deal", deal=deal))
    check_message(msg)
    crm = [a for a in msg["blocks"][-1]["elements"] if a["action_id"] == "sales_open_crm"]
    assert crm and crm[0]["url"] == "https://crm.example.com/deal/1"


def test_deal_card_with_200_history_entries():
    msg = answer_to_message(deal_answer(deal=deal_card(history=200, changes=200)))
    check_message(msg)
    text = all_text(msg)
    assert "earlier_ →" in text  # the path keeps its latest steps
    assert "(21 Aug 2026)" in text  # the last (200th) step: 1 Jan 2025 + 597 days
    assert "more_" in text  # changes cut with "and N more"


def test_error_answer_shows_error_id():
    msg = answer_to_message(Answer(kind="error", title="Something went wrong", error_id="E7F3A1"))
    check_message(msg)
    text = all_text(msg)
    assert "`E7F3A1`" in text
    assert "E7F3A1" in msg["text"]


def test_understood_and_suggestion():
    ans = Answer(
        kind="help", title="Not sure", understood="I read this as: pipeline, Q3", suggestion="Try `/sales pipeline q3`"
    )
    msg = answer_to_message(ans)
    check_message(msg)
    assert msg["blocks"][1]["type"] == "context"
    assert [e["text"] for e in msg["blocks"][1]["elements"]] == [
        "I read this as: pipeline, Q3",
        "Try `/sales pipeline q3`",
    ]


def test_action_ids_and_limits():
    actions = [Action(k, "") for k in ("share", "chart", "snooze_7", "snooze_30", "snooze_custom", "still_active")]
    actions += [Action("share", "L" * 200, value="v" * 5000, style="primary") for _ in range(40)]
    msg = answer_to_message(Answer(kind="info", title="t", actions=actions))
    check_message(msg)
    els = msg["blocks"][-1]["elements"]
    assert len(els) == 25
    assert [e["action_id"] for e in els[:6]] == [
        "sales_share",
        "sales_chart",
        "sales_snooze_7",
        "sales_snooze_30",
        "sales_snooze_custom",
        "sales_still_active",
    ]
    assert els[6]["action_id"] == "sales_share.2"
    assert els[1]["text"]["text"] == "Show chart"  # default labels for empty ones
    assert els[6]["style"] == "primary"


def test_bad_action_url_is_dropped():
    actions = [Action("open_crm", "Open", url="javascript:alert(1)"), Action("chart", "c", url="ftp://x")]
    msg = answer_to_message(Answer(kind="info", title="t", actions=actions))
    check_message(msg)
    assert "javascript" not in json.dumps(msg) and "ftp" not in json.dumps(msg)


def test_many_context_items():
    msg = answer_to_message(Answer(kind="info", title="t", context=[f"c{i}" for i in range(30)], error_id="X1"))
    check_message(msg)
    ctx = msg["blocks"][-1]
    assert len(ctx["elements"]) == 10
    assert ctx["elements"][0]["text"] == "Error id: `X1`"
    assert "c29" in ctx["elements"][-1]["text"]


def test_ephemeral_with_share_adds_one_share_button():
    ans = metric_answer(actions=[Action("chart", "Show chart")])
    msg = ephemeral_with_share(ans)
    check_message(msg)
    assert msg["response_type"] == "ephemeral"
    ids = [e["action_id"] for e in msg["blocks"][-1]["elements"]]
    assert ids == ["sales_share", "sales_chart"]
    assert msg["blocks"][-1]["elements"][0]["value"] == "/sales pipeline west q3"
    again = ephemeral_with_share(metric_answer())  # already has one: not doubled
    assert [e["action_id"] for e in again["blocks"][-1]["elements"]].count("sales_share") == 1
    assert "sales_share" not in json.dumps(ephemeral_with_share(Answer(kind="error", title="x", error_id="E")))


def test_shared_message_drops_personal_buttons():
    msg = shared_message(deal_answer(), shared_by="U123ABC", crm_url_template="https://crm.example.com/{id}")
    check_message(msg)
    assert msg["response_type"] == "in_channel"
    ids = [e["action_id"] for e in msg["blocks"][-1]["elements"]]
    assert ids == ["sales_open_crm"]
    assert "Shared by <@U123ABC>" in all_text(msg)
    sneaky = shared_message(metric_answer(), shared_by="<!channel>")
    check_message(sneaky)
    assert "Shared by" not in all_text(sneaky)


# ---------------------------------------------------------------------------------------------------------------
# App Home


def check_view(view: dict) -> None:
    assert view["type"] == "home"
    check_limits(view, max_blocks=100)
    View(type="home", blocks=view["blocks"]).validate_json()
    check_slack_sdk(view)


def test_home_view_sections():
    quota = Answer(
        kind="metric",
        title="Quota — Q3 FY2026",
        figures=[Figure("Attainment", Decimal("0.63"), "ratio"), Figure("Closed won", 945_000)],
    )
    pipeline = metric_answer()
    stalled = Answer(
        kind="list",
        title="Stalled deals",
        table=Table([Column("Deal"), Column("Idle", "days")], [["Acme", 41], ["Globex", 1]]),
    )
    view = home_view([quota, pipeline, stalled], updated="Updated 09:14")
    check_view(view)
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Your sales", "Quota — Q3 FY2026", "Open pipeline", "Stalled deals"]
    assert sum(1 for b in view["blocks"] if b["type"] == "divider") == 3
    assert "41 days" in all_text(view)


def test_home_view_empty():
    view = home_view([])
    check_view(view)
    assert "Nothing to show yet" in all_text(view)


def test_home_view_stays_under_100_blocks_and_shares_space():
    big = Answer(
        kind="info",
        title="Big",
        lines=["z" * 2999] * 500,
        figures=[Figure(f"f{i}", i) for i in range(40)],
        context=["ctx"],
        actions=[Action("share", "Share")],
    )
    view = home_view([big, big, metric_answer(), big])
    check_view(view)
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Your sales", "Big", "Big", "Open pipeline", "Big"]  # the first cannot crowd out the rest


def test_home_view_many_sections():
    view = home_view([metric_answer() for _ in range(60)])
    check_view(view)
    assert "more sections" in all_text(view)


# ---------------------------------------------------------------------------------------------------------------
# property: any Answer renders inside the limits

text_st = st.text(max_size=200)
# long texts are a short random text repeated (cheap to generate): 1,000–5,000 characters, often full of &<>
long_text_st = st.one_of(
    text_st,
    st.tuples(st.text(min_size=1, max_size=12), st.integers(1000, 5000)).map(lambda p: (p[0] * p[1])[: p[1]]),
    st.integers(500, 3500).map(lambda n: "&<>" * n),
)
value_st = st.one_of(
    st.none(),
    st.integers(min_value=-(10**13), max_value=10**13),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    text_st,
)
fmt_st = st.sampled_from(["money", "ratio", "count", "days", "text", "date", "weird"])


@st.composite
def tables(draw):
    ncols = draw(st.integers(1, 12))
    cols = [Column(draw(st.text(max_size=60)), draw(fmt_st)) for _ in range(ncols)]
    nrows = draw(st.sampled_from([0, 1, 3, 40, 300]))
    cell = draw(value_st)  # one drawn cell value repeated keeps generation fast at 300 rows
    rows = [
        [cell if (r + c) % 3 else draw(st.text(max_size=80)) if r < 5 else f"r{r}" for c in range(ncols)]
        for r in range(nrows)
    ]
    total = draw(st.one_of(st.none(), st.integers(0, 10**7)))
    return Table(cols, rows, total_rows=total)


@st.composite
def deals(draw):
    n = draw(st.sampled_from([0, 1, 5, 300]))
    t0 = datetime(2024, 1, 1)
    stage = draw(text_st)
    return DealCard(
        record=draw(st.text(max_size=40)),
        name=draw(long_text_st),
        owner=draw(st.one_of(st.none(), text_st)),
        account=draw(st.one_of(st.none(), text_st)),
        stage=stage,
        stage_path=[(stage, t0 + timedelta(hours=i)) for i in range(n)],
        amount=draw(st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=2))),
        close_date=draw(st.one_of(st.none(), st.dates())),
        changes=[draw(text_st)] * draw(st.sampled_from([0, 2, 400])),
        last_activity=draw(st.one_of(st.none(), st.datetimes())),
        next_step=draw(st.one_of(st.none(), long_text_st)),
        crm_url=draw(st.one_of(st.none(), st.just("https://crm.example.com/x"), text_st)),
    )


actions_st = st.lists(
    st.builds(
        Action,
        kind=st.sampled_from(
            ["share", "chart", "snooze_7", "snooze_30", "snooze_custom", "still_active", "open_crm", "Weird Kind!"]
        ),
        label=st.text(max_size=120),
        value=st.text(max_size=2500),
        url=st.one_of(
            st.none(), st.just("https://example.com/" + "p" * 3100), st.just("https://ok.example/x"), text_st
        ),
        style=st.sampled_from([None, "primary", "danger", "weird"]),
    ),
    max_size=40,
)


@st.composite
def answers(draw):
    return Answer(
        kind=draw(st.sampled_from(["metric", "list", "deal", "help", "refusal", "error", "info"])),
        title=draw(st.one_of(text_st, long_text_st)),
        figures=[Figure(draw(long_text_st), draw(value_st), draw(fmt_st)) for _ in range(draw(st.integers(0, 35)))],
        table=draw(st.one_of(st.none(), tables())),
        lines=[draw(long_text_st)] * draw(st.sampled_from([0, 1, 5, 150])) + draw(st.lists(text_st, max_size=5)),
        context=draw(st.lists(long_text_st, max_size=15)),
        understood=draw(st.one_of(st.none(), long_text_st)),
        suggestion=draw(st.one_of(st.none(), text_st)),
        actions=draw(actions_st),
        deal=draw(st.one_of(st.none(), deals())),
        error_id=draw(st.one_of(st.none(), st.text(max_size=300))),
        request_text=draw(st.text(max_size=3000)),
    )


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@SETTINGS
@given(answers(), st.one_of(st.none(), st.just("https://crm.example.com/r/{id}"), st.text(max_size=50)))
def test_any_answer_stays_inside_the_limits(answer, template):
    msg = answer_to_message(answer, crm_url_template=template)
    check_message(msg)
    check_message(ephemeral_with_share(answer, crm_url_template=template))
    check_message(shared_message(answer, shared_by="U1ABC"))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(st.lists(answers(), max_size=6))
def test_any_home_view_stays_inside_the_limits(sections):
    check_view(home_view(sections))


@pytest.mark.parametrize("n", [0, 1, 49, 50, 51])
def test_block_count_boundaries(n):
    figs = [Figure(f"f{i}", i) for i in range(10 * n)]
    msg = answer_to_message(Answer(kind="metric", title="t", figures=figs))
    check_message(msg)
