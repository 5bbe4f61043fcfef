"""A nullable JSON `reason` on bot_alerts and bot_integrity_findings: the finding's detail as data (a reason code
and its figures, metrics.reasons), written out in the reader's language. Older rows keep only the English detail.

Revision ID: 0011_finding_reasons
Revises: 0010_perf_asof
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_finding_reasons"
down_revision = "0010_perf_asof"
branch_labels = None
depends_on = None

TABLES = ("bot_alerts", "bot_integrity_findings")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("reason", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reason")
