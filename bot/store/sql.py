"""Helpers shared by the store modules: the dialect, an INSERT with ON CONFLICT, the cached hot statements."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import AuditRow, CursorRow, MentionRow, OutboxRow


def dialect(session: AsyncSession) -> str:
    """ "postgresql" or "sqlite"."""
    return session.get_bind().dialect.name


def insert_for(dialect_name: str, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)


@cache
def statements(dialect_name: str) -> dict[str, Any]:
    """The hot-path statements, built once per dialect; values come as bound parameters so
    SQLAlchemy compiles each statement once (Core tables, not the ORM's bulk path)."""
    mentions, outbox, cursors = MentionRow.__table__, OutboxRow.__table__, CursorRow.__table__
    insert_mention = (
        insert_for(dialect_name, mentions)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(mentions.c.id)
    )
    cursor = insert_for(dialect_name, cursors)
    cursor = cursor.on_conflict_do_update(
        index_elements=["source", "stream"],
        set_={"value": cursor.excluded.value, "updated_at": cursor.excluded.updated_at},
    )
    enqueue = insert_for(dialect_name, outbox)
    enqueue = enqueue.on_conflict_do_update(
        index_elements=["dedupe_key"],
        set_={
            "version": outbox.c.version + 1,
            "next_attempt_at": enqueue.excluded.next_attempt_at,
            "payload": enqueue.excluded.payload,
        },
    )
    return {
        "mention": insert_mention,
        "cursor": cursor,
        "enqueue": enqueue,
        "audit": insert(AuditRow),
    }
