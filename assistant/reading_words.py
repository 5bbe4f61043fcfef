"""The names "I read this as…" and "I ignored…" use for what was asked, in the asker's language: subcommands,
options, breakdowns and sorts (metrics are named by their definition's label; scopes and periods name
themselves). Pure: no database, so the grammar can say a guess back while it reads.
"""

from __future__ import annotations

from i18n import N_, SOURCE_LANGUAGE, _, current_locale

# English names are the subcommand's own word where it has no longer one, as `help` lists them.
INTENT_NAMES = {
    "help": N_("help"), "pipeline": N_("pipeline"), "quota": N_("quota attainment"), "forecast": N_("forecast"),
    "deals": N_("deals"), "deal": N_("deal"), "stalled": N_("stalled deals"), "winrate": N_("win rate"),
    "cycle": N_("sales cycle"), "funnel": N_("funnel"), "leaderboard": N_("leaderboard"), "changes": N_("changes"),
    "integrity": N_("integrity"), "call": N_("call"), "calls": N_("calls"), "digest": N_("digest"),
    "settings": N_("settings"), "commission": N_("commission"), "scorecard": N_("scorecard"),
    "status": N_("status"), "waterfall": N_("waterfall"), "trend": N_("trend"), "accuracy": N_("accuracy"),
    "metric": N_("figure"),
}
OPTION_NAMES = {"chart": N_("chart"), "explain": N_("explain"), "share": N_("share"), "csv": N_("csv"),
                "weekly": N_("weekly")}
DIMENSION_NAMES = {
    "owner": N_("owner"), "manager": N_("manager"), "team": N_("team"), "region": N_("region"),
    "segment": N_("segment"), "stage": N_("stage"), "product": N_("product"), "industry": N_("industry"),
    "loss_reason": N_("loss reason"), "source": N_("source"),
    "forecast_category": N_("forecast category"), "day": N_("day"), "month": N_("month"),
    "fiscal_quarter": N_("fiscal quarter"), "kind": N_("kind"), "quarter": N_("quarter"),
}
SORT_NAMES = {"largest": N_("largest"), "smallest": N_("smallest")}


def _named(table: dict[str, str], key: str | None) -> str:
    return _(table[key]) if key in table else (key or "").replace("_", " ")


def intent_name(intent: str | None) -> str:
    """"win rate", "tingkat kemenangan", "tasso di vittoria"."""
    return _named(INTENT_NAMES, intent)


def option_name(option: str | None) -> str:
    return _named(OPTION_NAMES, option)


def dimension_name(dimension: str | None) -> str:
    """A breakdown's name, also a column heading ("stage" → "tahap", "fase")."""
    return _named(DIMENSION_NAMES, dimension)


def sort_name(sort: str | None) -> str:
    return _named(SORT_NAMES, sort)


def metric_name(name: str | None) -> str:
    """A metric's name in the asker's language, lower case ("weighted pipeline", "pipeline tertimbang")."""
    from metrics.evaluate import MetricError, metric_definition

    words = (name or "").replace("_", " ")
    if not name or current_locale() == SOURCE_LANGUAGE:
        return words
    try:
        return _(metric_definition(name).label).lower()
    except MetricError:  # an unknown metric name is said as it was read
        return words
