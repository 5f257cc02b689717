"""Helpers shared by the store modules: the dialect, an INSERT with ON CONFLICT, the cached hot statements."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.bookkeeping_tables import MetaRow
from bot.store.ingest_tables import CursorRow
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow
from bot.store.tables import UTCDateTime


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
        "meta": select(MetaRow.value).where(MetaRow.key == bindparam("name")),  # read per ingest
    }


class Direct:
    """A hot statement compiled once for a fixed set of keys, run on the driver's own cursor.

    On SQLite's writer thread SQLAlchemy's per-execution work (cache lookup, execution context,
    events, result wrapping) was over half of an ingest's time; this keeps the same SQL and the
    same bind processing (the UTC datetimes, booleans) and skips the rest. Driver errors come back
    as SQLAlchemy's classes with the parameters hidden, so bot/store/faults.py sorts them as before.
    """

    def __init__(self, stmt: Any, dialect_obj: Any, keys: tuple[str, ...]) -> None:
        compiled = stmt.compile(dialect=dialect_obj, column_keys=list(keys))
        self.sql = compiled.string
        fixed = compiled.construct_params(dict.fromkeys(keys))  # e.g. the 1 of `version + 1`
        self.fixed = {name: value for name, value in fixed.items() if name not in keys}
        processors = compiled._bind_processors  # the types' bind processing, as SQLAlchemy applies it
        names = tuple(compiled.positiontup or ())
        self.order: list[tuple[str, Callable[[Any], Any] | None]] = []
        for name in names:
            process = processors.get(name)
            if process is not None and isinstance(compiled.binds[name].type, UTCDateTime):
                process = _STAMPS.setdefault(dialect_obj.name, _last_one(process))  # one for all
            self.order.append((name, process))
        self._pick = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        self._process = [(i, process) for i, (_, process) in enumerate(self.order) if process is not None]

    def args(self, params: dict[str, Any]) -> tuple[Any, ...]:
        """The driver's positional values for ``params`` (keys missing from ``params`` come from
        the statement's own fixed values; one missing from both is a KeyError)."""
        values = self._pick({**self.fixed, **params} if self.fixed else params)
        if not self._process:
            return tuple(values)
        out = list(values)
        for i, process in self._process:
            out[i] = process(out[i])
        return tuple(out)

    def run(self, conn: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
        """Execute (``executemany`` for a list); the driver cursor, to fetch RETURNING rows from."""
        driver = conn.connection.dbapi_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(self.sql, [self.args(p) for p in params])
            else:
                cursor.execute(self.sql, self.args(params))
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                self.sql,
                None,
                exc,
                conn.dialect.loaded_dbapi.Error,
                hide_parameters=True,
                dialect=conn.dialect,
            ) from exc
        return cursor


def _last_one(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A ``UTCDateTime`` bind processor that remembers its last value (by identity) and result.

    An ingest binds the same ``now`` five times (received, due, created twice, the cursor) in
    three statements; its text form is made once. A datetime cannot change, and the pair is one
    tuple, so a second thread never sees one value with another's result.
    """
    last: tuple[Any, Any] = (None, None)

    def remembering(value: Any) -> Any:
        nonlocal last
        if value is None:
            return None
        seen, result = last
        if value is seen:
            return result
        result = process(value)
        last = (value, result)
        return result

    return remembering


_STAMPS: dict[str, Callable[[Any], Any]] = {}  # dialect name -> its remembering UTCDateTime processor


@cache
def direct(dialect_name: str, name: str, keys: tuple[str, ...]) -> Direct:
    """``statements(dialect_name)[name]`` as a ``Direct`` for these keys (built once)."""
    dialect_obj = (postgresql if dialect_name == "postgresql" else sqlite).dialect()
    return Direct(statements(dialect_name)[name], dialect_obj, keys)


def execute_hot(conn: Connection, name: str, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Run one of the hot statements: on SQLite through ``Direct``; elsewhere through SQLAlchemy.
    Returns the first column of the first row (RETURNING), or None."""
    if conn.dialect.name != "sqlite":
        result = conn.execute(statements(conn.dialect.name)[name], params)
        return result.scalar_one_or_none() if result.returns_rows else None
    keys = tuple(params[0] if isinstance(params, list) else params)
    cursor = direct("sqlite", name, keys).run(conn, params)
    row = cursor.fetchone() if cursor.description else None
    cursor.close()
    return None if row is None else row[0]
