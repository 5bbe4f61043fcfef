"""The words the grammar knows: subcommands, metrics and their synonyms, scopes, dimensions, options, filters.

Data only. A *concept* is what a word or phrase means; phrases are matched longest first, so "weighted pipeline"
is one concept and not "weighted" then "pipeline". Everything here is lower case; apostrophes are plain (').
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant import vocabulary_intl as intl


@dataclass(frozen=True)
class Concept:
    """What a phrase contributes to a reading; any field may be unset."""

    intent: str | None = None
    metric: str | None = None
    scope: str | None = None  # me | team | org | default ("we": whatever the asker looks after)
    option: str | None = None  # chart | explain | share | csv
    by: str | None = None
    rule: str | None = None  # an integrity rule
    stage: str | None = None
    sort: str | None = None  # largest | smallest
    by_value: bool = False  # "by value": win rate by value, deals by amount
    all_time: bool = False
    weak: bool = False  # "closing": names an intent only when nothing stronger does


# Subcommands, in the order `help` lists them (the first word of `/sales <what>` picks one of these outright).
SUBCOMMANDS = ("help", "pipeline", "quota", "forecast", "deals", "deal", "stalled", "winrate", "cycle", "funnel",
               "leaderboard", "changes", "integrity", "call", "calls", "digest", "settings", "commission", "scorecard",
               "status", "waterfall", "trend", "accuracy")

# The metric each subcommand answers with, when the question names no other.
DEFAULT_METRIC = {"pipeline": "pipeline", "quota": "attainment", "forecast": "forecast", "winrate": "win_rate",
                  "cycle": "cycle_days", "funnel": "conversion", "leaderboard": "attainment"}

# The metrics a trend can draw (assistant.trend_answers.TREND_LABELS).
TRENDABLE = frozenset({"pipeline", "forecast", "win_rate", "attainment"})
# Subcommands about another subcommand's metric ("trend pipeline"): the metric named by any phrase is theirs.
OF_ANY_METRIC = ("trend",)

# (intent, metric) -> the phrases that name it.
_METRIC_PHRASES: dict[tuple[str, str | None], str] = {
    ("pipeline", "pipeline"): "pipeline|pipe|pipelines|open pipeline|open pipe|pipeline value|total pipeline|"
                              "deals in flight|in flight|in-flight|pipeline amount|pipeline total|funnel value|"
                              "open opportunities value|pipe value",
    ("metric", "weighted_pipeline"): "weighted pipeline|weighted pipe|weighted|weighted value|expected value|"
                                     "probability weighted pipeline|risk adjusted pipeline|risk-adjusted pipeline|"
                                     "weighted forecast",
    ("metric", "closed_won"): "closed won|closed-won|closedwon|won|bookings|booking|booked|closed|revenue|wins|"
                              "won deals|deals won|closed deals|deals closed|closed business|closed revenue|"
                              "what did i close|what have i closed|what did we close|what have we closed|"
                              "what did they close|how much did i close|how much have i closed|"
                              "how much did we close|how much have we closed|how much did we book|"
                              "did i close|did we close|have i closed|have we closed|did close|landed|signed|"
                              "new bookings|total bookings|booked revenue",
    ("metric", "closed_lost"): "closed lost|closed-lost|lost|losses|lost deals|deals lost|what did i lose|"
                               "what did we lose|what have we lost|what have i lost|lost business|lost revenue",
    ("quota", "attainment"): "quota|quotas|attainment|quota attainment|tracking|target|targets|number|numbers|"
                             "my number|the number|our number|hit my number|hit the number|hit our number|"
                             "make my number|make quota|hit quota|hit my quota|going to hit|gonna hit|on track|"
                             "on pace|pace|plan|to plan|vs plan|how am i doing|how are we doing|how is my quarter|"
                             "how's my quarter|how's my number|am i on track|are we on track|percent to plan|"
                             "#s|#'s|nums|% to plan|attain|attainment %|quota %|how close am i",
    ("metric", "gap"): "gap|gap to quota|gap to target|gap to plan|quota gap|how far|how far off|how far away|"
                       "how much more|how much left|left to close|left to go|remaining|still need|shortfall|"
                       "short of quota|short|how much do i need|how much do we need|distance to quota",
    ("metric", "coverage"): "coverage|pipeline coverage|pipe coverage|coverage ratio|cover|enough pipeline|"
                            "enough pipe|pipeline to quota|pipeline multiple|coverage multiple",
    ("forecast", "forecast"): "forecast|forecasts|forcast|commit|best case|best-case|bestcase|rollup|roll-up|"
                              "roll up|forecast call|upside|projection|projected|outlook|landing|"
                              "where will we land|where will i land|where we land|expected close",
    ("winrate", "win_rate"): "win rate|winrate|win-rate|win rates|win %|win pct|win percent|win percentage|"
                             "win ratio|close rate|closing rate|hit rate|won vs lost|won and lost|wins and losses|"
                             "win loss|win/loss|win-loss|closed won and lost|won/lost|how often do we win|"
                             "how often do i win|win-rate %",
    ("winrate", "win_rate_value"): "win rate by value|win rate by amount|value win rate|dollar win rate|"
                                   "$ win rate|win rate by dollars|win rate by revenue|win rate value|"
                                   "winrate by value|win rate in dollars|win rate by money",
    ("metric", "avg_deal_size"): "average deal size|avg deal size|average deal|avg deal|deal size|deal sizes|"
                                 "average won deal|asp|average selling price|acv|average contract value|"
                                 "typical deal|mean deal size|average size|avg size|average deal value|"
                                 "avg deal value|how big are my deals|how big are our deals",
    ("cycle", "cycle_days"): "cycle|sales cycle|cycle time|cycle length|days to close|time to close|how long|"
                             "median cycle|deal cycle|length of sales cycle|time to win|days to win|"
                             "median sales cycle|how long do deals take|how long does it take|cycle days",
    ("cycle", "cycle_days_mean"): "mean cycle|average cycle|average sales cycle|avg sales cycle|avg cycle|"
                                  "mean sales cycle|average days to close|avg days to close|mean days to close",
    ("metric", "velocity"): "velocity|sales velocity|pipeline velocity|deal velocity|velocity per day|"
                            "pipe velocity|revenue velocity",
    ("funnel", "conversion"): "funnel|conversion|conversions|stage conversion|conversion rate|conversion rates|"
                              "convert|converting|stage to stage|stage-to-stage|drop off|drop-off|dropoff|"
                              "stage conversions|funnel conversion",
    ("metric", "pipeline_created"): "pipeline created|pipe created|new pipeline|new pipe|pipeline generated|"
                                    "pipegen|pipe gen|pipeline generation|created pipeline|pipeline added|"
                                    "added pipeline|generated pipeline|pipeline creation|pipe generated|"
                                    "pipeline was created|pipeline did we create|pipeline have we created|"
                                    "pipeline did i create",
    ("metric", "deals_created"): "deals created|new deals|opps created|new opps|new opportunities|"
                                 "opportunities created|deals opened|created deals|deals added|new deal count|"
                                 "deals were created|deals got created|opps were created|deals have been created",
    ("leaderboard", "attainment"): "leaderboard|leader board|leaderboards|leaders|ranking|rankings|rank|"
                                   "top reps|top performers|top sellers|best reps|best sellers|who is winning|"
                                   "who's winning|whos winning|who's on top|who is on top|stack rank|"
                                   "stack ranking|league table|top rep|top performer|best performers",
    ("deals", None): "deals|deal list|opportunities|opps|list of deals|open deals|deals closing|what's closing|"
                     "what is closing|whats closing|which deals|my deals|our deals|closing deals",
    ("deal", None): "deal|opportunity|opp|deal card|deal details",
    ("stalled", None): "stalled|stuck|stale|stalling|going cold|gone cold|cold|slipping|at risk|risky|"
                       "neglected|no activity|inactive deals|dormant|aging|ageing|stalled deals|stuck deals|"
                       "need attention|needs attention|need love|haven't moved|not moving",
    ("changes", None): "changes|changed|change|what changed|what's changed|whats changed|what has changed|"
                       "what's new|whats new|what is new|what moved|moved|movement|updates|what happened|"
                       "delta|diff|what's different|what slipped|slipped",
    ("integrity", None): "integrity|hygiene|data quality|quality|findings|dirty data|bad data|data issues|"
                         "data problems|clean up|cleanup|crm hygiene|data integrity|data hygiene|bad records|"
                         "data check|data checks",
    ("call", None): "call|submit call|submit my call|my forecast call|submit forecast call|enter my call|"
                    "make my call|update my call|change my call",
    ("calls", None): "calls|forecast calls|call roll-up|call rollup|calls roll-up|calls rollup|team calls|"
                     "who has called|who hasn't called|missing calls",
    ("status", None): "status|sync status|crm status|sync health|data freshness|how fresh is the data|"
                      "when did the crm sync|last sync",
    ("digest", None): "digest|digests|morning digest|weekly digest",
    ("commission", None): "commission|commissions|comp|my comp|comp plan|payout|payouts|my payout|earnings|"
                          "what will i earn|what do i earn|how much will i earn|what will i get paid|"
                          "what would i earn|incentive|incentives|variable pay|what if|accelerator|spiff|spiffs",
    ("scorecard", None): "scorecard|scorecards|score card|coaching|bottleneck|bottlenecks|where do my deals get stuck|"
                         "where do deals get stuck|rep scorecard",
    ("trend", None): "trend|trends|trend line|over time",
    ("accuracy", None): "accuracy|forecast accuracy|how accurate|accurate|mape|forecast error|forecasting accuracy",
    ("settings", None): "settings|setting|preferences|my settings|config|configuration",
    ("waterfall", None): "waterfall|waterfalls|pipeline waterfall|pipe waterfall|pipeline bridge|pipe bridge|"
                         "forecast waterfall|pipeline walk|pipe walk|pipeline movement|where did my pipeline go|"
                         "where did the pipeline go|where did our pipeline go|pipeline flow",
    ("help", None): "help|commands|usage|what can you do|what can i ask|how do i use this|how does this work|"
                    "what do you do|examples",
}

# Integrity rules by the words people use for them (each also means the integrity intent).
_RULE_PHRASES: dict[str, str] = {
    "owner_unknown": "no owner|without an owner|without owner|with no owner|unowned|orphan deals|orphaned deals|"
                     "orphans|missing owner|missing owners|no owners|ownerless",
    "owner_inactive": "inactive rep|inactive reps|inactive owner|inactive owners|owned by inactive|"
                      "departed reps|reps who left|ex-employees",
    "duplicate_account": "duplicate accounts|duplicate account|dupe accounts|dup accounts|duplicated accounts|"
                         "account duplicates",
    "duplicate_opportunity": "duplicate deals|duplicate opportunities|duplicate opps|duplicates|dupes|dupe deals|"
                             "duplicated deals|double entered deals",
    "missing_amount": "missing amount|missing amounts|no amount|zero amount|without amount|without an amount|"
                      "blank amount|blank amounts|empty amount",
    "negative_amount": "negative amount|negative amounts|negative deals",
    "missing_exchange_rate": "missing exchange rate|missing exchange rates|no exchange rate|no exchange rates|"
                             "missing rate|missing rates|no rate|unconverted deals|deals with no rate",
    "past_close_date": "past close date|close date in the past|close dates in the past|overdue|overdue deals|"
                       "past due|past-due",
    "close_before_created": "close before created|closed before created|close date before created|"
                            "deals closed before created|closed before they were created",
    "probability_off_stage": "probability off|wrong probability|probability mismatch|bad probability",
    "forecast_category_mismatch": "forecast category mismatch|wrong forecast category|category mismatch",
    "amount_outlier": "outliers|outlier|amount outliers|huge deals|suspicious amounts",
    "late_stage_no_next_step": "no next step|no next steps|missing next step|missing next steps|"
                               "without next step|without a next step",
    "change_after_close": "changed after close|changes after close|edited after close",
    "rep_without_quota": "no quota|without quota|without a quota|missing quota|missing quotas|reps without quota",
}

_SCOPE_PHRASES: dict[str, str] = {
    "me": "i|me|my|mine|myself|i'm|im|i've|ive|i'll|ill|personally|own|my own|for me",
    "team": "team|my team|our team|the team|my reps|my people|my guys|my folks|my org|direct reports|reports|"
            "my directs|my group|squad|my squad|teams|my teams|team's|my team's|the team's|our team's",
    "org": "org|company|everyone|whole org|the whole org|the company|whole company|company-wide|companywide|"
           "org-wide|orgwide|org wide|company wide|overall|global|globally|entire org|all reps|everybody|all of sales|"
           "the org|entire company|across the company|across the org|whole sales org|total company",
    "default": "we|us|our|ours|we're|were|we've",
}

_OPTION_PHRASES: dict[str, str] = {
    "chart": "chart|graph|plot|visual|visualize|visualise|picture|as a chart|show as a chart|charts|graphs",
    "explain": "explain|sql|definition|formula|how is it calculated|how is that calculated|how do you calculate|"
               "show the sql|show sql|how calculated|explained|methodology|calculated|calculate|computed",
    "share": "share|share in channel",
    "csv": "csv|export|download|spreadsheet|excel|as csv|as a csv",
    "weekly": "weekly|week by week|week on week",
}

_DIMENSION_WORDS: dict[str, str] = {
    "owner": "owner|owners|rep|reps|person|people|seller|sellers|ae|aes|account executive|salesperson|"
             "salespeople|individual|each rep|rep's",
    "manager": "manager|managers|mgr|mgrs|boss|first line manager|flm|flms|leader|leaders",
    "team": "team|teams|group|groups|squad|squads",
    "region": "region|regions|geo|geos|geography|territory|territories|area|areas|theater|theatre",
    "segment": "segment|segments|market segment|tier|tiers",
    "stage": "stage|stages|phase|phases|sales stage|deal stage",
    "product": "product|products|sku|skus|product line|product lines|line|offering|offerings",
    "industry": "industry|industries|vertical|verticals|sector|sectors",
    "loss_reason": "loss reason|loss reasons|lost reason|lost reasons|reason|reasons|reason lost|reason for loss|"
                   "reasons for loss|why lost",
    "source": "source|sources|lead source|lead sources|deal source|deal sources|opportunity source|channel|"
              "channels",
    "forecast_category": "forecast category|forecast categories|category|categories|forecast_category|fc|"
                         "forecast cat|commit category",
    "day": "day|days|date|daily",
    "month": "month|months|monthly|mo|mth",
    "quarter": "quarter|quarters|quarterly|qtr|qtrs",
}
# Words that introduce a breakdown.
BY_WORDS = ("by", "per", "broken down by", "breakdown by", "break down by", "split by", "grouped by", "group by",
            "for each", "across", "each", "by each", "across all", "for every")
# Words that, alone, already ask for a breakdown ("monthly bookings").
BARE_DIMENSIONS = {"monthly": "month", "quarterly": "quarter", "daily": "day"} | intl.BARE_DIMENSIONS

_STAGE_PHRASES: dict[str, str] = {
    "Prospecting": "prospecting|prospect stage|prospects",
    "Qualification": "qualification|qualified|qualifying|qual",
    "Proposal": "proposal|proposals|proposal stage",
    "Negotiation": "negotiation|negotiating|negotiations|in negotiation|contracting",
}

_SORT_PHRASES: dict[str, str] = {
    "largest": "biggest|largest|highest|most valuable|big|large|bigger|largest value|top value|whales|"
               "big deals|big ones|biggest ones",
    "smallest": "smallest|lowest|least valuable|tiny|small|bottom",
}

# Words that carry no meaning for the reading: question words, chat filler, glue.
STOP_WORDS = frozenset({
    'take', 'takes', 'position', 'make', 'makes', 'wide', 'reps', 'rep', 'sellers', 'people', 'members',
    'compare', 'comparison',
    'a', 'an', 'the', 'is', 'are', 'am', 'was', 'were', 'be', 'been', 'being', 'do', 'does', 'did', 'done',
    'doing', 'have', 'has', 'had', 'having', 'will', 'would', 'shall', 'should', 'can', 'could', 'may', 'might',
    'must', 'going', 'gonna', 'wanna', 'want', 'wants', 'need', 'needs', 'to', 'of', 'in', 'on', 'at', 'for',
    'from', 'with', 'about', 'as', 'into', 'like', 'through', 'after', 'before', 'between', 'out', 'up', 'down',
    'off', 'over', 'under', 'again', 'then', 'once', 'here', 'there', 'when', 'where', 'why', 'how', 'what',
    'which', 'who', 'whom', 'whose', 'this', 'that', 'these', 'those', 'it', 'its', "it's", 'they', 'them',
    'their', 'he', 'she', 'his', 'her', 'you', 'your', 'yours', 'u', 'ur', 'please', 'pls', 'plz', 'thanks',
    'thank', 'thx', 'ty', 'hey', 'hi', 'hello', 'yo', 'bot', 'sales', 'show', 'give', 'tell', 'list', 'see',
    'get', 'got', 'find', 'pull', 'run', 'display', 'fetch', 'check', 'look', 'looking', 'looks', 'lookin',
    'so', 'far', 'now', 'currently', 'current', 'right', 'just', 'quick', 'quickly', 'real', 'really',
    'actually', 'basically', 'any', 'some', 'all', 'and', 'or', 'but', 'if', 'than', 'too', 'very', 'much',
    'many', 'more', 'most', 'less', 'least', 'number', "how's", 'hows', "what's", 'whats', "where's", "who's",
    'whos', "which's", "there's", 'theres', "let's", 'lets', 'me?', 'and?', 'ok', 'okay', 'kinda', 'sorta',
    'gimme', 'lemme', 'ya', 'yeah', 'yes', 'no', 'not', 'our?', 'status', 'update', 'report', 'summary',
    'overview', 'breakdown', 'view', 'numbers', 'figure', 'figures', 'stats', 'stat', 'metrics', 'metric',
    'value', 'values', 'amount', 'amounts', 'total', 'totals', 'count', 'sum', 'looking?', 'doing?', 'today?',
    'going?', 'good', 'bad', 'well', 'ok?', 'up?', 'standing', 'stand', 'stack', 'stacking', 'shaping', 'shape',
    'shaped', 'everything', 'anything', 'something', 'thing', 'things', 'stuff', 'info', 'information', 'data',
    'details', 'detail', 'latest', 'recent', 'by', 'per', 'by?', 'via', 'vs', 'versus', 'only', 'also', 'even',
    'still', 'yet', 'already', 'about?', 'whole', 'entire', 'entirely', 'overall?', 'exactly', 'roughly',
    'approximately', 'approx', 'around', 'some?', 'my?', 'on?', 'for?', 'since', 'until', 'till', 'til',
    'till?', 'upto',
}) | intl.STOP_WORDS

# Words glued to a preceding name: "EMEA Sales", "west team", "Dana's team".
NAME_SUFFIXES = frozenset({"sales", "team", "team's", "region", "org", "group"})

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "fifty": 50}


# What the grammar puts for an Indonesian "deal" that means the deals ("deal saya", "deal macet"): the list,
# unless a stronger word names the question (stalled, an integrity rule).
DEAL_LIST = "deal-list"


def _phrases(spec: str) -> list[tuple[str, ...]]:
    return [tuple(p.split()) for p in spec.split("|") if p.strip()]


def _build() -> dict[tuple[str, ...], Concept]:
    out: dict[tuple[str, ...], Concept] = {}
    for (intent, metric), spec in _METRIC_PHRASES.items():
        for p in _phrases(spec):
            out[p] = Concept(intent=intent, metric=metric)
    for rule, spec in _RULE_PHRASES.items():
        for p in _phrases(spec):
            out[p] = Concept(intent="integrity", rule=rule.strip())
    for table in (intl.INTENT_PHRASES_ID, intl.INTENT_PHRASES_IT):
        for (intent, metric), spec in table.items():
            for p in _phrases(spec):
                out.setdefault(p, Concept(intent=intent, metric=metric))
    for table in (intl.SCOPE_PHRASES_ID, intl.SCOPE_PHRASES_IT):
        for value, spec in table.items():
            for p in _phrases(spec):
                out.setdefault(p, Concept(scope=value))
    for table, key in ((intl.RULE_PHRASES, "rule"), (intl.OPTION_PHRASES, "option"), (intl.SORT_PHRASES, "sort"),
                       (intl.STAGE_PHRASES, "stage")):
        for value, spec in table.items():
            for p in _phrases(spec):
                out.setdefault(p, Concept(intent="integrity", rule=value) if key == "rule" else Concept(**{key: value}))
    for p in _phrases(intl.BEHIND_PHRASES):
        out.setdefault(p, Concept(intent="quota", metric="attainment", by="owner"))
    for table, key in ((_SCOPE_PHRASES, "scope"), (_OPTION_PHRASES, "option"), (_STAGE_PHRASES, "stage"),
                       (_SORT_PHRASES, "sort")):
        for value, spec in table.items():
            for p in _phrases(spec):
                out[p] = Concept(**{key: value})
    for p in _phrases("by value|by amount|by dollars|by size|by revenue|by $|in dollars"):
        out[p] = Concept(by_value=True)
    for p in _phrases("all time|all-time|alltime|ever|lifetime|since inception|since the beginning|since forever|"
                      "of all time|to date|historically|all history|" + intl.ALL_TIME_PHRASES):
        out[p] = Concept(all_time=True)
    for p in _phrases("closing|close|closes|close this|closing in|due to close|expected to close|set to close|"
                      "scheduled to close|slated to close|about to close|lands|landing soon"):
        out[p] = Concept(intent="deals", weak=True)
    for p in _phrases("number of|how many|count of|amount of|the number of|total number of|close date|"
                      "close dates|what about|how about|right now|so far|as of now|at the moment|in total"):
        out[p] = Concept()
    for p in _phrases("doing|looking|going|shaping up|trending|tracking overall"):
        out[p] = Concept(intent="quota", metric="attainment", weak=True)
    for p in _phrases(intl.SOFT_TREND_PHRASES):
        out.setdefault(p, Concept(intent="trend", weak=True))
    out[("top",)] = Concept(intent="leaderboard", metric="attainment", sort="largest", weak=True)
    out[(DEAL_LIST,)] = Concept(intent="deals", weak=True)
    out[(DEAL_LIST, "closing")] = Concept(intent="deals")  # "deal closing 31/12": the deals that close
    # "who's behind on quota": attainment per person
    for p in _phrases("who's behind|who is behind|whos behind|behind on quota|behind quota|behind plan|"
                      "who's ahead|who is ahead|under quota|below quota|missing quota|who's missing|"
                      "who is missing|at risk of missing|who needs help|who's struggling|who is struggling|"
                      "who's behind on quota|who is behind on quota|who's off pace|off pace|behind pace"):
        out[p] = Concept(intent="quota", metric="attainment", by="owner")
    return out


CONCEPTS: dict[tuple[str, ...], Concept] = _build()
# What a word means only in one language: in Indonesian sales talk "closing" is a won deal ("closing saya bulan
# ini"), in English "closing" asks which deals close ("what's closing this month").
CONCEPTS_BY_LANGUAGE: dict[str, dict[tuple[str, ...], Concept]] = {
    "id": CONCEPTS | {("closing",): Concept(intent="metric", metric="closed_won")},
}
MAX_PHRASE = max(len(p) for p in CONCEPTS)
DIMENSIONS_BY_WORD: dict[tuple[str, ...], str] = {p: dim for table in (_DIMENSION_WORDS, intl.DIMENSION_WORDS)
                                                  for dim, spec in table.items() for p in _phrases(spec)}
MAX_DIMENSION = max(len(p) for p in DIMENSIONS_BY_WORD)
BY_PHRASES = sorted((tuple(w.split()) for w in BY_WORDS + intl.BY_WORDS), key=len, reverse=True)
# Single words a typo may be read as (long enough to be safe).
TYPO_TARGETS = sorted({p[0] for p, c in CONCEPTS.items() if len(p) == 1 and len(p[0]) >= 5
                       and (c.intent or c.option)})
# Examples shown when a question cannot be answered: the nearest three are offered.
EXAMPLES = (
    "how is my pipeline looking this quarter?", "what did I close this month?", "am I going to hit my number?",
    "who's behind on quota?", "top 5 deals closing this month", "deals over 100k", "weighted pipeline by stage",
    "average deal size this year", "win rate vs last year", "win rate by owner last quarter",
    "sales cycle this year", "stage conversion this year", "forecast this quarter", "leaderboard",
    "what changed since monday", "which deals are stuck?", "coverage this quarter", "gap to quota",
    "sales velocity", "closed lost last quarter", "bookings by month this year", "deals with no owner",
    "duplicate accounts", "pipeline created this quarter", "dana vs mei reed win rate",
)
