"""Data errors are told from connection errors by class and SQLSTATE; a quarantined payload comes back
exactly as delivered, whatever its characters; the quarantine key fits any database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import (
    TimeoutError as PoolTimeout,
)

from bot.models import Mention, Visibility
from bot.store import faults
from bot.store.quarantine import KEY_SIZE, mention_of, payload, safe_key


class DriverError(Exception):
    """A driver error carrying a SQLSTATE, as asyncpg's do."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("secret patron words")
        self.sqlstate = sqlstate


def wrapped(sqlstate: str, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("INSERT ...", {}, DriverError(sqlstate), connection_invalidated=invalidated)


def test_data_errors_are_the_items() -> None:
    assert faults.data_error(wrapped("22021")) == "DriverError"  # NUL
    assert faults.data_error(wrapped("22001")) == "DriverError"  # value too long
    assert faults.data_error(wrapped("23502")) == "DriverError"  # NOT NULL
    assert faults.data_error(DataError("x", {}, Exception())) == "Exception"
    assert faults.data_error(IntegrityError("x", {}, ValueError())) == "ValueError"
    refused = UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    assert faults.data_error(refused) == "UnicodeEncodeError"
    assert faults.data_error(OverflowError()) == "OverflowError"
    assert faults.data_error(StatementError("bind", "INSERT", {}, ValueError())) == "ValueError"


def test_connection_errors_are_not() -> None:
    for exc in (
        OperationalError("x", {}, Exception()),
        InterfaceError("x", {}, Exception()),
        wrapped("22021", invalidated=True),  # the connection went away mid-statement
        wrapped("08006"),  # connection failure
        wrapped("57P01"),  # the server is shutting down
        wrapped("40001"),  # serialization failure: retry as it is
        ConnectionResetError(),
        TimeoutError(),
        RuntimeError("a bug"),
        StatementError("bind", "INSERT", {}, RuntimeError()),
    ):
        assert faults.data_error(exc) is None, exc
    assert faults.connection_error(OperationalError("x", {}, Exception()))
    assert faults.connection_error(wrapped("22021", invalidated=True))
    assert not faults.connection_error(wrapped("22021"))
    # no pooled connection came free within pool_timeout (on SQLite: the one connection held that long)
    assert faults.connection_error(PoolTimeout("QueuePool limit of size 1 overflow 0 reached"))
    assert faults.data_error(PoolTimeout("x")) is None


zones = st.sampled_from([UTC, timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))])
anything = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@given(
    text=anything,
    external_id=anything,
    name=anything,
    when=st.datetimes(timezones=zones),
    visibility=st.sampled_from(list(Visibility)),
)
def test_payload_comes_back_exactly(
    text: str, external_id: str, name: str, when: datetime, visibility: Visibility
) -> None:
    mention = Mention("fake", external_id, text, when, author_name=name, visibility=visibility, url=None)
    stored = payload(mention)
    assert stored.isascii() and "\x00" not in stored  # any database takes it
    assert mention_of(stored) == mention


@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=2000))
def test_safe_key_fits_and_is_stable(external_id: str) -> None:
    key = safe_key(external_id)
    key.encode("utf-8")  # no unpaired surrogate left
    assert "\x00" not in key and len(key) <= KEY_SIZE
    assert safe_key(external_id) == key


@given(anything, anything)
@example("a\\u0000", "a\x00")  # a literal escape and the character it spells
def test_different_ids_never_share_a_key(one: str, other: str) -> None:
    assert (safe_key(one) == safe_key(other)) == (one == other)
