"""Indonesian and Italian words for the subcommands, metrics, scopes, breakdowns and filters, merged into the
grammar's vocabulary (periods are `metrics.period_words`).

Data only, in `assistant.vocabulary`'s shapes: (intent, metric) → phrases, scope → phrases, and so on. Words that
are also common first names or English words are left out or only taken in a phrase (Italian "mia" is a name in
many orgs: "la mia" is me). Indonesian has no plural, so "deal" before a word that cannot start a deal's name
("deal saya", "deal yang macet") is the list of deals (`DEAL_LIST_NEXT`).
"""

from __future__ import annotations

INTENT_PHRASES_ID: dict[tuple[str, str | None], str] = {
    ("quota", "attainment"): "kuota|target saya|pencapaian|pencapaian kuota|pencapaian target|capaian|"
                             "capaian target|achievement|achievement saya|ach",
    ("forecast", "forecast"): "prakiraan|perkiraan|proyeksi",
    ("deals", None): "daftar deal|deal terbuka|yang closing|yang akan closing|akan closing|deal aktif|deal2|"
                     "deal-deal",
    ("stalled", None): "macet|deal macet|mandek|tertahan|nyangkut|nggak gerak|tidak bergerak",
    ("winrate", "win_rate"): "tingkat kemenangan|rasio menang|rasio kemenangan",
    ("cycle", "cycle_days"): "siklus|siklus penjualan|lama closing|berapa lama",
    ("funnel", "conversion"): "konversi|tingkat konversi|konversi stage|corong",
    ("leaderboard", "attainment"): "peringkat|papan peringkat",
    ("changes", None): "perubahan|apa yang berubah|yang berubah|berubah",
    ("integrity", None): "integritas|kualitas data",
    ("settings", None): "pengaturan|setelan",
    ("commission", None): "komisi|insentif",
    ("help", None): "bantuan|tolong",
    ("metric", "closed_won"): "closing saya|closing tim|closing kami|total closing|sudah closing|udah closing|"
                              "menang|deal menang|yang menang|penjualan|omzet|closingan",
    ("metric", "closed_lost"): "kalah|deal kalah|yang kalah|gagal",
    ("metric", "weighted_pipeline"): "pipeline tertimbang|tertimbang",
    ("metric", "avg_deal_size"): "rata-rata ukuran deal|ukuran deal|rata-rata nilai deal|nilai rata-rata deal|"
                                 "rata-rata deal",
    ("metric", "gap"): "kurang berapa|kurang berapa lagi|kekurangan|sisa target|sisa kuota|selisih",
    ("metric", "coverage"): "cakupan",
    ("status", None): "status sinkronisasi|sinkronisasi",
    ("trend", None): "tren",
    ("accuracy", None): "akurasi|akurasi forecast|akurasi prakiraan|ketepatan forecast|ketepatan prakiraan|"
                        "seberapa akurat|seberapa tepat",
    ("waterfall", None): "pergerakan pipeline|pergerakan pipe|alur pipeline|jembatan pipeline|"
                         "ke mana pipeline saya|ke mana pipeline",
    ("call", None): "panggilan|panggilan saya|kirim call|setor call|kirim forecast|setor forecast|"
                    "kirim prakiraan|setor prakiraan|isi forecast|isi call",
    ("calls", None): "daftar panggilan|semua panggilan|panggilan tim|call tim|belum call|belum kirim|"
                     "belum setor|belum isi",
    ("digest", None): "ringkasan|ringkasan pagi|ringkasan harian",
}

