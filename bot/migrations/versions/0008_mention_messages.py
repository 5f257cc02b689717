"""mention messages and full text

A follow-up in the same conversation (an e-mail answering an earlier one) joins the open mention's card;
``mention_messages`` remembers which platform ids were joined (a digest, no patron text) so that a
message delivered again joins once. ``mentions.full_text`` keeps the whole message when the card shows
a trimmed form (quoted history and signature cut); retention blanks it with the text.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mention_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"],
            ["mentions.id"],
            name=op.f("fk_mention_messages_mention_id_mentions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mention_messages")),
        sa.UniqueConstraint("source", "key", name="mention_messages_source_key"),
    )
    with op.batch_alter_table("mention_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mention_messages_mention_id"), ["mention_id"], unique=False)
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_text", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("full_text")
    with op.batch_alter_table("mention_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mention_messages_mention_id"))
    op.drop_table("mention_messages")
