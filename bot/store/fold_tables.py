"""The tables of summary cards: a fold, the items folded into it, and its card on each desk (DESIGN.md §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import Base, Stamp


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
