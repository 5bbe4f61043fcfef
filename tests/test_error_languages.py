"""Error sentences in the asker's language through the real bot and the fake Slack: a person who said `/sales
settings language id` (or `it`) and asks for a period that does not exist (a Q5, February 30th, a range written
backwards, a year before 1900) or for the accuracy of a quarter still running is told so in that language, the
accepted forms included, with no English sentence left."""

from __future__ import annotations

from datetime import date

import pytest

from i18n import _, use_locale
from metrics.periods import ACCEPTED_FORMS, accepted_forms_text, parse_period
from tests.test_answer_languages import bot, reply  # noqa: F401 (the fixture)

# The key words of each error in each language (the translations in locale/*/LC_MESSAGES/messages.po).
SAID = {
    "id": {
        "pipeline q5": ("Tidak ada Q5: satu tahun fiskal memiliki kuartal Q1 sampai Q4.", "Contoh penulisan periode:"),
        "pipeline 2026-02-30": ("2026-02-30 bukan tanggal (tanggal ditulis seperti 2026-07-01).",
                                "Contoh penulisan periode:"),
        "pipeline 2026-09-30..2026-07-01": ("Rentang 2026-09-30..2026-07-01 dimulai setelah berakhir",),
        "changes since 1800-01-01": ("1800 berada di luar tahun yang dikenal bot ini (1900 sampai 9999).",),
        "accuracy this quarter": ("Akurasi prakiraan diukur pada kuartal yang sudah selesai",),
    },
    "it": {
        "pipeline q5": ("Non esiste il Q5: un anno fiscale ha i trimestri da Q1 a Q4.", "I periodi si scrivono così:"),
        "pipeline 2026-02-30": ("2026-02-30 non è una data (le date si scrivono come 2026-07-01).",
                                "I periodi si scrivono così:"),
        "pipeline 2026-09-30..2026-07-01": ("L'intervallo 2026-09-30..2026-07-01 inizia dopo la sua fine",),
        "changes since 1800-01-01": ("1800 è fuori dagli anni che questo bot conosce (dal 1900 al 9999).",),
        "accuracy this quarter": ("L'accuratezza della previsione si misura su trimestri conclusi",),
    },
}
# The English of those errors, which must be gone.
ENGLISH = ("There is no", "a fiscal year has", "Periods look like", "is not a date", "dates look like",
           "starts after it ends", "put the earlier date first", "is outside the years", "this bot knows",
           "Forecast accuracy", "finished quarters")


def test_a_period_that_does_not_exist_is_refused_in_the_askers_language(bot):  # noqa: F811
    for question, sentences in SAID[bot.lang].items():
        _, text = reply(bot, "UANN", question)
        assert all(s in text for s in sentences), (question, text)
        assert not [e for e in ENGLISH if e in text], (question, text)


@pytest.mark.parametrize("lang", ["id", "it"])
def test_the_accepted_forms_are_shown_in_the_askers_words_and_each_one_is_read(lang):
    """Each example an error shows ("ultimi 30 giorni", "bulan lalu") names the same period as its English form."""
    today = date(2026, 12, 1)
    with use_locale("en"):
        english = {form: parse_period(form, today) for form in ACCEPTED_FORMS}
    with use_locale(lang):
        shown = accepted_forms_text()
        translated = {form: _(form) for form in ACCEPTED_FORMS}
        assert sum(form != said for form, said in translated.items()) == 9
        for form, said in translated.items():
            assert said in shown
            read = parse_period(said, today)
            assert (read.start, read.end) == (english[form].start, english[form].end), (form, said)
