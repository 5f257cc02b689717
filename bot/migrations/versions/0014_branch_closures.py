"""branch closures

A closure typed in chat may name a branch (``close 2026-12-24 at harbor``): ``shifts.branch`` holds
that branch's key, and the closure then closes only that branch's roles. Empty (NULL) closes every
branch, as before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("branch", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_column("branch")
