"""Indonesian and Italian words for the subcommands and scopes, merged into the grammar's vocabulary.

Data only, in `assistant.vocabulary`'s shapes: (intent, metric) → phrases, scope → phrases. Words that are also
common first names or English words are left out (Italian "mia" is a name in many orgs).
"""

from __future__ import annotations

INTENT_PHRASES_ID: dict[tuple[str, str | None], str] = {
    ("quota", "attainment"): "kuota|target saya|pencapaian|pencapaian kuota",
    ("forecast", "forecast"): "prakiraan|perkiraan|proyeksi",
    ("deals", None): "daftar deal|deal terbuka",
    ("stalled", None): "macet|deal macet|mandek|tertahan",
    ("winrate", "win_rate"): "tingkat kemenangan|rasio menang",
    ("cycle", "cycle_days"): "siklus|siklus penjualan|lama closing",
    ("leaderboard", "attainment"): "peringkat|papan peringkat",
    ("changes", None): "perubahan|apa yang berubah",
    ("integrity", None): "integritas|kualitas data",
    ("settings", None): "pengaturan|setelan",
    ("commission", None): "komisi|insentif",
    ("help", None): "bantuan|tolong",
}

INTENT_PHRASES_IT: dict[tuple[str, str | None], str] = {
    ("quota", "attainment"): "quota raggiunta|raggiungimento|obiettivo|come sto andando|come stiamo andando",
    ("forecast", "forecast"): "previsione|previsioni|proiezione",
    ("deals", None): "trattative|opportunità",
    ("deal", None): "trattativa",
    ("stalled", None): "bloccate|trattative bloccate|ferme|trattative ferme|in stallo",
    ("winrate", "win_rate"): "tasso di vittoria|percentuale di vittoria",
    ("cycle", "cycle_days"): "ciclo|ciclo di vendita|tempo di chiusura",
    ("leaderboard", "attainment"): "classifica",
    ("changes", None): "modifiche|cambiamenti|cosa è cambiato",
    ("integrity", None): "integrità|qualità dei dati",
    ("settings", None): "impostazioni",
    ("commission", None): "provvigione|provvigioni|commissioni",
    ("help", None): "aiuto",
}

SCOPE_PHRASES_ID: dict[str, str] = {
    "me": "saya|aku|milik saya|punya saya",
    "team": "tim|tim saya|tim kami",
    "org": "semua|seluruh perusahaan|perusahaan",
}

SCOPE_PHRASES_IT: dict[str, str] = {
    "me": "io|mio|miei|mie|personale",
    "team": "squadra|il mio team|la mia squadra|mio team",
    "org": "azienda|tutta l'azienda|tutti",
}

# Glue and question words that carry no meaning for the reading ("trattative bloccate di Marco").
STOP_WORDS = frozenset({
    "di", "dari", "yang", "apa", "berapa", "bagaimana", "mana", "untuk", "dan", "dong", "ya",
    "della", "delle", "dei", "degli", "rispetto", "alla", "quali", "sono", "quanto", "quanta", "cosa", "mostra",
    "mostrami", "dimmi", "le", "gli", "il", "lo",
})
