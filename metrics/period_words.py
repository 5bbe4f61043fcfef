"""Indonesian and Italian words for periods, merged into `metrics.periods`' vocabulary (data only).

Each surface word maps to the canonical English word the period grammar reads ("kuartal" → quarter, "scorso" →
last). Word order is the parser's business: "kuartal ini", "trimestre prossimo", "30 hari terakhir" put the
relative word after the unit, and `metrics.periods` turns them round. Words that are also English words or common
names are left out ("set" and "ago" for settembre and agosto; "mei" is read only as a full date, "1 mei").
"""

from __future__ import annotations

FILLER = ""

WORDS_ID: dict[str, str] = {
    "ini": "this", "ni": "this", "sekarang": "this", "berjalan": "this", "besok": "tomorrow",
    "lalu": "last", "kemarin": "yesterday", "sebelumnya": "last", "terakhir": "last", "kmrn": "yesterday",
    "depan": "next", "dpn": "next", "berikutnya": "next", "mendatang": "next", "selanjutnya": "next",
    "hari": "day", "minggu": "week", "pekan": "week", "mgg": "week", "bulan": "month", "bln": "month",
    "kuartal": "quarter", "triwulan": "quarter", "kwartal": "quarter", "tahun": "year", "thn": "year",
    "semester": "half",
    "awal": "start",
    "hingga": "to", "sampai": "to", "antara": "between", "dan": "to", "sebelum": "to",
    "yang": FILLER, "ke": FILLER, "pada": FILLER, "dalam": FILLER, "selama": FILLER, "tanggal": FILLER,
    "tgl": FILLER,
    "pertama": "ord1", "kesatu": "ord1", "kedua": "ord2", "ketiga": "ord3", "keempat": "ord4",
    "januari": "jan", "februari": "feb", "maret": "mar", "juni": "jun", "juli": "jul", "agustus": "aug",
    "agu": "aug", "agt": "aug", "ags": "aug", "oktober": "oct", "okt": "oct", "desember": "dec", "des": "dec",
    "mei": "may",
}

WORDS_IT: dict[str, str] = {
    "questo": "this", "questa": "this", "quest": "this", "corrente": "this", "attuale": "this", "corso": "this",
    "scorso": "last", "scorsa": "last", "precedente": "last", "ultimo": "last", "ultima": "last", "ultimi": "last",
    "ultime": "last", "passato": "last", "passata": "last", "passati": "last", "scorsi": "last",
    "prossimo": "next", "prossima": "next", "prossimi": "next", "prossime": "next", "successivo": "next",
    "giorno": "day", "giorni": "day", "gg": "day", "settimana": "week", "settimane": "week", "sett": "week",
    "mese": "month", "mesi": "month", "trimestre": "quarter", "trimestri": "quarter", "anno": "year",
    "semestre": "half", "semestri": "half",
    "anni": "year",
    "inizio": "start",
    "oggi": "today", "ieri": "yesterday", "domani": "tomorrow",
    "al": "to", "fino": "to", "a": FILLER, "tra": "between", "fra": "between", "e": "to",
    "il": FILLER, "lo": FILLER, "la": FILLER, "l": FILLER, "nel": FILLER, "nello": FILLER, "nella": FILLER,
    "nell": FILLER, "del": FILLER, "dello": FILLER, "della": FILLER, "dell": FILLER, "di": FILLER,
    "negli": FILLER, "nei": FILLER, "degli": FILLER, "dei": FILLER, "entro": "to",
    "primo": "ord1", "secondo": "ord2", "terzo": "ord3", "quarto": "ord4",
    "gennaio": "jan", "gen": "jan", "febbraio": "feb", "marzo": "mar", "aprile": "apr", "maggio": "may",
    "mag": "may", "giugno": "jun", "giu": "jun", "luglio": "jul", "lug": "jul", "agosto": "aug",
    "settembre": "sep", "ottobre": "oct", "ott": "oct", "novembre": "nov", "dicembre": "dec", "dic": "dec",
}

# Full month names a month may be read from alone inside a question ("pipeline ottobre").
FULL_MONTH_NAMES = frozenset({
    "januari", "februari", "maret", "juni", "juli", "agustus", "oktober", "desember",
    "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre",
    "novembre", "dicembre",
})

# Words that start a "since …" phrase ("sejak Senin", "dal 1 ottobre", "dall'inizio dell'anno").
SINCE_WORDS = ("sejak", "semenjak", "dal", "dalla", "dall'", "dall’", "da")

# Weekdays, and the relative words that may follow one ("Senin lalu", "lunedì scorso").
WEEKDAYS = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "sabtu": 5,
    "lunedì": 0, "lunedi": 0, "martedì": 1, "martedi": 1, "mercoledì": 2, "mercoledi": 2, "giovedì": 3,
    "giovedi": 3, "venerdì": 4, "venerdi": 4, "sabato": 5, "domenica": 6,
}
RELATIVE = {"lalu": "last", "kemarin": "last", "scorso": "last", "scorsa": "last", "depan": "next",
            "prossimo": "next", "prossima": "next", "ini": "this", "questo": "this", "questa": "this"}
UNITS = {"bulan": "month", "kuartal": "quarter", "triwulan": "quarter", "tahun": "year", "minggu": "week",
         "pekan": "week", "mese": "month", "trimestre": "quarter", "anno": "year", "settimana": "week"}

# Relative words that follow their unit ("kuartal ini", "trimestre scorso"); Italian "questo" and "prossimo" come
# before it as in English ("questo mese", "prossimo trimestre").
POSTFIX = frozenset({
    "ini", "ni", "lalu", "depan", "dpn", "kemarin", "kmrn", "sebelumnya", "berikutnya", "mendatang", "selanjutnya",
    "terakhir",
    "sekarang", "berjalan", "scorso", "scorsa", "prossimo", "prossima", "prossimi", "precedente", "successivo",
    "corrente", "passato", "passata", "passati", "attuale", "corso", "ultimi", "scorsi",
})
