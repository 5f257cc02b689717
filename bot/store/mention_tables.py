"""The tables of a mention: the mention, its card on each desk, the messages it is made of (DESIGN.md §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import Base, Stamp


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
