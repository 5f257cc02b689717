"""Typed outbox payloads: one builder (``encode``) and one reader (``payload_of``) per kind; a stored row
that cannot be read is that row's error (retried like any failure), never a crash of the relay."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from bot.domain.outbox import (
    PAYLOADS,
    NoPayload,
    NotifyPayload,
    OutboxKind,
    PayloadError,
    ReplyPayload,
    TextPayload,
    encode,
    kind_of,
    payload_as,
    payload_of,
)
from bot.models import Reply, Visibility
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow
from tests.fakes.recording import FakeSource, RecordingDesk

from .helpers import NOW, mention, staff
from .test_relay import pending, setup


def test_encode_keeps_the_shape_rows_already_stored_have() -> None:
    assert encode(ReplyPayload(text="Yes", by="sam")) == {"text": "Yes", "by": "sam"}
    assert encode(ReplyPayload(text="Yes", by="sam", visibility=Visibility.DIRECT)) == {
        "text": "Yes",
        "by": "sam",
        "visibility": "direct",
    }
    notice = NotifyPayload(user_id="U1", display="Sam", text="Hi")
    assert json.dumps(encode(notice)) == '{"user_id": "U1", "display": "Sam", "text": "Hi"}'
    assert encode(TextPayload("Closed now")) == {"text": "Closed now"}
    assert encode(NoPayload()) == {}


def test_rows_stored_by_earlier_versions_read_back() -> None:
    assert payload_of("send_reply", '{"text": "Yes", "by": "sam"}') == ReplyPayload(text="Yes", by="sam")
    assert payload_of("send_reply", '{"text": "Y", "by": "s", "visibility": ""}').visibility is None
    assert payload_of("notify", '{"user_id": "U1", "text": "Hi"}') == NotifyPayload(user_id="U1", text="Hi")
    assert payload_of("post_card", "{}") == NoPayload()
    assert payload_of("update_card", "") == NoPayload()
    assert payload_of("announce", '{"text": "x", "later": 1}') == TextPayload("x")  # extra keys ignored


texts = st.text(max_size=50)
payloads = st.one_of(
    st.builds(NoPayload),
    st.builds(TextPayload, texts),
    st.builds(ReplyPayload, text=texts, by=texts, visibility=st.none() | st.sampled_from(Visibility)),
    st.builds(NotifyPayload, user_id=texts, display=texts, text=texts),
)


@given(payloads, st.sampled_from(OutboxKind))
def test_every_payload_reads_back_as_built(payload: Any, kind: OutboxKind) -> None:
    if PAYLOADS[kind] is not type(payload):
        return
    assert payload_of(kind, json.dumps(encode(payload))) == payload
    assert payload_as(type(payload), kind, json.dumps(encode(payload))) == payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
keys = st.sampled_from(["text", "by", "visibility", "user_id", "display", "other"])
hostile_objects = st.dictionaries(keys, json_values, max_size=5).map(json.dumps)


hostile = st.one_of(st.text(max_size=200), json_values.map(json.dumps), hostile_objects)


@given(st.sampled_from(OutboxKind), hostile)
def test_a_hostile_payload_is_read_or_refused_with_payload_error(kind: OutboxKind, raw: str) -> None:
    error: PayloadError | None = None
    try:
        payload: Any = payload_of(kind, raw)
    except PayloadError as exc:
        error, payload = exc, None
    if error is not None:
        assert str(error).startswith(kind.value)  # names the kind, never the row's text
    else:
        assert isinstance(payload, PAYLOADS[kind])


@pytest.mark.parametrize(
    ("kind", "raw", "says"),
    [
        ("send_reply", "not json", "not JSON"),
        ("send_reply", "[1, 2]", "not a JSON object"),
        ("send_reply", '{"by": "sam"}', "lacks 'text'"),
        ("send_reply", '{"text": 5, "by": "sam"}', "'text' is not text"),
        ("send_reply", '{"text": "x", "by": "s", "visibility": "everyone"}', "unknown visibility"),
        ("send_reply", '{"text": "x", "by": "s", "visibility": ["direct"]}', "unknown visibility"),
        ("notify", '{"user_id": null, "text": "x"}', "'user_id' is not text"),
        ("announce", "[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
)
def test_what_is_wrong_is_named(kind: str, raw: str, says: str) -> None:
    with pytest.raises(PayloadError, match=says):
        payload_of(kind, raw)


def test_an_unknown_kind_or_the_wrong_type_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="unknown outbox kind"):
        kind_of("send_fax")
    with pytest.raises(PayloadError, match="unknown outbox kind"):
        payload_of("send_fax", "{}")
    with pytest.raises(PayloadError, match="carry no ReplyPayload"):
        payload_as(ReplyPayload, "announce", '{"text": "x"}')


async def test_a_row_with_a_hostile_payload_is_retried_and_holds_up_nothing(database: Database) -> None:
    desk, source = RecordingDesk(), FakeSource()
    relay, _ = await setup(database, desk, source)
    for n in (1, 2):
        await relay.service.ingest("fake", mention(n), None)
        await relay.service.handle(Reply(n, staff(1), f"Answer {n}"))
    async with database.transaction() as session:
        first = OutboxRow.kind == "send_reply", OutboxRow.mention_id == 1
        await session.execute(update(OutboxRow).where(*first).values(payload='{"text": ["x"], "by": 1}'))
        fax = {"kind": "send_fax", "target": "fake", "dedupe_key": "fax:1", "payload": "{}"}
        session.add(OutboxRow(**fax, next_attempt_at=NOW, created_at=NOW))
    assert await relay.drain("fake") == 3  # no exception escapes the relay
    assert [text for _, text in source.replies.values()] == ["Answer 2"]
    bad = {row.kind: row for row in await pending(database) if row.target == "fake"}
    assert set(bad) == {"send_reply", "send_fax"}
    assert all(row.state == "pending" and row.attempts == 1 for row in bad.values())
    assert {row.last_error for row in bad.values()} == {"PayloadError"}
