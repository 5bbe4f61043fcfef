"""Forecast calls: every weekly submission of a rep's or manager's commit and best case

Revision ID: 0008_calls
Revises: 0008_currency
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_calls"
down_revision = "0008_currency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_forecast_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("week_of", sa.Date(), nullable=False),
        sa.Column("commit_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("best_case_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("system_commit", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("system_best_case", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), server_default="0", nullable=False),
        sa.CheckConstraint("scope IN ('rep', 'tree')", name=op.f("ck_bot_forecast_calls_scope")),
        sa.ForeignKeyConstraint(["rep_id"], ["reps.id"], name=op.f("fk_bot_forecast_calls_rep_id_reps"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submitted_by"], ["reps.id"], name=op.f("fk_bot_forecast_calls_submitted_by_reps"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_forecast_calls")),
    )
    op.create_index("ix_bot_forecast_calls_rep_period", "bot_forecast_calls",
                    ["rep_id", "period_start", "submitted_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bot_forecast_calls_rep_period", table_name="bot_forecast_calls")
    op.drop_table("bot_forecast_calls")
