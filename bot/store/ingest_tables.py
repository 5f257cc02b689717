"""The tables of ingest: where each source stream stopped, and what could not be stored (DESIGN.md §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import Base, Stamp


class CursorRow(Base):
    """Where each source stream stopped."""

    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


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
