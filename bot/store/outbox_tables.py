"""The outbox table: every side effect waits here until the relay has done it (DESIGN.md §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import Base, Stamp


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
