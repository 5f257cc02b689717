"""The quarantine table: items a source delivered that could not be stored, kept for staff to retry or drop.

The payload is the Mention as ASCII-only JSON, so the very values that made the insert fail (NUL, an
unpaired surrogate) are stored as escapes and come back unchanged on retry. It holds patron text:
rows are deleted by the retention purge.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Mention, Visibility
from bot.store import audit
from bot.store.bookkeeping_tables import MarkRow
from bot.store.ingest_tables import QuarantineRow

TOLD = "quarantine_told"  # marks kind: when staff were last told about a source's quarantined items
KEY_SIZE = 512  # QuarantineRow.external_id


@dataclass(frozen=True, slots=True)
class Held:
    """One quarantined item as the CLI lists it (no patron text)."""

    id: int
    source: str
    external_id: str
    reason: str
    attempts: int
    received_at: datetime


def payload(mention: Mention) -> str:
    """The mention as ASCII-only JSON (escapes survive any database)."""
    data = asdict(mention)
    del data["sanitized"]  # not a value of the item (and no constructor takes it)
    data["created_at"] = mention.created_at.isoformat()
    data["visibility"] = mention.visibility.value
    return json.dumps(data, ensure_ascii=True, default=str)


def mention_of(stored: str) -> Mention:
    """The mention back from its payload, values exactly as delivered."""
    data: dict[str, Any] = json.loads(stored)
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    data["visibility"] = Visibility(data["visibility"])
    data["follows"] = tuple(data.get("follows") or ())
    return Mention(**data)


def safe_key(external_id: str) -> str:
    """An external id any database accepts, the same for the same input (the row's unique key).

    Ids with NUL, unpaired surrogates or a backslash are stored JSON-escaped; escaping backslashes
    too keeps two different ids from ever sharing a key.
    """
    try:
        external_id.encode("utf-8")
        clean = "\x00" not in external_id and "\\" not in external_id
    except UnicodeEncodeError:
        clean = False
    key = external_id if clean else json.dumps(external_id, ensure_ascii=True)[1:-1]
    if len(key) <= KEY_SIZE:
        return key
    digest = hashlib.sha256(key.encode("ascii", "backslashreplace")).hexdigest()[:32]
    return f"{key[: KEY_SIZE - 33]}~{digest}"


async def hold(
    session: AsyncSession,
    *,
    source: str,
    mention: Mention,
    reason: str,
    cursor: str | None,
    stream: str,
    now: datetime,
) -> tuple[int, bool]:
    """Insert the item, or count another attempt at it; (row id, True when it is new here)."""
    dialect = session.get_bind().dialect.name
    values = {
        "source": source[:32],
        "external_id": safe_key(mention.external_id),
        "reason": reason[:64],
        "payload": payload(mention),
        "cursor": cursor,
        "stream": stream,
        "attempts": 1,
        "received_at": now,
    }
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(QuarantineRow)
    insert = insert.values(values)
    upsert = insert.on_conflict_do_update(
        index_elements=["source", "external_id"],
        set_={
            "attempts": QuarantineRow.attempts + 1,
            "reason": insert.excluded.reason,
            "payload": insert.excluded.payload,
        },
    ).returning(QuarantineRow.id, QuarantineRow.attempts)
    row_id, attempts = (await session.execute(upsert)).one()
    return int(row_id), attempts == 1


async def claim_telling(session: AsyncSession, *, source: str, now: datetime, quiet: timedelta) -> bool:
    """True for exactly one caller per source per ``quiet`` period (a conditional write decides)."""
    if await audit.mark(session, kind=TOLD, key=source, now=now):
        return True
    stmt = (
        update(MarkRow)
        .where(MarkRow.kind == TOLD, MarkRow.key == source, MarkRow.at <= now - quiet)
        .values(at=now)
    )
    return bool((await session.execute(stmt)).rowcount == 1)  # type: ignore[attr-defined]


async def told(session: AsyncSession, row_id: int, *, now: datetime) -> None:
    """Record that staff were told about this row."""
    await session.execute(update(QuarantineRow).where(QuarantineRow.id == row_id).values(told_at=now))


async def listing(session: AsyncSession) -> list[Held]:
    """Every quarantined item, oldest first."""
    rows = (await session.execute(select(QuarantineRow).order_by(QuarantineRow.id))).scalars()
    return [Held(r.id, r.source, r.external_id, r.reason, r.attempts, r.received_at) for r in rows]


async def get(session: AsyncSession, row_id: int) -> QuarantineRow | None:
    """One row, or None."""
    return await session.get(QuarantineRow, row_id)


async def ids(session: AsyncSession) -> list[int]:
    """The ids of every row, oldest first."""
    return list((await session.execute(select(QuarantineRow.id).order_by(QuarantineRow.id))).scalars())


async def remove(session: AsyncSession, row_ids: list[int]) -> int:
    """Delete rows; how many were there."""
    if not row_ids:
        return 0
    result = await session.execute(delete(QuarantineRow).where(QuarantineRow.id.in_(row_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge_before(session: AsyncSession, cutoff: datetime) -> int:
    """Delete items received before ``cutoff`` (retention: their payload holds patron text)."""
    result = await session.execute(delete(QuarantineRow).where(QuarantineRow.received_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