INTENT_PHRASES_IT: dict[tuple[str, str | None], str] = {
    ("quota", "attainment"): "quota raggiunta|raggiungimento|obiettivo|obiettivi|come sto andando|"
                             "come stiamo andando|come va|in linea|sono in linea|siamo in linea|a che punto",
    ("forecast", "forecast"): "previsione|previsioni|proiezione|previsione aziendale",
    ("deals", None): "trattative|opportunità|in chiusura|che chiudono|chiudono|da chiudere",
    ("deal", None): "trattativa",
    ("stalled", None): "bloccate|trattative bloccate|ferme|trattative ferme|in stallo|bloccata|ferma",
    ("winrate", "win_rate"): "tasso di vittoria|percentuale di vittoria|tasso di successo",
    ("cycle", "cycle_days"): "ciclo|ciclo di vendita|tempo di chiusura|durata del ciclo|durata del ciclo di vendita|"
                             "tempo medio di chiusura",
    ("funnel", "conversion"): "conversione|conversioni|tasso di conversione|imbuto",
    ("leaderboard", "attainment"): "classifica",
    ("changes", None): "modifiche|cambiamenti|cosa è cambiato|cosa e cambiato|cambiato|novità",
    ("integrity", None): "integrità|qualità dei dati|qualità dati",
    ("settings", None): "impostazioni",
    ("commission", None): "provvigione|provvigioni|commissioni|quanto guadagno|quanto guadagnerò|guadagno",
    ("help", None): "aiuto",
    ("metric", "closed_won"): "chiuso|ho chiuso|abbiamo chiuso|chiuse|chiusi|venduto|ho venduto|"
                              "abbiamo venduto|fatturato|vinte|trattative vinte|chiuso vinto|chiuse vinte|vendite",
    ("metric", "closed_lost"): "perse|trattative perse|perso|chiuso perso|chiuse perse",
    ("metric", "weighted_pipeline"): "pipeline ponderata|pipeline pesata|ponderata",
    ("metric", "avg_deal_size"): "dimensione media|valore medio|dimensione media delle trattative|"
                                 "valore medio delle trattative|importo medio",
    ("metric", "gap"): "quanto mi manca|quanto ci manca|mi manca|ci manca|manca|divario",
    ("metric", "coverage"): "copertura|copertura della pipeline",
    ("status", None): "stato della sincronizzazione|sincronizzazione|stato sincronizzazione",
    ("accuracy", None): "accuratezza|precisione|accuratezza delle previsioni|precisione delle previsioni|"
                        "accuratezza previsioni|quanto sono accurate|errore di previsione",
    ("waterfall", None): "cascata|a cascata|grafico a cascata|movimenti della pipeline|movimento della pipeline|"
                         "ponte della pipeline|dove è finita|dove e finita|dove sono finite",
    ("call", None): "chiamata|la mia chiamata|invia previsione|invia la previsione|inserisci previsione|"
                    "invia la mia previsione|invia forecast|invia il forecast|inviare la previsione|"
                    "inviare la mia previsione|mandare la previsione|mandare la mia previsione|"
                    "inserire la previsione|inserire la mia previsione|invio la previsione|invio la mia previsione",
    ("calls", None): "chiamate|chiamate del team|le chiamate|non ha inviato|non ha ancora inviato|"
                     "non hanno inviato|non hanno ancora inviato",
    ("digest", None): "riepilogo|riepilogo mattutino|riassunto mattutino",
}

# Trend words that name a trend only with a metric a trend can draw ("andamento della pipeline"); with another
# metric they are plain words ("andamento del fatturato mese per mese": closed won by month).
SOFT_TREND_PHRASES = "andamento|evoluzione|perkembangan"

# Integrity rules by the words people use for them.
RULE_PHRASES: dict[str, str] = {
    "owner_unknown": "tanpa owner|tanpa pemilik|senza proprietario|senza owner",
    "duplicate_account": "akun duplikat|account duplikat|account duplicati|clienti duplicati",
    "duplicate_opportunity": "duplikat|deal duplikat|duplicati|trattative duplicate|duplicate",
    "missing_amount": "tanpa nilai|tanpa amount|nilai kosong|senza importo|importo mancante",
}

# "siapa yang di bawah target", "chi è indietro": attainment per person.
BEHIND_PHRASES = ("di bawah target|di bawah kuota|ketinggalan|belum capai target|siapa yang ketinggalan|"
                  "chi è indietro|chi e indietro|indietro|chi è sotto quota|sotto quota|chi è in ritardo|in ritardo")

SCOPE_PHRASES_ID: dict[str, str] = {
    "me": "saya|aku|gue|gw|milik saya|punya saya|punyaku",
    "team": "tim|tim saya|tim kami|timku",
    "org": "semua|seluruh perusahaan|perusahaan|semua tim",
}

