"""outbox lanes and folds

The relay picks a target's rows by lane (a staff action's card update, then new cards that can be
answered, then read-only items) with one indexed query; ``folds`` hold the per-source summary cards
that a burst of read-only items is folded into, ``fold_items`` which mentions each one holds and
``fold_cards`` where each summary card lives on each desk.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.create_index(
            "ix_outbox_pick", ["target", "state", "lane", "next_attempt_at"], unique=False
        )
    op.create_table(
        "folds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folds")),
    )
    op.create_index("ix_folds_source_role_last", "folds", ["source", "role", "last_at"], unique=False)
    op.create_table(
        "fold_items",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("fold_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mentions.id"], name=op.f("fk_fold_items_mention_id_mentions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["fold_id"], ["folds.id"], name=op.f("fk_fold_items_fold_id_folds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("mention_id", name=op.f("pk_fold_items")),
    )
    op.create_index("ix_fold_items_fold_id", "fold_items", ["fold_id"], unique=False)
    op.create_table(
        "fold_cards",
        sa.Column("fold_id", sa.Integer(), nullable=False),
        sa.Column("desk", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["fold_id"], ["folds.id"], name=op.f("fk_fold_cards_fold_id_folds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("fold_id", "desk", name=op.f("pk_fold_cards")),
    )


def downgrade() -> None:
    op.drop_table("fold_cards")
    op.drop_index("ix_fold_items_fold_id", table_name="fold_items")
    op.drop_table("fold_items")
    op.drop_index("ix_folds_source_role_last", table_name="folds")
    op.drop_table("folds")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pick")
        batch_op.drop_column("lane")
