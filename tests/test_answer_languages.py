"""Answers in the asker's language through the real bot and the fake Slack: a person who said `/sales settings
language id` (or `it`) gets each answer's title, figure labels and sentences in that language, no English sentence
of that answer left, and the same figures as in English (worked out by hand in test_slack_bot.py,
test_comp_slack.py and test_slack_files.py), written the way CLDR writes them for that language."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from i18n import use_locale
from metrics.comp_plans import store_version
from render.format import money, multiple, percent
from tests.fakeslack import dm_message, post_event, post_slash_command
from tests.slackbot import SECRET
from tests.test_comp_payout import PLANS
from tests.test_slack_bot import ask, check_limits, fields

# What each answer says in each language: its title (or key sentence), and the English it must no longer contain.
WORDS = {
    "id": {
        "set": "Mulai sekarang saya akan berbicara dalam Bahasa Indonesia dengan Anda.",
        "pipeline": ("Pipeline terbuka · Ann Rep", {"Pipeline", "Tertimbang", "Deal terbuka"},
                     "kuartal ini (Q4 FY2026)"),
        "quota": ("Pencapaian kuota · tim Max Manager",
                  ("Pencapaian", "Target laju", "Closed won", "Kuota", "Selisih ke kuota", "Cakupan")),
        "forecast": ("Forecast · seluruh organisasi", "Commit mencakup {commit} dari kuota; best case {best}."),
        "stalled": ("Deal macet · tim Max Manager", "alasan"),
        "changes": "Yang berubah sejak",
        "deal": ("Tahap", "Nilai", "Tanggal closing", "Aktivitas terakhir"),
        "help": ("Yang bisa saya jawab", "kirim forecast call Anda untuk kuartal ini"),
        "refusal": "Anda tidak dapat melihat angka seluruh organisasi.",
        "status": ("Sumber data", "Belum ada CRM yang terhubung"),
        "commission": ("Komisi Anda · kuartal ini (Q4 FY2026)", "Diperoleh sejauh ini (perkiraan)",
                       "Semua angka di sini adalah perkiraan berdasarkan skema kompensasi Anda"),
        "scorecard": ("Scorecard · tim Max Manager", "pencapaian (4 kuartal)"),
        "calls": ("Forecast call · tim Max Manager", "Belum mengirim minggu ini"),
        "csv": (b"pemilik,closed won\r\n", "Saya mengirim file CSV lewat pesan langsung"),
        "chart": "Win rate per pemilik · seluruh organisasi · kuartal ini (Q4 FY2026)",
    },
    "it": {
        "set": "D'ora in poi ti parlerò in Italiano.",
        "pipeline": ("Pipeline aperta · Ann Rep", {"Pipeline", "Ponderata", "Trattative aperte"},
                     "questo trimestre (Q4 FY2026)"),
        "quota": ("Raggiungimento quota · team di Max Manager",
                  ("Raggiungimento", "Ritmo atteso", "Chiuso vinto", "Quota", "Distanza dalla quota", "Copertura")),
        "forecast": ("Previsione · tutta l'azienda",
                     "Il commit copre il {commit} della quota; il best case il {best}."),
        "stalled": ("Trattative bloccate · team di Max Manager", "motivo"),
        "changes": "Cosa è cambiato da",
        "deal": ("Fase", "Importo", "Data di chiusura", "Ultima attività"),
        "help": ("Cosa posso rispondere", "invia la tua previsione per il trimestre"),
        "refusal": "Non puoi vedere i numeri di tutta l'azienda.",
        "status": ("Fonti dei dati", "Nessun CRM collegato"),
        "commission": ("La tua provvigione · questo trimestre (Q4 FY2026)", "Maturato finora (stima)",
                       "Ogni cifra qui è una stima in base al tuo piano compensi"),
        "scorecard": ("Scorecard · team di Max Manager", "raggiungimento (4 trim.)"),
        "calls": ("Previsioni comunicate · team di Max Manager", "Non inviata questa settimana"),
        "csv": (b"titolare,chiuso vinto\r\n", "Ti ho inviato il file CSV in un messaggio diretto"),
        "chart": "Tasso di successo per titolare · tutta l'azienda · questo trimestre (Q4 FY2026)",
    },
}
# English sentences and labels of those answers that must be gone.
ENGLISH = ("Open pipeline", "Weighted", "Open deals", "this quarter", "Quota attainment", "Gap to quota",
           "Commit covers", "Stalled deals", "What changed since", "Close date", "Last activity", "What I can answer",
           "submit your forecast call", "You can't see", "Data sources", "No CRM is connected", "Your commission",
           "Earned so far", "Every figure here is an estimate", "Scorecards", "Forecast calls", "Not submitted",
           "as of ", "Share in channel", "the whole org", "Max Manager's team")


def shown(message) -> str:
    return "\n".join([message.text or "", *(json.dumps(b, ensure_ascii=False) for b in message.blocks or [])])


def english_left(text: str) -> list[str]:
    """The known English sentences left in `text`, outside `code` spans (commands shown as typed examples)."""
    prose = re.sub(r"`[^`]*`", "", text)
    return [e for e in ENGLISH if e in prose]


@pytest.fixture(params=["id", "it"])
def bot(request, running_bot):
    """The small org's bot with the AE comp plan for every rep (test_comp_slack.py), and Ann, Max and Erin
    speaking `request.param`, chosen with `/sales settings language`."""
    with running_bot.deps.engine.begin() as conn:
        store_version(conn, PLANS.replace("MODE", "marginal"), "plans.yml", date(2026, 1, 1), datetime.now(UTC))
    running_bot.lang = request.param
    for user in ("UANN", "UMAX", "UERIN"):
        running_bot.fake.reset()
        said = ask(running_bot, user, f"settings language {request.param}", name=f"set-{user}")
        assert WORDS[request.param]["set"] in shown(said)
    return running_bot


def reply(bot, user: str, text: str):
    bot.fake.reset()
    bot.asked = getattr(bot, "asked", 0) + 1
    msg = ask(bot, user, text, name=f"{user}-{bot.asked}")
    check_limits(msg)
    return msg, shown(msg)


def test_a_reps_answers_are_in_their_language_with_the_same_figures(bot):
    lang, words = bot.lang, WORDS[bot.lang]
    with use_locale(lang):  # the figures as this language writes them: the same numbers as in English
        m = {n: money(Decimal(n)) for n in (3000, 2100, 4500)}
        pct = {r: percent(Decimal(r)) for r in ("0.30",)}

    title, labels, period = words["pipeline"]
    msg, text = reply(bot, "UANN", "pipeline")
    # Ann's pipeline (test_slack_bot.py): 3000 open, 2100 weighted, 2 deals
    shown_fields = fields(msg)
    assert set(shown_fields) == labels and shown_fields["Pipeline"] == m[3000]
    assert sorted(shown_fields.values()) == sorted([m[3000], m[2100], "2"])
    assert title in text and period in text and not english_left(text)

    msg, text = reply(bot, "UANN", "deal Acme platform")
    assert all(f"*{label}*" in text for label in words["deal"]) and not english_left(text)

    msg, text = reply(bot, "UANN", "pipeline org")
    assert words["refusal"] in text and "$" not in text and not english_left(text)

    msg, text = reply(bot, "UANN", "help")
    # help still lists the period words the grammar reads in English (`this quarter`, `q3`…)
    assert all(w in text for w in words["help"]) and not english_left(text.replace("`this quarter`", ""))

    msg, text = reply(bot, "UANN", "commission")
    # Ann, Q4 (test_comp_slack.py): 3000 of a 10000 quota, 3000 × 0.5 × 30000/10000 = 4500 earned
    title, earned, estimate = words["commission"]
    assert title in text and estimate in text and not english_left(text)
    assert fields(msg)[earned] == m[4500] and pct["0.30"] in fields(msg).values()


def test_a_managers_and_an_execs_answers_are_in_their_language_with_the_same_figures(bot):
    lang, words = bot.lang, WORDS[bot.lang]
    with use_locale(lang):
        m = {n: money(Decimal(n)) for n in (6000, 18000, 12000, 11000, 13000, 14000, 14300, 23000)}
        pct = {r: percent(Decimal(r)) for r in ("0.3333", "0.6739", "0.5652", "0.6087", "0.6", "0.15")}
        cover = multiple(Decimal("0.275"))

    # Max's quota (test_slack_bot.py QUOTA_REPLIES): 6000 won of 18000, gap 12000, coverage 3300 / 12000
    title, labels = words["quota"]
    msg, text = reply(bot, "UMAX", "quota")
    assert fields(msg) == dict(zip(labels, [pct["0.3333"], pct["0.6739"], m[6000], m[18000], m[12000], cover],
                                            strict=True))
    assert title in text and not english_left(text)

    # The org's forecast (test_slack_bot.py): closed 11000, commit 13000, best case 14000, pipeline 14300, quota 23000
    title, sentence = words["forecast"]
    msg, text = reply(bot, "UERIN", "forecast")
    assert sorted(fields(msg).values()) == sorted([m[11000], m[13000], m[14000], m[14300], m[23000]])
    assert title in text and sentence.format(commit=pct["0.5652"], best=pct["0.6087"]) in text
    assert not english_left(text)

    title, heading = words["stalled"]
    msg, text = reply(bot, "UMAX", "stalled")
    assert title in text and heading in text and not english_left(text)

    msg, text = reply(bot, "UMAX", "changes")
    assert words["changes"] in text and not english_left(text)

    title, line = words["status"]
    msg, text = reply(bot, "UERIN", "status")
    assert title in text and line in text and not english_left(text)

    # Max's reps ranked (test_comp_slack.py): Bob 3000 / 5000 = 60%, Ann 15% over the quarters with a quota
    title, heading = words["scorecard"]
    msg, text = reply(bot, "UMAX", "scorecard")
    assert title in text and heading in text and not english_left(text)
    assert text.index(f"{pct['0.6']}") < text.index(f"{pct['0.15']}")

    title, line = words["calls"]
    msg, text = reply(bot, "UMAX", "calls team")
    assert title in text and line in text and not english_left(text)


def test_a_csv_file_and_a_chart_title_are_in_the_askers_language(bot):
    """Max's team closed won in Q4 (test_slack_files.py): Ann 3000, Bob 1000 + 2000; the org's win rate by owner:
    Bob and Cat 100%, Ann 50%."""
    words = WORDS[bot.lang]
    header, note = words["csv"]
    bot.fake.reset()
    status, _ = post_slash_command(bot.url, SECRET, "bookings by owner this quarter csv", "UMAX",
                                   response_url=bot.fake.response_url("csv"), channel_id="C5")
    assert status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    [upload] = bot.fake.uploads()
    assert upload.data == header + b"Ann Rep,3000.00\r\nBob Rep,3000.00\r\n"
    replies = bot.fake.wait_for_messages(2, kind="response_url", timeout=10)  # the answer, then where the file went
    assert any(note in (m.text or "") for m in replies)

    bot.fake.reset()
    assert post_event(bot.url, SECRET, dm_message("UERIN", "win rate by owner this quarter chart")).status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    [upload] = bot.fake.uploads()
    assert upload.is_png and upload.title == words["chart"]
    with use_locale(bot.lang):
        assert upload.alt_txt.endswith(f"Bob Rep {percent(1)}, Cat Rep {percent(1)}, Ann Rep {percent(Decimal('0.5'))}")