SCOPE_PHRASES_IT: dict[str, str] = {
    "me": "io|mio|miei|mie|personale|la mia|il mio|le mie|i miei|del mio|della mia|delle mie|dei miei",
    "team": "squadra|il mio team|la mia squadra|mio team|mia squadra|del mio team|della mia squadra",
    "org": "azienda|tutti|aziendale",
}

OPTION_PHRASES: dict[str, str] = {
    "chart": "grafik|grafico|come grafico|diagramma",
    "weekly": "mingguan|per minggu|tiap minggu|settimanale|settimanali",
}

SORT_PHRASES: dict[str, str] = {
    "largest": "terbesar|teratas|paling besar|più grandi|più grande|più grosse|maggiori",
    "smallest": "terkecil|paling kecil|più piccole|più piccola",
}

STAGE_PHRASES: dict[str, str] = {
    "Prospecting": "prospek|prospezione",
    "Qualification": "kualifikasi|qualificazione|qualifica",
    "Proposal": "penawaran|proposta|offerta",
    "Negotiation": "negosiasi|negoziazione|in negoziazione|trattativa finale",
}

# Breakdowns: "per sales", "per fase", "berdasarkan stage".
DIMENSION_WORDS: dict[str, str] = {
    "owner": "sales|salesnya|tenaga penjual|commerciale|commerciali|venditore|venditori|rappresentante",
    "team": "tim|squadra|squadre",
    "region": "wilayah|regione|regioni|area",
    "segment": "segmen|segmento|segmenti",
    "stage": "tahap|fase|fasi",
    "product": "produk|prodotto|prodotti",
    "industry": "industri|settore|settori",
    "loss_reason": "alasan|alasan kalah|alasan kehilangan|motivo|motivi|motivo della perdita|motivi della perdita|"
                   "motivo perdita",
    "source": "sumber|sumber lead|fonte|fonti|origine|canale|canali",
    "month": "bulan|mese|mesi",
    "quarter": "kuartal|trimestre|trimestri",
}
BY_WORDS = ("berdasarkan", "menurut", "suddiviso per", "diviso per")
BARE_DIMENSIONS = {"bulanan": "month", "mensile": "month", "mensili": "month", "trimestrale": "quarter",
                   "trimestrali": "quarter", "harian": "day", "giornaliero": "day"}

# After "deal", these words say the deals are meant, not one deal's name ("deal saya", "deal yang closing").
DEAL_LIST_NEXT = frozenset({
    "saya", "aku", "tim", "kami", "yang", "di", "ke", "minggu", "bulan", "kuartal", "tahun", "hari", "terbesar",
    "terkecil", "macet", "closing", "tanpa", "duplikat", "mandek", "kalah", "menang", "per", "dpn", "bln",
    "chiusi", "aperti", "persi", "vinti", "bloccati", "fermi", "in", "del", "della", "dei", "che", "ad",
    "antara", "lebih", "kurang", "dalam", "tra", "fra", "sopra", "sotto", "oltre",
})

# Amount filters: "di atas 500 juta", "sopra 100k", "sotto 10k".
MIN_WORDS = r"di atas|lebih dari|sopra|oltre|più di|superiori a"
MAX_WORDS = r"di bawah|kurang dari|sotto|meno di|inferiori a"
UNITS = {"rb": 1000, "ribu": 1000, "juta": 10**6, "jt": 10**6, "miliar": 10**9, "milyar": 10**9, "m": 10**6,
         "mila": 1000, "mln": 10**6, "milioni": 10**6, "milione": 10**6, "mld": 10**9, "miliardi": 10**9}

