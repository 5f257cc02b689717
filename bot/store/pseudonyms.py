"""Keyed hashes of platform ids: what a purged mention keeps, so a re-delivery is still a repeat.

After retention, ``mentions.external_id`` must not identify anyone (a Bluesky ``at://did:plc:…``
URI, a blog post URL, an e-mail Message-ID with the sender's domain). The purge replaces it with
``h:`` + HMAC-SHA256(installation key, source NUL external id). The same platform id always gives
the same pseudonym, so ``mentions.insert`` can still recognise a feed re-fetch or a catch-up that
delivers a purged post again; without the key, nobody can test a guessed id against it.

The key is made once per installation (``secrets``) and kept in the ``meta`` table, created by an
insert-if-absent so that every process and worker agrees on one key. It is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from sqlalchemy import Delete, Table, bindparam, delete, exists
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.store.bookkeeping_tables import MetaRow
from bot.store.mention_tables import MentionRow
from bot.store.sql import execute_hot

META_KEY = "retention_hmac_key"
PREFIX = "h:"
_CACHE = "patron_desk.retention_key"  # in Connection.info: the key read once per DBAPI connection


def pseudonym(key: bytes, source: str, external_id: str) -> str:
    """The stored form of a purged mention's platform id (66 ASCII characters)."""
    message = f"{source}\x00{external_id}".encode("utf-8", "surrogatepass")
    return PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def ensure_key(conn: Connection) -> bytes:
    """The installation's key, created if absent (sync connection, inside the caller's transaction).

    INSERT … ON CONFLICT DO NOTHING, then a read: of two first uses at once, the second insert
    waits for the first to commit (or, on SQLite, never overlaps it) and then reads the winner's key.
    """
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = make(MetaRow).values(key=META_KEY, value=secrets.token_hex(32))
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
    return _read(conn)  # type: ignore[return-value]  # just inserted or already there


def existing_key(conn: Connection) -> bytes | None:
    """The installation's key if a purge ever made one (None means no id was ever hashed).

    Only committed keys are cached per DBAPI connection: a key never changes once made, and
    this reader never inserts one, so what it sees was committed by a purge.
    """
    cached = conn.info.get(_CACHE)
    if cached is None:
        cached = _read(conn)
        if cached is not None:
            conn.info[_CACHE] = cached
    return cached


def _read(conn: Connection) -> bytes | None:
    value = execute_hot(conn, "meta", {"name": META_KEY})  # ingest reads it per mention until a purge
    return bytes.fromhex(value) if value is not None else None


def drop_if_purged(conn: Connection, new_id: int, source: str, external_id: str) -> bool:
    """Delete the mention just inserted as ``new_id`` if a purged one holds its pseudonym; True then.

    Called after the INSERT … ON CONFLICT DO NOTHING of ``mentions.insert``, in the same
    transaction, and that order is what makes it race-free. A purge hashing this id in another
    transaction either still held the plain id when we inserted (a conflict, so we are not called;
    on PostgreSQL the insert waits for that purge to end) or had committed before our insert, and
    then this later statement sees both its key and its pseudonym. Checking first and inserting
    after could miss a purge committed in between. Before any purge there is no key to check with.
    """
    key = existing_key(conn)
    if key is None:
        return False
    params = {"new_id": new_id, "source": source, "hashed": pseudonym(key, source, external_id)}
    return bool(conn.execute(_drop_repeat(), params).rowcount == 1)


@cache
def _drop_repeat() -> Delete:
    mentions = MentionRow.__table__
    assert isinstance(mentions, Table)
    earlier = mentions.alias("earlier")
    purged = exists().where(
        earlier.c.source == bindparam("source"), earlier.c.external_id == bindparam("hashed")
    )
    return delete(mentions).where(mentions.c.id == bindparam("new_id"), purged)
