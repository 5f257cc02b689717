"""open mentions index

The retention dry run counts the unfinished mentions quiet for a year (tens of thousands on a busy
desk that never presses Resolve); through ix_mentions_purge_due it fetched each one's row to check
its times (138 of 200 ms on PostgreSQL with 1,000,000 mentions). This partial index holds only the
unfinished, unpurged mentions with the times the check reads, so the count reads the index alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ["status", "received_at", "claimed_at", "replied_at", "escalated_at", "reminded_at"]


def upgrade() -> None:
    unfinished = sa.text("resolved_at IS NULL AND purged_at IS NULL")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentions_open_quiet",
            COLUMNS,
            unique=False,
            sqlite_where=unfinished,
            postgresql_where=unfinished,
            postgresql_include=["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_open_quiet")
