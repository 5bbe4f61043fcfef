"""Scheduled messages in each recipient's language, through the real jobs, the real bot and the fake Slack.

A recipient's language is their `/sales settings language`, else their Slack locale (asked once with users.info
and include_locale when the bot never read it), else DEFAULT_LOCALE; the ops channel reads DEFAULT_LOCALE.
Each message must be in that language (a translated key sentence present, the English one absent), with the same
figures as in English and inside Block Kit's limits (Indonesian and Italian run longer).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.languages import choose_language
from i18n import _, use_locale
from scheduler.call_reminders import run_call_reminders
from scheduler.crm_sync import recovered_message
from scheduler.digest_content import DigestBuilder, Person
from tests.test_alert_lifecycle import MONDAY, alert_row, ivy, max_digest_lines, on, tick  # noqa: F401 - fixture
from tests.test_alerts import buttons_for, click, deal_text
from tests.test_forecast_calls import MONDAY as CALL_MONDAY
from tests.test_forecast_calls import bot, dms, utc  # noqa: F401 - fixture
from tests.test_integrity_run import DAY1, OPS, expected, posts, setup  # noqa: F401 - fixture
from tests.test_integrity_run import run as run_integrity_at
from tests.test_slack_bot import check_limits
from tests.test_slack_languages import speaks

NB = "\u00a0"


def shown(message) -> str:
    return "\n".join([message.text or "", *(json.dumps(b, ensure_ascii=False) for b in message.blocks or [])])


def latest_update(running, message) -> dict:
    """The blocks of the last chat.update of a posted message."""
    running.fake.wait_for(lambda c: c.method == "chat.update" and c.params.get("ts") == message.ts)
    return running.fake.posted(message.channel, message.ts)


def test_nudge_buttons_replies_and_escalation_in_the_rep_and_managers_languages(ivy):  # noqa: F811
    """Ivy chose Indonesian; Max never wrote to the bot but his Slack locale is it-IT. Her nudge, its buttons, the
    snooze and the modal are Indonesian; his morning digests (Monday, and Friday with her ignored alert escalated)
    are Italian, with the figures of the English digest."""
    running = ivy
    choose_language(running.deps.engine, running.ivy, "id")
    speaks(running, "UMAX", "it-IT")

    tick(running, on(MONDAY, 14))  # Max's Monday digest
    monday = max_digest_lines(running, MONDAY)
    assert any(line.startswith("*Raggiungimento vs ritmo atteso*: ") for line in monday)
    assert not any("Attainment vs pace" in line for line in monday)
    assert f"• Ivy Ignored: 1 trattativa (6K{NB}USD) — 1 × Data di chiusura passata" in monday

    tick(running, on(MONDAY, 16))  # Ivy's nudge
    [dm] = [m for m in running.fake.messages(kind="message") if m.channel == "DUIVY"]
    check_limits(dm)
    assert dm.blocks[0]["text"]["text"] == "1 deal macet perlu diperiksa"
    text = deal_text(running.fake.posted(dm.channel, dm.ts), running.deal)
    assert f"US$6{NB}rb" in text  # the 6,000 deal in CLDR's Indonesian compact form
    assert "*Tanggal closing sudah lewat*" in text and "Close date in the past" not in text
    labels = {k: b["text"]["text"] for k, b in buttons_for(dm, running.deal).items()}
    with use_locale("id"):
        assert labels["sales_snooze_7"] == _("Snooze 7 days") != "Snooze 7 days"
    assert "stalled deal" not in shown(dm)

    friday = MONDAY + timedelta(days=4)
    tick(running, on(friday, 14))  # three days and more after the nudge: escalated into Max's digest
    lines = max_digest_lines(running, friday)
    for post in running.fake.messages(kind="message"):
        if post.channel == "DUMAX":
            check_limits(post)
    start = lines.index("*Avvisi scalati*: 1 avviso su trattative ferme che i tuoi commerciali non hanno gestito")
    escalated = lines[start + 1]
    assert escalated.startswith(f"• Ivy Globex renewal (Ivy Ignored) · 6K{NB}USD — Data di chiusura passata: ")
    assert escalated.endswith(" — ignorato da 3 giorni")

    # the same digest in English has the same figures
    person = Person(running.org["M"], "Max Manager", "max.manager@example.com", "manager", ZoneInfo("America/Chicago"))
    builder = DigestBuilder(running.deps.engine, running.deps.settings)
    english = builder.build(person, "digest", friday, on(friday, 14), on(MONDAY, 14))
    italian = builder.build(replace(person, language="it"), "digest", friday, on(friday, 14), on(MONDAY, 14))
    assert {k: v for k, v in italian.figures.items() if k != "scope"} == {  # the scope's label is translated
        k: v for k, v in english.figures.items() if k != "scope"}
    assert italian.message["blocks"][0]["text"]["text"].startswith("Riepilogo del mattino · ")
    assert english.message["blocks"][0]["text"]["text"].startswith("Morning digest · ")

    click(running, "UIVY", dm, running.deal, "snooze_7", channel="DUIVY")
    snoozed = deal_text(latest_update(running, dm), running.deal)
    assert "Ditunda sampai 18 Des 2026" in snoozed  # Friday + 7 days
    assert alert_row(running).snoozed_until == friday + timedelta(days=7)


def test_the_snooze_modal_opens_in_the_clickers_language(ivy):  # noqa: F811
    running = ivy
    choose_language(running.deps.engine, running.ivy, "it")
    tick(running, on(MONDAY, 16))
    [dm] = [m for m in running.fake.messages(kind="message") if m.channel == "DUIVY"]
    assert dm.blocks[0]["text"]["text"] == "1 trattativa ferma da controllare"
    click(running, "UIVY", dm, running.deal, "snooze_custom", channel="DUIVY")
    view = running.fake.wait_for("views.open", timeout=15)[-1].params["view"]
    assert view["title"]["text"] == "Posticipa trattativa" and len(view["title"]["text"]) <= 24
    assert "Posticipa *Ivy Globex renewal*: non te la ricorderò fino alla data che scegli" in json.dumps(
        view, ensure_ascii=False)


def test_forecast_call_reminders_in_indonesian_and_italian(bot):  # noqa: F811
    """Ann chose Indonesian, Bob's Slack locale is Italian: at 15:00 UTC both get their reminder (10:00 New York,
    15:00 London) with the deadline in their zone and the system figures of test_forecast_calls (commit 5,000,
    best case 6,000, quota 10,000 for Ann); Mia, with no choice and no locale, gets hers in English."""
    choose_language(bot.deps.engine, bot.org["A"], "id")
    speaks(bot, "UBOB", "it-IT")
    now = utc(CALL_MONDAY, 15, 0)
    bot.clock.move_to(now)
    assert run_call_reminders(bot.ctx, now)["sent"] == 3  # Ann, Bob and Mia (16:00 in Berlin)
    [ann] = dms(bot, "UANN")
    check_limits(ann)
    text = shown(ann)
    assert "Saatnya mengirim prakiraan Anda untuk *Q4 FY2026*: commit dan best case." in text
    assert "Sel, 8 Des, 17:00 EST" in text
    assert "US$5.000" in text and "US$6.000" in text and "US$10.000" in text
    assert "forecast call" not in text.lower()
    [bob] = dms(bot, "UBOB")
    check_limits(bob)
    text = shown(bob)
    assert "È il momento della tua previsione per *Q4 FY2026*: commit e best case." in text
    assert "mar 8 dic, 17:00 GMT" in text and "Time for your" not in text
    assert "Time for your team's forecast call for *Q4 FY2026*" in shown(dms(bot, "UMIA")[0])  # a manager


@pytest.mark.parametrize("lang, title", [("id", "Integritas data: {n} baru, 0 selesai, {n} terbuka"),
                                         ("it", "Integrità dei dati: {n} nuove, 0 risolte, {n} aperte")])
def test_the_integrity_run_posts_in_the_default_locale(setup, db, fake_slack, lang, title):  # noqa: F811
    ctx, clock, org, _f = setup
    ctx.settings = replace(ctx.settings, default_locale=lang)
    summary = run_integrity_at(ctx, clock, DAY1)
    n = len(expected(db, org, DAY1))  # the findings worked out by hand in test_integrity_run
    assert summary["new"] == n
    [post] = posts(fake_slack)
    assert post.blocks[0]["text"]["text"] == title.format(n=n)
    assert "Data integrity" not in shown(post) and "Totals per rule" not in shown(post)
    check_limits(post)


def test_crm_sync_recovery_is_written_in_the_given_language():
    now = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    message = recovered_message("salesforce", now, 3, "it")
    text = json.dumps(message, ensure_ascii=False)
    assert "La sincronizzazione salesforce del lun 7 dic, 09:30 UTC è riuscita dopo 3 tentativi falliti di fila" in text
    assert "succeeded" not in text
