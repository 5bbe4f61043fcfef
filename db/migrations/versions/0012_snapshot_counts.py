"""Counts and the pipeline category in the weekly forecast snapshots (bot_forecast_snapshots), so trends of deal
counts, win rate and the forecast's pipeline line read the snapshots too. Nullable: rows stored before hold none;
`forecast backfill` (and the next job) fills them, and until then those weeks are rebuilt from history.

Revision ID: 0012_snapshot_counts
Revises: 0011_finding_reasons
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_snapshot_counts"
down_revision = "0011_finding_reasons"
branch_labels = None
depends_on = None

TABLE = "bot_forecast_snapshots"
COLUMNS = (("open_count", sa.Integer()), ("won_count", sa.Integer()), ("lost_count", sa.Integer()),
           ("pipeline_category_amount", sa.Numeric(precision=18, scale=2)))


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column(TABLE, sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
