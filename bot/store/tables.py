"""The tables of DESIGN.md §3. Alembic migrations in bot/migrations create them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store UTC and re-attach it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Stamp = UTCDateTime()


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints alike everywhere."""

    metadata = MetaData(naming_convention=NAMING)


class MentionRow(Base):
    """A normalized mention and its desk state."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="source_external_id"),
        Index("ix_mentions_status_received", "status", "received_at"),
        Index("ix_mentions_received_at", "received_at"),
        Index(
            "ix_mentions_purge_due",
            "status",
            "resolved_at",  # and card_count on SQLite (migration 0013), included on PostgreSQL
            sqlite_where=text("purged_at IS NULL"),
            postgresql_where=text("purged_at IS NULL"),
            postgresql_include=["card_count"],
        ),
        Index(  # migration 0007: the retention dry run's stale count reads this index alone
            "ix_mentions_open_quiet",
            "status",
            "received_at",
            "claimed_at",
            "replied_at",
            "escalated_at",
            "reminded_at",  # and card_count on SQLite (migration 0013), included on PostgreSQL
            sqlite_where=text("resolved_at IS NULL AND purged_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL AND purged_at IS NULL"),
            postgresql_include=["id", "card_count"],
        ),
        Index(  # migration 0013: the wake timer reads only snoozed rows with a time
            "ix_mentions_snoozed_until",
            "status",
            "snoozed_until",
            sqlite_where=text("status = 'snoozed'"),
            postgresql_where=text("status = 'snoozed'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(512), default="")
    author_handle: Mapped[str] = mapped_column(String(512), default="")
    author_name: Mapped[str] = mapped_column(String(512), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="", server_default="")  # untrimmed, if trimmed
    lang: Mapped[str | None] = mapped_column(String(32))
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    content_warning: Mapped[str] = mapped_column(Text, default="")
    can_reply: Mapped[bool] = mapped_column(Boolean, default=True)
    reply_ref: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Stamp)
    received_at: Mapped[datetime] = mapped_column(Stamp)
    status: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    on_duty: Mapped[str] = mapped_column(Text, default="")  # comma-separated staff keys
    queued_until: Mapped[datetime | None] = mapped_column(Stamp)
    assignee: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(Stamp)
    replied_at: Mapped[datetime | None] = mapped_column(Stamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)
    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_url: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    first_claimed_at: Mapped[datetime | None] = mapped_column(Stamp)
    first_replied_at: Mapped[datetime | None] = mapped_column(Stamp)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(Stamp)
    reminded_at: Mapped[datetime | None] = mapped_column(Stamp)
    snoozed_until: Mapped[datetime | None] = mapped_column(Stamp)  # NULL while snoozed: until the patron
    purged_at: Mapped[datetime | None] = mapped_column(Stamp)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # migration 0011: internal notes (latest few, JSON), tags and the READ Scale at Resolve
    staff_notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    note_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tags: Mapped[str] = mapped_column(Text, default="", server_default="")  # comma-separated
    read_level: Mapped[int | None] = mapped_column(Integer)
    directional: Mapped[bool | None] = mapped_column(Boolean)
    # how many cards the mention has (kept by a trigger on cards, migration 0013; the purge counts)
    card_count: Mapped[int] = mapped_column(Integer, server_default="0")


class RoleRow(Base):
    """A staff role: SLA, backup role and where its cards go on each desk."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    sla_minutes: Mapped[int] = mapped_column(Integer, default=30)
    backup: Mapped[str | None] = mapped_column(String(64))
    slack_channel: Mapped[str] = mapped_column(String(64), default="")
    matrix_room: Mapped[str] = mapped_column(String(255), default="")


class StaffRow(Base):
    """A staff member and their chat identities."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    slack_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    matrix_user_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    is_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ShiftRow(Base):
    """One rota entry: a weekly slot, a dated override (cover/off) or a closure."""

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'weekly' AND days IS NOT NULL AND start_time IS NOT NULL AND end_time IS NOT NULL"
            " AND role IS NOT NULL AND person IS NOT NULL)"
            " OR (kind = 'override' AND starts_at IS NOT NULL AND ends_at IS NOT NULL"
            " AND override_kind IS NOT NULL AND role IS NOT NULL AND person IS NOT NULL)"
            " OR (kind = 'closure' AND day IS NOT NULL)",
            name="one_kind",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(64))
    person: Mapped[str | None] = mapped_column(String(128))
    days: Mapped[str | None] = mapped_column(String(16))  # "0,1,2,3,4" (Mon=0)
    start_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" wall clock
    end_time: Mapped[str | None] = mapped_column(String(5))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))  # naive local
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    override_kind: Mapped[str | None] = mapped_column(String(16))
    replaces: Mapped[str | None] = mapped_column(String(128))
    day: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str | None] = mapped_column(String(80), index=True)  # "calendar:<role>" when synced
    branch: Mapped[str | None] = mapped_column(String(64))  # a closure of one branch only (its key)


class CardRow(Base):
    """Where a mention's card lives on one desk."""

    __tablename__ = "cards"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    desk: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(255))


