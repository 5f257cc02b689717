"""Every table of DESIGN.md §3 on one metadata (Alembic's target; tests create and empty it)."""

from __future__ import annotations

from bot.store.bookkeeping_tables import MarkRow, MetaRow
from bot.store.fold_tables import FoldCardRow, FoldItemRow, FoldRow
from bot.store.ingest_tables import CursorRow, QuarantineRow
from bot.store.mention_tables import CardRow, MentionRow, MessageRow
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow, ReportDayRow, ReportDirtyRow
from bot.store.rota_tables import CheckinRow, RoleRow, ShiftRow, StaffRow
from bot.store.tables import Base

TABLES = (
    MentionRow,
    RoleRow,
    StaffRow,
    ShiftRow,
    CardRow,
    MessageRow,
    OutboxRow,
    FoldRow,
    FoldItemRow,
    FoldCardRow,
    CheckinRow,
    CursorRow,
    MarkRow,
    ReportDayRow,
    ReportDirtyRow,
    AuditRow,
    QuarantineRow,
    MetaRow,
)
metadata = Base.metadata
