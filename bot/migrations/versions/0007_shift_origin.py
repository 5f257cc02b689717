"""shift origin

A rota entry read from a role's calendar is marked with where it came from (``calendar:<role>``),
so a re-sync replaces only those entries and chat edits can refuse to touch them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=80), nullable=True))
        batch_op.create_index("ix_shifts_origin", ["origin"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_shifts_origin")
        batch_op.drop_column("origin")
