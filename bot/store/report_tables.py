"""The tables of reports and audit: the daily roll-up, the days to roll up again, the audit trail (§3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import Base, Stamp


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
