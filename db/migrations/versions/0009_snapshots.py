"""Weekly forecast snapshots per person and quarter (bot_forecast_snapshots)

Revision ID: 0009_snapshots
Revises: 0008_i18n
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_snapshots"
down_revision = "0008_i18n"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=18, scale=2)


def upgrade() -> None:
    op.create_table(
        "bot_forecast_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_of", sa.Date(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("closed_won", MONEY, nullable=False),
        sa.Column("commit_amount", MONEY, nullable=False),
        sa.Column("best_case_amount", MONEY, nullable=False),
        sa.Column("pipeline_amount", MONEY, nullable=False),
        sa.Column("weighted_amount", MONEY, nullable=False),
        sa.Column("quota", MONEY, nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('rep', 'tree')", name=op.f("ck_bot_forecast_snapshots_scope")),
        sa.CheckConstraint("source IN ('job', 'backfill')", name=op.f("ck_bot_forecast_snapshots_source")),
        sa.ForeignKeyConstraint(["rep_id"], ["reps.id"], name=op.f("fk_bot_forecast_snapshots_rep_id_reps"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_forecast_snapshots")),
        sa.UniqueConstraint("week_of", "rep_id", "scope", "period_start", name="uq_bot_forecast_snapshots_week"),
    )
    op.create_index("ix_bot_forecast_snapshots_rep_period", "bot_forecast_snapshots",
                    ["rep_id", "period_start", "week_of"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bot_forecast_snapshots_rep_period", table_name="bot_forecast_snapshots")
    op.drop_table("bot_forecast_snapshots")
