"""snooze time

``mentions.snoozed_until``: when a snoozed mention wakes (NULL while snoozed: when the patron writes
again). A partial index over snoozed rows keeps the wake timer's query off the table. The statuses
``snoozed`` and ``approval`` (a reply held for approval) fit the existing status column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    snoozed = sa.text("status = 'snoozed'")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_mentions_snoozed_until",
            ["status", "snoozed_until"],
            unique=False,
            sqlite_where=snoozed,
            postgresql_where=snoozed,
        )


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_snoozed_until")
        batch_op.drop_column("snoozed_until")
