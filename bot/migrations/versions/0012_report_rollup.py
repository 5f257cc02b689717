"""report roll-up: counts and wait histograms per library day, and the marks of changed days

``report_days`` holds one row per library day rolled up (day numbers from Monday 1970-01-05): the
key of the opening hours and zone it was computed for, its counts (JSON: total, unanswered, by
platform, role, rule, tag, READ level and kind) and its waits to first claim and first reply in
log-scale buckets (packed integers: bucket, count, smallest and largest wait). A trigger on ``mentions`` appends the arrival time of every inserted, deleted or
report-relevant changed mention to ``report_dirty``: the days those times fall on are rolled up
again (bot/reports/rollup.py). Append-only, so a writer in another process never loses its mark.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ANSWERED = "('replied', 'resolved', 'ignored')"
CHANGED = (  # the columns a report reads; a status change matters only when it answers or reopens
    f"(OLD.status IN {ANSWERED}) <> (NEW.status IN {ANSWERED})",
    *(
        f"OLD.{c} IS DISTINCT FROM NEW.{c}"
        for c in (
            "first_claimed_at",
            "first_replied_at",
            "received_at",
            "source",
            "role",
            "rule",
            "tags",
            "read_level",
            "directional",
        )
    ),
)


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("clock", sa.String(64), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("claims", sa.LargeBinary(), nullable=False),
        sa.Column("replies", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "report_dirty",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    changed = " OR ".join(CHANGED)
    if op.get_bind().dialect.name == "sqlite":
        changed = changed.replace("IS DISTINCT FROM", "IS NOT")
        op.execute(
            "CREATE TRIGGER report_mark_insert AFTER INSERT ON mentions "
            "BEGIN INSERT INTO report_dirty (at) VALUES (NEW.received_at); END"
        )
        op.execute(
            "CREATE TRIGGER report_mark_delete AFTER DELETE ON mentions "
            "BEGIN INSERT INTO report_dirty (at) VALUES (OLD.received_at); END"
        )
        op.execute(
            f"CREATE TRIGGER report_mark_update AFTER UPDATE ON mentions WHEN {changed} "
            "BEGIN INSERT INTO report_dirty (at) VALUES (NEW.received_at); "
            "INSERT INTO report_dirty (at) SELECT OLD.received_at WHERE OLD.received_at <> NEW.received_at; END"
        )
        return
    op.execute(
        """
CREATE FUNCTION report_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO report_dirty (at) VALUES (OLD.received_at);
  END IF;
  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR OLD.received_at <> NEW.received_at) THEN
    INSERT INTO report_dirty (at) VALUES (NEW.received_at);
  END IF;
  RETURN NULL;
END $$"""
    )
    op.execute(
        "CREATE TRIGGER report_mark_insert AFTER INSERT OR DELETE ON mentions "
        "FOR EACH ROW EXECUTE FUNCTION report_mark()"
    )
    op.execute(
        f"CREATE TRIGGER report_mark_update AFTER UPDATE ON mentions FOR EACH ROW WHEN ({changed}) "
        "EXECUTE FUNCTION report_mark()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS report_mark_update" + ("" if _sqlite() else " ON mentions"))
    op.execute("DROP TRIGGER IF EXISTS report_mark_insert" + ("" if _sqlite() else " ON mentions"))
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS report_mark_delete")
    else:
        op.execute("DROP FUNCTION IF EXISTS report_mark()")
    for table in ("report_dirty", "report_days"):
        op.drop_table(table)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
