"""The tables of the rota: roles, staff, weekly shifts and each shift's check-in (DESIGN.md §3)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import Base, Stamp


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
