"""audit mention index

The retention purge blanks the audit rows of each batch of purged mentions; without this index every
500-mention batch scanned the whole audit table while holding SQLite's write lock (about 0.4 s per
batch with 3 million audit rows).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index("ix_audit_mention_id", ["mention_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_mention_id")