# Glue and question words that carry no meaning for the reading ("trattative bloccate di Marco").
STOP_WORDS = frozenset({
    "di", "dari", "yang", "apa", "berapa", "bagaimana", "gimana", "mana", "untuk", "buat", "dan", "dong", "ya",
    "apakah", "ada", "sudah", "udah", "lagi", "capai", "mencapai", "punya", "siapa", "nih", "sih", "aja", "saja",
    "bisa", "tampilkan", "lihat", "cek", "kasih", "minta", "mau", "sekarang", "total", "jumlah", "nilai",
    "semua", "ke", "pada", "dalam", "lama", "itu", "ini", "kah", "nya",
    "della", "delle", "dei", "degli", "rispetto", "alla", "quali", "sono", "quanto", "quanta", "cosa", "mostra",
    "mostrami", "dimmi", "le", "gli", "il", "lo", "la", "del", "nel", "nella", "nello", "sulla", "sul", "sullo",
    "al", "allo", "all", "dell", "nell", "sull", "che", "chi", "è", "e", "ho", "abbiamo", "mi", "ci", "sto",
    "stiamo", "per", "con", "in", "un", "una", "uno", "a", "da", "dal", "dalla", "i", "l", "raggiungere",
    "fammi", "vedere", "come", "mio", "qual", "quale", "sta", "andando", "linea", "tutta", "tutte", "tutto",
    "gmn", "persen", "siamo", "messi", "era", "erano", "eravamo", "ero", "tadinya",
    "col", "aperte", "aperti", "aperta", "ha", "hanno", "ad", "posisi",
    "situazione", "situasi", "yg", "dgn", "dengan", "utk", "sdh", "blm", "belum", "gak", "ga", "nggak", "crm",
    "messa", "messo", "messe", "vendita", "voglio", "vorrei", "puoi", "potresti",
})

# "As of" said the Indonesian or Italian way, before a date: each pattern is what the grammar reads as "as of".
# Only before something that reads as a day ("per 1 okt", never "per sales" or "per bulan"), and for Italian "al"
# never in a range or a limit ("dal 1/10 al 15/10", "fino al 31/12": periods, not moments). The end of a period
# counts only when that period is over ("a fine mese scorso", "per akhir bulan lalu"), since the history cannot
# say how a future day will stand.
_MONTH = (r"(?:jan|feb|mar|apr|mei|may|jun|jul|agu|agt|ags|aug|sep|okt|oct|nov|des|dec|gen|mag|giu|lug|ago|"
          r"set|ott|dic)[a-z]*\.?")
_DAY = rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[/.-]\d{{1,2}}\b|\d{{1,2}}\s+{_MONTH}(?!\w)|{_MONTH}\s+\d{{1,2}}\b)"
_PAST_END_ID = rf"(?:(?:bulan|kuartal|triwulan|tahun|minggu|pekan)\s+(?:lalu|kemarin|sebelumnya)\b|{_MONTH}(?!\w))"
_PAST_END_IT = (r"(?:(?:mese|trimestre|anno|settimana)\s+(?:scors[oa]|precedente|passat[oa])\b|"
                r"(?:gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|"
                r"dicembre)\b)")
AS_OF_PATTERNS = (
    rf"\b(?:posisi\s+)?per\s+(?:tanggal\s+|tgl\.?\s+)?(?={_DAY}|kemarin\b|kmrn\b)",
    rf"\b(?:posisi\s+)?per\s+akhir\s+(?={_PAST_END_ID})",
    rf"\balla\s+data\s+(?:del|di|dell')\s*(?={_DAY}|ieri\b)",
    rf"(?<!\bfino )(?<!\bentro )(?<!\bsino )\b(?:al\s+|all')(?={_DAY})",
    rf"\b(?:a|alla)\s+fine\s+(?:del\s+|dello\s+|della\s+|di\s+)?(?={_PAST_END_IT})",
)
# "on <day>" in a question about how things stood: the day is a moment ("as of"), as after an English verb in the past
# ("what was my pipeline on oct 1"). Indonesian has no past tense, so the thing that stands says it ("pipeline saya
# tanggal 1 okt"); Italian says it with the verb ("com'era la pipeline il 1 ott"). `lead` and `mid` are kept.
STATE_ON_PATTERNS = (
    rf"\b(?P<lead>pipeline|forecast|prakiraan|proyeksi|commit|posisi)\b(?P<mid>.*?)"
    rf"\b(?:pada\s+(?:tanggal\s+|tgl\.?\s+)?|tanggal\s+|tgl\.?\s+)(?={_DAY})",
    rf"\b(?P<lead>era|erano|stava|stavano|stavamo|aveva|avevano|avevo|avevamo)\b(?P<mid>.*?)"
    rf"\b(?:il\s+|l')(?={_DAY})",
)
# What happened on a day ("deal yang ditutup tanggal 1 okt", "trattative chiuse il 1 ott") is a period, not a moment.
EVENT_WORDS = (r"menang|dimenangkan|kalah|ditutup|tutup|closing|dibuat|chius\w*|vint[eoai]|pers[eoai]|creat[eoai]|"
               r"firmat[eoai]|aggiunt[eoai]")
