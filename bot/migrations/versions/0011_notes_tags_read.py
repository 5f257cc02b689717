"""staff notes, tags and the READ Scale on mentions

``staff_notes`` keeps the latest few internal notes (JSON, staff text, never published) and
``note_count`` how many were written; every note is also an audit row. ``tags`` is the mention's
tags (comma-separated, from the rules file's list), ``read_level`` the READ Scale level (1-6) and
``directional`` the reference/directional flag given at Resolve. Retention blanks the notes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_notes", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("note_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("tags", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("read_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("directional", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("directional")
        batch_op.drop_column("read_level")
        batch_op.drop_column("tags")
        batch_op.drop_column("note_count")
        batch_op.drop_column("staff_notes")
