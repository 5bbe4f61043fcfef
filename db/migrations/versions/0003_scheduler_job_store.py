"""the scheduler's job store table

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_scheduler_jobs",
        sa.Column("id", sa.String(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_scheduler_jobs")),
    )
    op.create_index(op.f("ix_bot_scheduler_jobs_next_run_time"), "bot_scheduler_jobs", ["next_run_time"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_bot_scheduler_jobs_next_run_time"), table_name="bot_scheduler_jobs")
    op.drop_table("bot_scheduler_jobs")
