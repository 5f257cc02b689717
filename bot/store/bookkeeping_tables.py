"""Installation bookkeeping: timer marks done once, and values every process shares (DESIGN.md §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import Base, Stamp


class MarkRow(Base):
    """Timer bookkeeping: a (kind, key) done once (a handover digest, a day's coverage warning)."""

    __tablename__ = "marks"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(Stamp)


class MetaRow(Base):
    """Installation-wide values shared by every process (e.g. the retention hashing key)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