# "per sekarang", "ad oggi": now, so no moment (never "da inizio anno a oggi", a range to today).
AS_OF_NOW = r"(?<!\w)(?:per\s+(?:sekarang|saat\s+ini)|ad?\s+oggi|ad?\s+ora|al\s+momento)\b"
# A range ("dal 1/10 al 15/10", "tra il 1/10 e il 15/10"): its "al" is the range's end, not "as of".
RANGE_START = r"\b(?:dal|dall'|dalla|da|tra|fra)\s*(?:il\s+|l')?\d"

# Indonesian and Italian words for other parts of a question, read by the grammar's patterns.
# "rispetto alla quota", "dibanding target": measured against the quota, not a comparison of two readings.
COMPARE_WORDS = (r"(?:dibandingkan\s+dengan|dibanding(?:kan)?|ketimbang|"
                 r"rispetto\s+(?:a|al|alla|allo|ai|agli|alle|all')|contro|in\s+confronto\s+(?:a|al|alla|con))(?!\s*(?:quota|obiettiv\w*|target|kuota|piano|budget)\b)")
# "anno su anno", "tahun ke tahun": year over year; "trimestre su trimestre", "kuartal ke kuartal": quarter over quarter
YEAR_OVER_YEAR = r"anno\s+su\s+anno|tahun\s+ke\s+tahun"
QUARTER_OVER_QUARTER = r"trimestre\s+su\s+trimestre|(?:kuartal|triwulan)\s+ke\s+(?:kuartal|triwulan)"
BETWEEN = r"antara|tra|fra"
AND = r"dan|e"
# "da 50k a 100k", "dari 50 juta sampai 100 juta": from one amount to another
FROM = r"da|dal|dari"
TO = r"a|al|ad|sampai|hingga|ke"
IN_CURRENCY = r"dalam"
COMPARE_VERBS = r"bandingkan|confronta"
WITH = r"dan|dengan|e|con"
ALL_TIME_PHRASES = "sepanjang masa|sejak awal|dari dulu|da sempre|di sempre|di tutti i tempi|dall'inizio"

# Example questions offered, the nearest three, when a question cannot be answered (as `vocabulary.EXAMPLES`).
EXAMPLES_ID = (
    "berapa pipeline saya kuartal ini?", "closing saya bulan ini", "pencapaian kuota saya", "siapa yang di bawah "
    "target?", "5 deal terbesar yang closing bulan ini", "deal di atas 500 juta", "pipeline tertimbang per tahap",
    "rata-rata ukuran deal tahun ini", "win rate tahun ini dibanding tahun lalu", "win rate per sales kuartal lalu",
    "siklus penjualan tahun ini", "konversi tahun ini", "forecast kuartal ini", "peringkat tim",
    "perubahan sejak Senin", "deal yang macet", "kurang berapa lagi?", "deal tanpa owner", "akun duplikat",
    "pipeline saya per 1 okt", "tren pipeline mingguan", "akurasi forecast tim", "waterfall pipeline kuartal ini",
)
EXAMPLES_IT = (
    "com'è la mia pipeline questo trimestre?", "quanto ho chiuso questo mese?", "come sto andando rispetto alla "
    "quota?", "chi è sotto quota?", "le 5 trattative più grandi che chiudono questo mese", "trattative sopra 100k",
    "pipeline ponderata per fase", "valore medio delle trattative quest'anno", "tasso di vittoria quest'anno "
    "rispetto all'anno scorso", "tasso di vittoria per commerciale il trimestre scorso", "ciclo di vendita "
    "quest'anno", "conversione quest'anno", "previsione questo trimestre", "classifica del team",
    "cosa è cambiato da lunedì", "trattative bloccate", "quanto mi manca?", "trattative senza proprietario",
    "account duplicati", "la mia pipeline al 1 ott", "andamento della pipeline settimanale",
    "accuratezza delle previsioni del team", "cascata della pipeline questo trimestre",
)
