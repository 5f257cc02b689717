"""The feeds cursor: first sync without backfill, validators on the last item, nothing lost on a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Mention
from bot.platforms.feeds.cursor import (
    SEEN_LIMIT,
    FeedState,
    dump_cursor,
    load_cursor,
    plan_sync,
    remember,
    seen_key,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def entry(number: int) -> Mention:
    """A mention whose age follows its number (higher is newer)."""
    return Mention(
        source="feeds",
        external_id=f"https://blog.example.com/{number}",
        text=f"post {number}",
        created_at=T0 + timedelta(minutes=number),
        can_reply=False,
    )


def test_first_sync_without_backfill_records_everything_and_yields_no_mention() -> None:
    plan = plan_sync(None, [entry(3), entry(2), entry(1)], etag='"a"', modified=None, backfill=False)
    assert len(plan) == 1
    mention, state = plan[0]
    assert mention is None
    assert state.etag == '"a"'
    assert set(state.seen) == {seen_key(entry(n).external_id) for n in (1, 2, 3)}


def test_first_sync_with_backfill_yields_all_oldest_first_with_validators_on_the_last() -> None:
    plan = plan_sync(None, [entry(3), entry(1), entry(2)], etag='"a"', modified="Sat", backfill=True)
    assert [m.text for m, _ in plan if m] == ["post 1", "post 2", "post 3"]
    assert [(s.etag, s.modified) for _, s in plan] == [(None, None), (None, None), ('"a"', "Sat")]
    assert len(plan[0][1].seen) == 1  # each cursor includes exactly the mentions yielded so far


def test_later_sync_yields_only_new_entries() -> None:
    first = plan_sync(None, [entry(2), entry(1)], etag='"a"', modified=None, backfill=False)[-1][1]
    plan = plan_sync(first, [entry(4), entry(3), entry(2)], etag='"b"', modified=None, backfill=False)
    assert [m.text for m, _ in plan if m] == ["post 3", "post 4"]
    assert plan[-1][1].etag == '"b"'


def test_nothing_new_yields_nothing_unless_the_validators_moved() -> None:
    state = plan_sync(None, [entry(1)], etag='"a"', modified=None, backfill=False)[-1][1]
    assert plan_sync(state, [entry(1)], etag='"a"', modified=None, backfill=False) == []
    ((mention, moved),) = plan_sync(state, [entry(1)], etag='"b"', modified=None, backfill=False)
    assert mention is None
    assert moved.etag == '"b"'


def test_remember_is_bounded_but_keeps_every_current_key() -> None:
    old = tuple(f"old{n}" for n in range(SEEN_LIMIT))
    kept = remember(old, ["new1", "new2"])
    assert len(kept) == SEEN_LIMIT
    assert kept[-2:] == ("new1", "new2")
    assert "old0" not in kept
    huge = [f"k{n}" for n in range(SEEN_LIMIT + 50)]
    assert set(remember(old, huge)) == set(huge)


def test_cursor_round_trip_drops_unconfigured_feeds_and_stores_no_urls() -> None:
    state = plan_sync(None, [entry(1)], etag='"a"', modified="Sat", backfill=False)[-1][1]
    text = dump_cursor(
        {"https://a.example/f": state, "https://gone.example/f": state}, configured=["https://a.example/f"]
    )
    loaded = load_cursor(text)
    assert loaded.trusted
    assert dict(loaded.feeds) == {"https://a.example/f": state}
    assert "blog.example.com" not in text  # entry ids (often patrons' post URLs) are hashed


def test_unreadable_cursor_is_untrusted() -> None:
    for text in ("not json", "[]", '{"v": 99, "feeds": {}}', '{"v": 1}'):
        assert load_cursor(text).trusted is False
    assert load_cursor(None).trusted is True


documents = st.lists(st.lists(st.integers(0, 40), max_size=12), min_size=1, max_size=6)
crashes = st.lists(st.integers(0, 12), min_size=6, max_size=6)


@settings(max_examples=150, deadline=None)
@given(documents, crashes)
def test_nothing_is_lost_across_crashes(docs: list[list[int]], stops: list[int]) -> None:
    """Each sync may stop after any number of stored items; then the same document is fetched again
    (answered 304 if the stored ETag matches).

    Whatever the stops, every entry that appears after the first document is stored exactly
    when it is new, and entries of the first document never are (no backfill).
    """
    stored_state: FeedState | None = None
    stored: set[str] = set()

    def sync(mentions: list[Mention], etag: str, limit: int) -> None:
        nonlocal stored_state
        if stored_state is not None and stored_state.etag == etag:
            return  # the server answers 304 Not Modified
        plan = plan_sync(stored_state, mentions, etag=etag, modified=None, backfill=False)
        for mention, state in plan[:limit]:
            stored_state = state
            if mention is not None:
                stored.add(mention.external_id)

    for index, numbers in enumerate(docs):
        mentions = [entry(n) for n in numbers]
        sync(mentions, f'"{index}"', stops[index])  # crash after `stop` stored items
        sync(mentions, f'"{index}"', len(mentions) + 1)  # the restart fetches the same document
    first = {entry(n).external_id for n in docs[0]}
    later = {entry(n).external_id for numbers in docs[1:] for n in numbers}
    assert stored == later - first
