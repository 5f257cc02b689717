"""Staff rows written so any number of processes can create the same person at once.

Every write is ``INSERT … ON CONFLICT``: two workers (or a worker and the CLI) that meet the same
person for the first time both succeed, and both then read the one row that won. Nothing here
reads first and inserts after (that is the race that ended the bot with a unique-key error).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routing.rules import StaffSpec
from bot.store.rota_tables import StaffRow
from bot.store.sql import insert_for as _insert

ADMINISTRATOR = "administrator"  # the CLI's fixed staff key (it runs the server, so it manages the rota)
KEY_LENGTH = 128  # staff.key is VARCHAR(128)
NAME_LENGTH = 255  # staff.display_name is VARCHAR(255)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def add_staff(
    session: AsyncSession,
    *,
    key: str,
    display_name: str,
    slack_user_id: str | None = None,
    matrix_user_id: str | None = None,
) -> None:
    """Insert a (non-manager) staff row unless its key or chat identity exists already."""
    values = {
        "key": key[:KEY_LENGTH],
        "display_name": display_name[:NAME_LENGTH],
        "slack_user_id": slack_user_id,
        "matrix_user_id": matrix_user_id,
        "is_manager": False,
        "active": True,
    }
    # no conflict target: a clash on any unique column (key, Slack id, Matrix id) is a no-op
    stmt = _insert(_dialect(session), StaffRow.__table__).values(**values).on_conflict_do_nothing()
    await session.execute(stmt)


async def find_staff(
    session: AsyncSession, *, key: str | None = None, column: str | None = None, user_id: str | None = None
) -> StaffRow | None:
    """The row whose id ``column`` (``slack_user_id``, ...) holds ``user_id``, else the row with this
    key, fresh from the database."""
    if column is not None:
        if column not in StaffRow.__table__.columns:
            raise ValueError(f"staff has no column {column!r}")
        where = StaffRow.__table__.columns[column] == user_id
    else:
        where = StaffRow.key == (key or "")
    stmt = select(StaffRow).where(where).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def ensure_administrator(session: AsyncSession) -> None:
    """Create the CLI's administrator row once (a manager); later calls find it unchanged."""
    values = {"key": ADMINISTRATOR, "display_name": "administrator", "is_manager": True, "active": True}
    stmt = _insert(_dialect(session), StaffRow.__table__).values(**values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


async def upsert_listed(session: AsyncSession, staff: Iterable[StaffSpec]) -> None:
    """Make the rules file's ``[[staff]]`` true in the table, atomically per person.

    The rules file wins a chat identity: if a row made from chat holds the Slack or Matrix id the
    file gives to another key, that row lets go of it first (otherwise the upsert would clash).
    """
    table = StaffRow.__table__
    for spec in staff:
        for column, value in (("slack_user_id", spec.slack_user_id), ("matrix_user_id", spec.matrix_user_id)):
            if value:
                col = getattr(StaffRow, column)
                await session.execute(
                    update(StaffRow)
                    .where(col == value, StaffRow.key != spec.key)
                    .values({column: None})
                    .execution_options(synchronize_session=False)
                )
        values: dict[str, Any] = {
            "key": spec.key,
            "display_name": (spec.name or spec.key)[:NAME_LENGTH],
            "slack_user_id": spec.slack_user_id or None,
            "matrix_user_id": spec.matrix_user_id or None,
            "is_manager": spec.manager,
            "active": True,
        }
        stmt = _insert(_dialect(session), table).values(**values)
        excluded = stmt.excluded
        changes = {
            "display_name": excluded.display_name,
            "is_manager": excluded.is_manager,
            "active": excluded.active,
            # an id the file leaves out keeps the one learnt from chat
            "slack_user_id": func.coalesce(excluded.slack_user_id, table.c.slack_user_id),
            "matrix_user_id": func.coalesce(excluded.matrix_user_id, table.c.matrix_user_id),
        }
        await session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=changes))


async def all_staff(session: AsyncSession) -> list[StaffRow]:
    """Every staff row, detached (see ``detach``)."""
    return [detach(session, row) for row in (await session.execute(select(StaffRow))).scalars()]


def detach(session: AsyncSession, row: StaffRow) -> StaffRow:
    """Take a row out of its session for a cache: a rollback there would expire it, and an expired
    row outside its session raises on every read (the cache outlives the transaction that loaded it)."""
    session.expunge(row)
    return row
