"""Tell a database error about one row's values (quarantine it) from a connection error (retry later).

A data error is the item's own: the same values fail the same way on every try, so retrying them
stalls everything behind them. A connection error says nothing about the item: retry it later.
Only class names and SQLSTATE codes are looked at, never messages (they may quote patron text).
"""

from __future__ import annotations

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

DB_ERRORS = (SQLAlchemyError, OSError)  # the database restarting or unreachable

# SQLSTATE classes: 22 data exception (NUL, over-long value, bad encoding, out of range),
# 23 integrity constraint violation (NOT NULL, CHECK, a unique key the statement did not expect).
DATA_STATES = ("22", "23")
# Values the driver refuses before the database sees them: an unpaired surrogate cannot be encoded
# (UnicodeEncodeError, a ValueError), an integer too large for SQLite (OverflowError).
REFUSED_VALUES = (ValueError, OverflowError)


def _sqlstate(exc: DBAPIError) -> str:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else ""


def _driver_class(exc: DBAPIError) -> str:
    """The most specific class name: asyncpg's own error sits behind SQLAlchemy's adapter."""
    inner = exc.orig.__cause__ if exc.orig is not None and exc.orig.__cause__ is not None else exc.orig
    return type(inner).__name__ if inner is not None else type(exc).__name__


def connection_error(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection: worth retrying as it is."""
    # PoolTimeout: no pooled connection came free in time (on SQLite the one connection was held as
    # long as the busy timeout would have waited for the lock, "database is locked" before)
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def data_error(exc: BaseException) -> str | None:
    """The reason class when ``exc`` is about the values of the row being written, else None."""
    if connection_error(exc):
        return None
    if isinstance(exc, DBAPIError):
        if isinstance(exc, DataError | IntegrityError) or _sqlstate(exc)[:2] in DATA_STATES:
            return _driver_class(exc)[:64]
        return None
    if isinstance(exc, StatementError):  # a bind processor refused a value before the database saw it
        return type(exc.orig).__name__[:64] if isinstance(exc.orig, REFUSED_VALUES) else None
    if isinstance(exc, REFUSED_VALUES):
        return type(exc).__name__[:64]
    return None
