"""query indexes

Reports read mentions by arrival time, and the retention purge looks for finished mentions not yet
purged; without these both scan the whole table (about 0.3 s and 1 s at a million mentions on SQLite).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    not_purged = sa.text("purged_at IS NULL")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index("ix_mentions_received_at", ["received_at"], unique=False)
        batch_op.create_index(
            "ix_mentions_purge_due",
            ["status", "resolved_at"],
            unique=False,
            sqlite_where=not_purged,
            postgresql_where=not_purged,
        )


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_purge_due")
        batch_op.drop_index("ix_mentions_received_at")
