"""Large trees: activities by (rep_id, occurred_at) replaces the index on rep_id alone (a team's activities in a
period read from the index alone), and deals by (owner_id, created_at) and by created_at (pipeline created).

Revision ID: 0013_tree_indexes
Revises: 0012_snapshot_counts
"""

from alembic import op

revision = "0013_tree_indexes"
down_revision = "0012_snapshot_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_activities_rep_occurred", "activities", ["rep_id", "occurred_at"], unique=False)
    op.drop_index("ix_activities_rep_id", table_name="activities")
    op.create_index("ix_opportunities_owner_created", "opportunities", ["owner_id", "created_at"], unique=False)
    op.create_index("ix_opportunities_created_at", "opportunities", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_opportunities_created_at", table_name="opportunities")
    op.drop_index("ix_opportunities_owner_created", table_name="opportunities")
    op.create_index("ix_activities_rep_id", "activities", ["rep_id"], unique=False)
    op.drop_index("ix_activities_rep_occurred", table_name="activities")
