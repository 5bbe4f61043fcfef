"""The canonical schema (DESIGN §3) as SQLAlchemy Core tables.

Sales tables hold what the CRM knows; bot state lives in `bot_*` tables and never mixes with them.
Alembic migrations in `db/migrations` create and upgrade these tables; this module is what code imports.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from db.types import Money, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ROLES = ("rep", "manager", "exec", "ops")
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "omitted", "closed")
ACTIVITY_KINDS = ("call", "email", "meeting", "task", "note")

reps = Table(
    "reps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), unique=True),
    Column("slack_user_id", String(32)),
    Column("role", String(16), nullable=False, server_default="rep"),
    Column("manager_id", Integer, ForeignKey("reps.id", ondelete="SET NULL")),
    Column("team", String(100)),
    Column("region", String(100)),
    Column("segment", String(100)),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("timezone", String(64)),
    Column("start_date", Date),
    CheckConstraint("role IN ('rep', 'manager', 'exec', 'ops')", name="role"),
    Index("ix_reps_manager_id", "manager_id"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(100), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("industry", String(100)),
    Column("segment", String(100)),
    Column("region", String(100)),
    Column("owner_id", Integer, ForeignKey("reps.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime),
)

stages = Table(
    "stages",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("probability", Integer, nullable=False),
    Column("forecast_category", String(16), nullable=False),
    Column("is_closed", Boolean, nullable=False, server_default="0"),
    Column("is_won", Boolean, nullable=False, server_default="0"),
    Column("expected_days", Integer),
    CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
    CheckConstraint(
        "forecast_category IN ('pipeline', 'best_case', 'commit', 'omitted', 'closed')", name="forecast_category"
    ),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(100), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("owner_id", Integer, ForeignKey("reps.id", ondelete="SET NULL")),
    Column("stage", String(100), ForeignKey("stages.name", onupdate="CASCADE"), nullable=False),
    Column("amount", Money),
    Column("currency", String(3)),
    Column("probability", Integer),
    Column("forecast_category", String(16)),
    Column("created_at", UTCDateTime),
    Column("close_date", Date),
    Column("closed_at", UTCDateTime),
    Column("stage_entered_at", UTCDateTime),
    Column("last_activity_at", UTCDateTime),
    Column("next_step", Text),
    Column("product", String(100)),
    Column("source", String(100)),
    Column("loss_reason", String(200)),
    Column("updated_at", UTCDateTime),
    Index("ix_opportunities_owner_close", "owner_id", "close_date"),
    Index("ix_opportunities_close_date", "close_date"),
    # open deals by close date (past_close_date rules: 0.2 s -> milliseconds at 1,000,000 deals); also by stage
    Index("ix_opportunities_stage_close", "stage", "close_date"),
    Index("ix_opportunities_account_id", "account_id"),
    Index("ix_opportunities_updated_at", "updated_at"),
    Index("ix_opportunities_owner_created", "owner_id", "created_at"),
    Index("ix_opportunities_created_at", "created_at"),
    # open deals by stage and owner, carrying what the stalled rules read: a VP's or the org's from the index alone
    Index("ix_opportunities_stage_owner", "stage", "owner_id",
          postgresql_include=["id", "external_id", "account_id", "close_date", "created_at", "stage_entered_at",
                              "last_activity_at"]),
)

opportunity_history = Table(
    "opportunity_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("stage", String(100)),
    Column("amount", Money),
    Column("close_date", Date),
    Column("probability", Integer),
    Column("forecast_category", String(16)),
    Column("external_id", String(64), unique=True),  # the CRM's history row id: appended once, never rewritten
    Index("ix_opportunity_history_opp_changed", "opportunity_id", "changed_at"),
    Index("ix_opportunity_history_changed_at", "changed_at"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(100), unique=True),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE")),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="SET NULL")),
    Column("kind", String(16), nullable=False),
    Column("subject", String(300)),
    Column("occurred_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('call', 'email', 'meeting', 'task', 'note')", name="kind"),
    Index("ix_activities_opp_occurred", "opportunity_id", "occurred_at"),
    Index("ix_activities_rep_occurred", "rep_id", "occurred_at"),
    Index("ix_activities_occurred_rep", "occurred_at", postgresql_include=["rep_id"]),  # org-wide, by rep
)

quotas = Table(
    "quotas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="CASCADE"), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("amount", Money, nullable=False),
    UniqueConstraint("rep_id", "period_start", "period_end", name="uq_quotas_rep_period"),
    CheckConstraint("period_end >= period_start", name="period"),
)

# How many units of `currency` make one unit of the org currency (ORG_CURRENCY), from valid_from through valid_to
# (inclusive; NULL = open-ended): Salesforce's ConversionRate, so an org amount is amount / rate (DESIGN §3a).
exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("rate", Numeric(18, 6, asdecimal=True), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("external_id", String(64), unique=True),  # the CRM's id of the rate (Salesforce DatedConversionRate)
    UniqueConstraint("currency", "valid_from", name="uq_exchange_rates_currency_from"),
    CheckConstraint("rate > 0", name="rate"),
    CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid"),
)

SALES_TABLES = (reps, accounts, stages, opportunities, opportunity_history, activities, quotas, exchange_rates)

# --- bot state ----------------------------------------------------------------------------------------------

bot_settings = Table(
    "bot_settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

bot_slack_identities = Table(
    "bot_slack_identities",
    metadata,
    Column("slack_user_id", String(32), primary_key=True),
    Column("email", String(320)),
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="SET NULL")),
    Column("tz", String(64)),
    Column("locale", String(16)),  # the Slack locale (users.info include_locale), e.g. "it-IT"
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("fetched_at", UTCDateTime, nullable=False),
)

bot_subscriptions = Table(
    "bot_subscriptions",
    metadata,
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("send_time", String(5)),
    Column("paused_until", Date),
    Column("updated_at", UTCDateTime, nullable=False),
)

bot_delivery_ledger = Table(
    "bot_delivery_ledger",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("period", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("channel", String(32)),
    Column("message_ts", String(32)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("kind", "recipient", "period", name="uq_bot_delivery_ledger_key"),
)

bot_alerts = Table(
    "bot_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False),
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False),
    Column("detail", Text),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("snoozed_until", Date),
    Column("snooze_reason", Text),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_state", Text),
    Column("resolved_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    # added in 0002: when the rep was first nudged about this open spell (the escalation clock), who last
    # snoozed or acknowledged it (a rep id), and when the row last changed state
    Column("notified_at", UTCDateTime),
    Column("acted_by", Integer),
    Column("updated_at", UTCDateTime),
    # added in 0011: the detail as data (metrics.reasons), written out in the reader's language; NULL on older rows
    Column("reason", JSON),
    UniqueConstraint("rule", "opportunity_id", name="uq_bot_alerts_rule_opp"),
    Index("ix_bot_alerts_rep_status", "rep_id", "status"),
)

# The deals each stalled-deal nudge listed, in order (position ≥ the cap = the "and N more" part), so the DM
# can be re-rendered and updated (chat.update) when one of them resolves, is snoozed or acknowledged.
bot_nudge_items = Table(
    "bot_nudge_items",
    metadata,
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="CASCADE"), primary_key=True),
    Column("period", String(64), primary_key=True),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_bot_nudge_items_opportunity_id", "opportunity_id"),
)

bot_integrity_findings = Table(
    "bot_integrity_findings",
    metadata,
    Column("fingerprint", String(200), primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("record", String(200), nullable=False),
    Column("owner_id", Integer),
    Column("detail", Text),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("reason", JSON),  # added in 0011, as bot_alerts.reason
)

# The history snapshot (metrics/history_snapshot.py): facts about each deal's history that would otherwise take a
# window over the whole history table, for the history up to a watermark kept in bot_settings. Derived data,
# rebuilt from opportunity_history at any time.
# Per deal and open stage it entered: the first entry, and whether it later reached a further stage that is not
# a lost one (stage conversion).
bot_stage_entries = Table(
    "bot_stage_entries",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("stage", String(100), primary_key=True),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("advanced", Boolean, nullable=False),
    # org-wide conversion reads only this index (entries in a period, by stage, minus recently changed deals)
    Index("ix_bot_stage_entries_entered", "entered_at", "stage", "advanced", "opportunity_id"),
)

# Every history row that moved a deal's close date later than its previous dated row (the close_date_pushed
# stalled rule).
bot_close_date_pushes = Table(
    "bot_close_date_pushes",
    metadata,
    Column("history_id", Integer, primary_key=True, autoincrement=False),
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("from_date", Date, nullable=False),
    Column("to_date", Date, nullable=False),
    Index("ix_bot_close_date_pushes_changed", "changed_at", "opportunity_id", "from_date", "to_date"),
    Index("ix_bot_close_date_pushes_opportunity", "opportunity_id", "changed_at"),
)

# Each deal's states from its history, as spans (metrics.asof): a history row holds from its changed_at until the
# next row of its deal replaces it (valid_to; NULL while it is the last). Rows at the same instant as a later one
# never hold and are left out, so (opportunity_id, valid_from) is unique; `is_first` marks the deal's earliest.
bot_deal_spans = Table(
    "bot_deal_spans",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("valid_from", UTCDateTime, primary_key=True),
    Column("valid_to", UTCDateTime),
    Column("is_first", Boolean, nullable=False),
    Column("stage", String(100)),
    Column("amount", Money),
    Column("close_date", Date),
    Column("probability", Integer),
    Column("forecast_category", String(16)),
    # org-wide as-of readers: the states with a close date in a window, from the index alone on PostgreSQL
    Index("ix_bot_deal_spans_close", "close_date", "valid_from",
          postgresql_include=["valid_to", "opportunity_id", "stage", "amount", "probability", "forecast_category"]),
    # the deals whose history starts after a moment (before it a deal is read as it stands now)
    Index("ix_bot_deal_spans_first", "valid_from", "opportunity_id", postgresql_where=text("is_first"),
          sqlite_where=text("is_first")),
)

# CRM sync (crm/): per connector and object, how far the sync has read and how the last runs went.
bot_sync_state = Table(
    "bot_sync_state",
    metadata,
    Column("connector", String(32), primary_key=True),
    Column("object", String(100), primary_key=True),
    Column("watermark", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("rows_seen", Integer, nullable=False, server_default="0"),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
)

# Records a sync could not write (owner not a user, unknown stage, unreadable amount): the rest of the batch lands.
bot_sync_rejects = Table(
    "bot_sync_rejects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("connector", String(32), nullable=False),
    Column("object", String(100), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("field", String(200), nullable=False),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("connector", "object", "record_id", "field", name="uq_bot_sync_rejects_record"),
)

# Slack event ids already taken by some replica: a redelivery (X-Slack-Retry-Num) to another replica, or after a
# restart, finds its id here and is not answered again. Rows expire after an hour (handlers/seen_events.py).
bot_seen_events = Table(
    "bot_seen_events",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_bot_seen_events_seen_at", "seen_at"),
)

# Follow-ups (assistant/followup.py): the last question of each conversation, as its encoded reading, for 15
# minutes. In the database, so every replica of the bot answers the next message of the conversation alike.
bot_conversations = Table(
    "bot_conversations",
    metadata,
    Column("conversation", String(255), primary_key=True),  # DM channel or channel+thread, and the Slack user
    Column("reading", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_bot_conversations_updated_at", "updated_at"),
)

# Compensation plans (metrics/comp_plans.py): every loaded version of the plans file, kept whole, so a past period
# is paid under the version that was in force then. `document` is the validated file as canonical JSON.
bot_comp_plan_versions = Table(
    "bot_comp_plan_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("effective_from", Date, nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
    Column("source", String(500), nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("document", Text, nullable=False),
    Index("ix_bot_comp_plan_versions_effective", "effective_from", "id"),
)

# Forecast calls (DESIGN §4a): every submission is a new row, never updated. A rep's call is for their own deals
# (`scope` "rep"); a manager's is their call for the team (`scope` "tree"), which overrides the roll-up of their
# reps' calls. `week_of` is the local date of the call day that opened the week; `late` is set when the
# submission came after that week's deadline; `system_*` keep the roll-up the person saw beside their call.
bot_forecast_calls = Table(
    "bot_forecast_calls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("week_of", Date, nullable=False),
    Column("commit_amount", Money, nullable=False),
    Column("best_case_amount", Money, nullable=False),
    Column("note", Text),
    Column("system_commit", Money),
    Column("system_best_case", Money),
    Column("submitted_by", Integer, ForeignKey("reps.id", ondelete="SET NULL")),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("late", Boolean, nullable=False, server_default="0"),
    CheckConstraint("scope IN ('rep', 'tree')", name="scope"),
    Index("ix_bot_forecast_calls_rep_period", "rep_id", "period_start", "submitted_at"),
)

# Weekly forecast snapshots (DESIGN §4a): per person and quarter, the figures as of the week's Monday 06:00 UTC.
# A rep's row is their own deals (scope 'rep'); a manager's or exec's is their tree (scope 'tree'). One row per
# week, person, scope and quarter: the weekly job and the backfill insert what is missing and never overwrite.
bot_forecast_snapshots = Table(
    "bot_forecast_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("week_of", Date, nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("rep_id", Integer, ForeignKey("reps.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("closed_won", Money, nullable=False),
    Column("commit_amount", Money, nullable=False),
    Column("best_case_amount", Money, nullable=False),
    Column("pipeline_amount", Money, nullable=False),
    Column("weighted_amount", Money, nullable=False),
    Column("quota", Money),
    Column("source", String(8), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # counts and the pipeline category (0011): NULL in rows stored before, until the backfill fills them
    Column("open_count", Integer),
    Column("won_count", Integer),
    Column("lost_count", Integer),
    Column("pipeline_category_amount", Money),
    CheckConstraint("scope IN ('rep', 'tree')", name="scope"),
    CheckConstraint("source IN ('job', 'backfill')", name="source"),
    UniqueConstraint("week_of", "rep_id", "scope", "period_start", name="uq_bot_forecast_snapshots_week"),
    Index("ix_bot_forecast_snapshots_rep_period", "rep_id", "period_start", "week_of"),
)

BOT_TABLES = (
    bot_settings,
    bot_slack_identities,
    bot_subscriptions,
    bot_delivery_ledger,
    bot_alerts,
    bot_nudge_items,
    bot_integrity_findings,
    bot_stage_entries,
    bot_close_date_pushes,
    bot_sync_state,
    bot_sync_rejects,
    bot_seen_events,
    bot_conversations,
    bot_forecast_calls,
    bot_forecast_snapshots,
)
# Configuration the bot's operators load (sales ops' comp plans): kept out of BOT_TABLES, so a demo refresh, which
# replaces the sales data and what the bot derived from it, keeps it.
CONFIG_TABLES = (bot_comp_plan_versions,)

# APScheduler's job store (scheduler/service.py), in APScheduler's own layout so its SQLAlchemyJobStore uses it
# as is. Kept out of BOT_TABLES: a demo refresh must not wipe the schedule of a running bot.
bot_scheduler_jobs = Table(
    "bot_scheduler_jobs",
    metadata,
    Column("id", String(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)

DEFAULT_STAGES = (
    {"name": "Prospecting", "position": 1, "probability": 10, "forecast_category": "pipeline",
     "is_closed": False, "is_won": False, "expected_days": None},
    {"name": "Qualification", "position": 2, "probability": 20, "forecast_category": "pipeline",
     "is_closed": False, "is_won": False, "expected_days": None},
    {"name": "Proposal", "position": 3, "probability": 50, "forecast_category": "best_case",
     "is_closed": False, "is_won": False, "expected_days": None},
    {"name": "Negotiation", "position": 4, "probability": 80, "forecast_category": "commit",
     "is_closed": False, "is_won": False, "expected_days": None},
    {"name": "Closed Won", "position": 5, "probability": 100, "forecast_category": "closed",
     "is_closed": True, "is_won": True, "expected_days": None},
    {"name": "Closed Lost", "position": 6, "probability": 0, "forecast_category": "omitted",
     "is_closed": True, "is_won": False, "expected_days": None},
)
