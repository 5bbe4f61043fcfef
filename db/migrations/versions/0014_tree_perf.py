"""Large trees read like the org from indexes alone.

Open deals by (stage, owner_id), carrying what the stalled rules rank and test (id, external id, account, close,
created, stage-entered and last-activity dates): a VP's or the org's stalled deals were found through the stage
index and then read from the table, whose every page holds an open deal (at 1,000,000 deals the open deals of a
VP touched 27,000 of its 27,657 pages, three times over, once a rule); now from this index alone. The account id
is carried because the rules' outer join to accounts, dropped by the planner, still names it.

Activities by occurred_at, carrying rep_id: an org-wide count of a period's activities by rep (the scorecard)
read the whole activities table; now the period's range of this index.

Revision ID: 0014_tree_perf
Revises: 0013_tree_indexes
"""

from alembic import op

revision = "0014_tree_perf"
down_revision = "0013_tree_indexes"
branch_labels = None
depends_on = None

STALLED_COLUMNS = ["id", "external_id", "account_id", "close_date", "created_at", "stage_entered_at",
                   "last_activity_at"]


def upgrade() -> None:
    op.create_index("ix_opportunities_stage_owner", "opportunities", ["stage", "owner_id"], unique=False,
                    postgresql_include=STALLED_COLUMNS)
    op.create_index("ix_activities_occurred_rep", "activities", ["occurred_at"], unique=False,
                    postgresql_include=["rep_id"])


def downgrade() -> None:
    op.drop_index("ix_activities_occurred_rep", table_name="activities")
    op.drop_index("ix_opportunities_stage_owner", table_name="opportunities")
