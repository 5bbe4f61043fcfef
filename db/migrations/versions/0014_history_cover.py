"""History indexes for the as-of questions: a deal's rows by (changed_at, id) carrying the columns an as-of state
takes (PostgreSQL: INCLUDE, so the org-wide LEAD window reads the index alone) replaces the index on
(opportunity_id, changed_at); and (close_date, changed_at, opportunity_id) finds the deals that had a close date in
a window by a moment without reading the table.

Revision ID: 0014_history_cover
Revises: 0013_tree_indexes
"""

from alembic import op

revision = "0014_history_cover"
down_revision = "0013_tree_indexes"
branch_labels = None
depends_on = None

STATE_COLUMNS = ["stage", "amount", "close_date", "probability", "forecast_category"]


def upgrade() -> None:
    op.create_index("ix_opportunity_history_opp_changed_id", "opportunity_history",
                    ["opportunity_id", "changed_at", "id"], unique=False, postgresql_include=STATE_COLUMNS)
    op.drop_index("ix_opportunity_history_opp_changed", table_name="opportunity_history")
    op.create_index("ix_opportunity_history_close_changed", "opportunity_history",
                    ["close_date", "changed_at", "opportunity_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_opportunity_history_close_changed", table_name="opportunity_history")
    op.create_index("ix_opportunity_history_opp_changed", "opportunity_history", ["opportunity_id", "changed_at"],
                    unique=False)
    op.drop_index("ix_opportunity_history_opp_changed_id", table_name="opportunity_history")
