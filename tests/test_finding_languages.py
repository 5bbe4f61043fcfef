"""A finding's reason is data (metrics.reasons: a code and its figures), written out in the reader's language.

Every reason renders in English, Indonesian and Italian with every placeholder filled and its money, dates and
counts formatted for the locale (the expected strings are written out by hand from CLDR's rules); a row stored
before reasons were data shows its English detail; the finding's identity (what makes it the same finding, or
the same alert, across runs) depends on neither the reason nor the language; and the alert reaches the fake Slack
through the real bot in the recipient's language.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from db.languages import choose_language
from db.schema import bot_alerts, bot_integrity_findings
from i18n import _, use_locale
from metrics.integrity import integrity_findings
from metrics.reasons import TEMPLATES, english, kind_of, reason
from render.reasons import reason_text
from tests.test_alert_lifecycle import MONDAY, ivy, on, tick  # noqa: F401 - fixture
from tests.test_alerts import deal_text
from tests.test_integrity_run import DAY1, DAY2, OPS, posts, setup  # noqa: F401 - fixture
from tests.test_integrity_run import run as run_integrity_at

NB = "\u00a0"  # CLDR puts a no-break space between an Indonesian or Italian amount and its currency

# One value per kind of placeholder, and how each language writes it (by hand, from CLDR's patterns).
SAMPLES = {
    "money": (Decimal("-1234.50"), {"en": "−$1,234.50", "id": "−US$1.234,50", "it": f"−1.234,50{NB}USD"}),
    "money:currency": (Decimal("1500000"), {"en": "IDR1,500,000", "id": "Rp1.500.000", "it": f"1.500.000{NB}IDR"}),
    "date": (date(2026, 10, 1), {"en": "1 Oct 2026", "id": "1 Okt 2026", "it": "1 ott 2026"}),
    "days": (3, {"en": "3 days", "id": "3 hari", "it": "3 giorni"}),
    "days_decimal": (23.5, {"en": "23.5 days", "id": "23,5 hari", "it": "23,5 giorni"}),
    "pct": (60, {"en": "60%", "id": "60%", "it": "60%"}),
    "multiple": (12.3, {"en": "12.3×", "id": "12,3×", "it": "12,3×"}),
    "times": (3, {"en": "3 times", "id": "3 kali", "it": "3 volte"}),
    "changes": (1, {"en": "1 change", "id": "1 perubahan", "it": "1 modifica"}),
    "points": (40, {"en": "40 points", "id": "40 poin", "it": "40 punti"}),
    "samples": (21, {"en": "21 samples", "id": "21 sampel", "it": "21 campioni"}),
    "category": ("best_case", {"en": "best case", "id": "best case", "it": "best case"}),
    "quoted": ("maybe", {"en": "'maybe'", "id": "'maybe'", "it": "'maybe'"}),
    "text": ("Zeta", {"en": "Zeta", "id": "Zeta", "it": "Zeta"}),
}


def placeholders(template: str) -> list[str]:
    import string

    return [name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name]


def sample_reason(code: str) -> tuple[dict, dict[str, list[str]]]:
    """A reason for `code` with a sample figure in every placeholder, and the texts each language must show."""
    params, shows = {}, {"en": [], "id": [], "it": []}
    for name in placeholders(TEMPLATES[code]):
        value, written = SAMPLES[kind_of(code, name)]
        params[name] = value
        for lang, text in written.items():
            shows[lang].append(text)
    if "currency" not in params and any(kind_of(code, n).startswith("money:") for n in params):
        params["currency"] = "IDR"
    return reason(code, **params), shows


@pytest.mark.parametrize("code", sorted(TEMPLATES))
def test_every_reason_renders_in_every_language_with_its_figures_formatted(code):
    data, shows = sample_reason(code)
    for lang in ("en", "id", "it"):
        with use_locale(lang):
            text = reason_text(data, "the stored detail")
            translated = _(TEMPLATES[code])
        assert "{" not in text and "}" not in text and text != "the stored detail", (lang, text)
        for figure in shows[lang]:
            assert figure in text, (lang, figure, text)
        if lang != "en":
            assert translated != TEMPLATES[code], f"{code} has no {lang} translation"
            assert sorted(placeholders(translated)) == sorted(placeholders(TEMPLATES[code]))


def test_the_english_detail_is_the_plain_sentence_kept_for_the_cli_and_old_readers():
    data = reason("missing_exchange_rate.open", amount=Decimal("800"), currency="GBP", org_currency="USD",
                  day=date(2026, 12, 1))
    assert english(data) == ("amount GBP 800 has no exchange rate to USD on today (2026-12-01), as the deal is open: "
                             "it is left out of every total")
    with use_locale("it"):
        assert reason_text(data) == ("l'importo 800\u00a0£ non ha un tasso di cambio verso USD oggi (1 dic 2026), "
                                     "perché la trattativa è aperta: è escluso da ogni totale")


@pytest.mark.parametrize("stored", [None, {}, {"code": "rule_from_a_later_version", "params": {}},
                                    {"code": "negative_amount", "params": {"amount": "not a number"}},
                                    {"code": "negative_amount", "params": {}}])
def test_a_row_without_a_usable_reason_shows_its_english_detail(stored):
    with use_locale("id"):
        assert reason_text(stored, "amount is negative (-250.50)") == "amount is negative (-250.50)"


def test_identity_and_reason_do_not_depend_on_the_language_and_survive_runs(db, fake_slack, setup):  # noqa: F811
    ctx, clock, org, _f = setup
    today = DAY1.date()
    with db.engine.connect() as conn:
        with use_locale("it"):
            italian = integrity_findings(conn, today=today, settings=ctx.settings)
        english_run = integrity_findings(conn, today=today, settings=ctx.settings)
    assert italian == english_run and italian
    assert all(f.fingerprint == f"{f.rule}:{f.record}" and f.reason and english(f.reason) == f.detail
               for f in italian)

    ctx.settings = replace(ctx.settings, default_locale="it")
    first = run_integrity_at(ctx, clock, DAY1)
    ctx.settings = replace(ctx.settings, default_locale="en")
    second = run_integrity_at(ctx, clock, DAY1 + (DAY2 - DAY1) / 24)  # an hour later, the other language
    assert first["new"] == len(italian) and second["new"] == 0 and second["resolved"] == 0
    with db.engine.connect() as conn:
        stored = {r.fingerprint: r for r in conn.execute(select(bot_integrity_findings))}
    assert set(stored) == {f.fingerprint for f in italian}
    assert all(stored[f.fingerprint].reason == f.reason for f in italian)

    italian_post = posts(fake_slack)[0]  # the first run lists every finding as new, in DEFAULT_LOCALE (it)
    assert "nessun prossimo passo su una trattativa in Proposal (best case, 50%)" in str(italian_post.blocks)
    assert "no next step on a deal" not in str(italian_post.blocks) and italian_post.channel == OPS


def test_an_alert_reaches_slack_in_the_recipients_language_and_an_old_row_in_english(ivy):  # noqa: F811
    """Ivy chose Italian: her nudge gives the reason in Italian (close date 30 Nov 2026, 7 days before Monday
    7 Dec). A row stored before reasons were data (reason NULL) shows the English detail it kept."""
    running = ivy
    choose_language(running.deps.engine, running.ivy, "it")
    tick(running, on(MONDAY, 16))
    [dm] = [m for m in running.fake.messages(kind="message") if m.channel == "DUIVY"]
    text = deal_text(running.fake.posted(dm.channel, dm.ts), running.deal)
    assert "la data di chiusura 30 nov 2026 è passata da 7 giorni e la trattativa è ancora aperta" in text
    assert "passed 7 days ago" not in text

    with running.deps.engine.begin() as conn:
        row = conn.execute(select(bot_alerts.c.reason, bot_alerts.c.detail)
                           .where(bot_alerts.c.opportunity_id == running.deal)).one()
        assert row.reason == {"code": "stalled_past_close_date",
                              "params": {"close_date": "2026-11-30", "days": 7}}
        conn.execute(update(bot_alerts).where(bot_alerts.c.opportunity_id == running.deal).values(reason=None))
    from scheduler.nudges import nudge_deals

    with running.deps.engine.connect() as conn, use_locale("it"):
        [old] = nudge_deals(conn, running.ivy, [running.deal]).values()
    assert reason_text(old.reasons[0].reason, old.reasons[0].detail) == row.detail == (
        "close date 2026-11-30 passed 7 days ago and the deal is still open")
