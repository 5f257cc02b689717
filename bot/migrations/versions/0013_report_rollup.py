"""report roll-up: counts and wait histograms per library day, and the marks of changed days

``report_days`` holds one row per library day rolled up (day numbers from Monday 1970-01-05): the
key of the opening hours and zone it was computed for, its counts (JSON: total, unanswered, by
platform, role, rule, tag, READ level and kind) and its waits to first claim and first reply in
log-scale buckets (packed integers: bucket, count, smallest and largest wait). A trigger on ``mentions`` appends the arrival time of every inserted, deleted or
report-relevant changed mention to ``report_dirty``: the days those times fall on are rolled up
again (bot/reports/rollup.py). Append-only, so a writer in another process never loses its mark.

The retention dry run counted each stale mention's cards with a lookup per mention (26,000 on
1,000,000 mentions: most of its 277 ms p99 on PostgreSQL). ``mentions.card_count`` is kept by a
trigger on ``cards`` and joins ix_mentions_open_quiet and ix_mentions_purge_due, so both counts read
their index alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
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


OPEN_QUIET = ["status", "received_at", "claimed_at", "replied_at", "escalated_at", "reminded_at"]
UNFINISHED = "resolved_at IS NULL AND purged_at IS NULL"


def upgrade() -> None:
    _card_count()
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


def _card_count() -> None:
    op.add_column("mentions", sa.Column("card_count", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE mentions SET card_count = (SELECT count(*) FROM cards WHERE cards.mention_id = mentions.id) "
        "WHERE id IN (SELECT mention_id FROM cards)"
    )
    _card_indexes(with_count=True)
    sqlite = _sqlite()
    if sqlite:
        op.execute(
            "CREATE TRIGGER cards_count_insert AFTER INSERT ON cards "
            "BEGIN UPDATE mentions SET card_count = card_count + 1 WHERE id = NEW.mention_id; END"
        )
        op.execute(
            "CREATE TRIGGER cards_count_delete AFTER DELETE ON cards "
            "BEGIN UPDATE mentions SET card_count = card_count - 1 WHERE id = OLD.mention_id; END"
        )
        op.execute(
            "CREATE TRIGGER cards_count_update AFTER UPDATE OF mention_id ON cards "
            "BEGIN UPDATE mentions SET card_count = card_count - 1 WHERE id = OLD.mention_id; "
            "UPDATE mentions SET card_count = card_count + 1 WHERE id = NEW.mention_id; END"
        )
        return
    op.execute(
        """
CREATE FUNCTION cards_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE mentions SET card_count = card_count - 1 WHERE id = OLD.mention_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE mentions SET card_count = card_count + 1 WHERE id = NEW.mention_id;
  END IF;
  RETURN NULL;
END $$"""
    )
    op.execute(
        "CREATE TRIGGER cards_count AFTER INSERT OR DELETE OR UPDATE OF mention_id ON cards "
        "FOR EACH ROW EXECUTE FUNCTION cards_count()"
    )


def _card_indexes(*, with_count: bool) -> None:
    """The two retention indexes, with card_count (a last key column on SQLite, included on
    PostgreSQL) or without it as before."""
    sqlite = _sqlite()
    extra = ["card_count"] if with_count and sqlite else []
    include = ["card_count"] if with_count else []
    for name, columns, where, included in (
        ("ix_mentions_open_quiet", OPEN_QUIET, UNFINISHED, ["id", *include]),
        ("ix_mentions_purge_due", ["status", "resolved_at"], "purged_at IS NULL", include),
    ):
        op.drop_index(name, table_name="mentions")
        op.create_index(
            name,
            "mentions",
            columns + extra,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
            postgresql_include=included,
        )


def downgrade() -> None:
    if _sqlite():
        for name in ("cards_count_insert", "cards_count_delete", "cards_count_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS cards_count ON cards")
        op.execute("DROP FUNCTION IF EXISTS cards_count()")
    _card_indexes(with_count=False)
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("card_count")
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
