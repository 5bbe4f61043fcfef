"""open deals by close date: (stage, close_date) replaces the index on stage alone

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_opportunities_stage_close", "opportunities", ["stage", "close_date"], unique=False)
    op.drop_index("ix_opportunities_stage", table_name="opportunities")


def downgrade() -> None:
    op.create_index("ix_opportunities_stage", "opportunities", ["stage"], unique=False)
    op.drop_index("ix_opportunities_stage_close", table_name="opportunities")
