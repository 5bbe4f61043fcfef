"""Deal spans: each deal's history rows with the instant the next one replaced them (as-of readers, metrics.asof).

The history snapshot's state is cleared: it now also covers the spans, which are empty until the next refresh
rebuilds it whole, and readers work from history alone until then.

Revision ID: 0015_deal_spans
Revises: 0014_tree_perf
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_deal_spans"
down_revision = "0014_tree_perf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_deal_spans",
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_first", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("probability", sa.Integer(), nullable=True),
        sa.Column("forecast_category", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name=op.f("fk_bot_deal_spans_opportunity_id_opportunities"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("opportunity_id", "valid_from", name=op.f("pk_bot_deal_spans")),
    )
    op.create_index("ix_bot_deal_spans_close", "bot_deal_spans", ["close_date", "valid_from"], unique=False,
                    postgresql_include=["valid_to", "opportunity_id", "stage", "amount", "probability",
                                        "forecast_category"])
    op.create_index("ix_bot_deal_spans_first", "bot_deal_spans", ["valid_from", "opportunity_id"], unique=False,
                    postgresql_where=sa.text("is_first"), sqlite_where=sa.text("is_first"))
    op.execute("DELETE FROM bot_settings WHERE key = 'history_snapshot'")


def downgrade() -> None:
    op.drop_index("ix_bot_deal_spans_first", table_name="bot_deal_spans")
    op.drop_index("ix_bot_deal_spans_close", table_name="bot_deal_spans")
    op.drop_table("bot_deal_spans")