class MessageRow(Base):
    """A later message joined to an earlier mention's card (a follow-up in the same conversation).

    Holds no patron text: the text goes into the mention; ``key`` is a digest of the platform id,
    unique per source so a message delivered again joins only once.
    """

    __tablename__ = "mention_messages"
    __table_args__ = (UniqueConstraint("source", "key", name="mention_messages_source_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(Stamp)


class OutboxRow(Base):
    """A pending side effect; removed only once it succeeded (``version`` guards coalesced updates)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_pick", "target", "state", "lane", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # post_card, update_card, send_reply, notify
    lane: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")  # domain.outbox.Lane
    target: Mapped[str] = mapped_column(String(64))  # desk name, or source name for replies
    mention_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, failed
    version: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Stamp)
    leased_until: Mapped[datetime | None] = mapped_column(Stamp)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Stamp)


class FoldRow(Base):
    """A per-source summary card: read-only items of one burst folded into one card."""

    __tablename__ = "folds"
    __table_args__ = (Index("ix_folds_source_role_last", "source", "role", "last_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(Stamp)
    last_at: Mapped[datetime] = mapped_column(Stamp)


class FoldItemRow(Base):
    """A mention shown on a summary card instead of its own card (a mention is folded once)."""

    __tablename__ = "fold_items"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    fold_id: Mapped[int] = mapped_column(ForeignKey("folds.id", ondelete="CASCADE"), index=True)


class FoldCardRow(Base):
    """Where a summary card lives on one desk."""

    __tablename__ = "fold_cards"

    fold_id: Mapped[int] = mapped_column(ForeignKey("folds.id", ondelete="CASCADE"), primary_key=True)
    desk: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(255))


class CheckinRow(Base):
    """A shift's check-in (``bot/core/checkin.py``): asked once, then each step at most once.

    ``state`` moves only forward by conditional UPDATEs: asked -> here (checked in), or asked ->
    backup (the backup role was asked) -> channel (the staff channel was asked, managers told) ->
    filled (someone took the rest of the shift); a state past ``ends`` does nothing more.
    """

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("role", "person", "began", name="checkins_shift"),
        Index("ix_checkins_state_due_at", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    role: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(String(64))
    began: Mapped[datetime] = mapped_column(Stamp)  # the shift's start (UTC)
    ends: Mapped[datetime] = mapped_column(Stamp)  # the end of the person's unbroken time on duty
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(Stamp)  # when the next step is due
    answer: Mapped[str] = mapped_column(String(16), default="")  # "", "here" or "cover"
    answered_at: Mapped[datetime | None] = mapped_column(Stamp, nullable=True)
    filled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CursorRow(Base):
    """Where each source stream stopped."""

    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class MarkRow(Base):
    """Timer bookkeeping: a (kind, key) done once (a handover digest, a day's coverage warning)."""

    __tablename__ = "marks"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(Stamp)


class ReportDayRow(Base):
    """A library day rolled up for reports (migration 0013; bot/reports/rollup.py): the key of the
    opening hours and zone it was computed for, its counts (JSON) and its waits (packed buckets)."""

    __tablename__ = "report_days"

    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # from 1970-01-05
    clock: Mapped[str] = mapped_column(String(64))
    counts: Mapped[str] = mapped_column(Text)
    claims: Mapped[bytes] = mapped_column(LargeBinary)
    replies: Mapped[bytes] = mapped_column(LargeBinary)


class ReportDirtyRow(Base):
    """The arrival time of a mention inserted, deleted or changed as a report sees it (written by a
    trigger on ``mentions``, migration 0013): its day is rolled up again."""

    __tablename__ = "report_dirty"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(Stamp)


class AuditRow(Base):
    """Append-only record of who did what."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_mention_id", "mention_id"),)  # the purge scrubs a mention's rows

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Stamp)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    mention_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")


class QuarantineRow(Base):
    """An item a source delivered but that could not be stored as a mention (DESIGN.md §3).

    ``payload`` may hold patron text: it is purged on the same schedule as mentions.
    """

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source", "external_id", name="quarantine_source_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(String(64))  # a class name, never an exception message
    payload: Mapped[str] = mapped_column(Text, default="")
    cursor: Mapped[str | None] = mapped_column(Text)
    stream: Mapped[str] = mapped_column(String(255), default="default")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(Stamp)
    told_at: Mapped[datetime | None] = mapped_column(Stamp)


class MetaRow(Base):
    """Installation-wide values shared by every process (e.g. the retention hashing key)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
