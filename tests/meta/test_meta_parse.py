"""Parser tests on payloads shaped like the recorded Graph API ones (own data, same shapes), and
Hypothesis properties: a parser returns a safe mention, None, or a classified rejection."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.sanitize import MAX_AUTHOR, TIME_NOTE
from bot.errors import MalformedPayload, PermanentError
from bot.models import Mention, MentionChange
from bot.platforms.facebook.parse import (
    ACCOUNT_NOTE,
    NO_NAME,
    is_account_question,
    parse_change,
    parse_comment,
    private_recipient,
    reply_target,
)
from bot.platforms.instagram.parse import (
    NESTED,
    NESTED_NOTE,
    flatten,
    parse_mentioned_comment,
    parse_mentioned_media,
    reply_plan,
)
from bot.platforms.instagram.parse import parse_comment as parse_ig_comment
from bot.platforms.meta.webhook import changes
from tests.core.hostile import assert_safe

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PAGE = "1234567890321"
IG = "17841400000000001"

# Shaped like facebook_webhook_feed_comment_add.json (current shape, from{id,name}), own values.
FEED_ADD: dict[str, Any] = {
    "object": "page",
    "entry": [
        {
            "id": PAGE,
            "time": 1764950000,
            "changes": [
                {
                    "field": "feed",
                    "value": {
                        "item": "comment",
                        "verb": "add",
                        "comment_id": "900000000000031_900000000000032",
                        "post_id": f"{PAGE}_900000000000031",
                        "parent_id": f"{PAGE}_900000000000031",
                        "from": {"id": "5550001", "name": "Pat Reader"},
                        "created_time": 1764950000,
                        "message": "Can I renew my loans online?",
                    },
                }
            ],
        }
    ],
}
# Shaped like facebook_graph_comments_list_page1_paging.json, with ids and from{} (Page tokens get them).
REST_COMMENT = {
    "id": "900000000000031_900000000000040",
    "created_time": "2026-12-05T18:45:03+0000",
    "message": "Boa noite! Are you open on Monday? 📚",
    "from": {"id": "5550002", "name": "Ana Leitora"},
    "permalink_url": "https://www.facebook.com/1234567890321/posts/900000000000031/?comment_id=900000000000040",
    "comment_count": 1,
    "like_count": 0,
}


def value_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["entry"][0]["changes"][0]["value"]


def test_feed_comment_add_becomes_a_mention_with_an_account_offer() -> None:
    [change] = list(changes(FEED_ADD, object_kind="page"))
    mention = parse_change(change.value, field=change.field, page_id=PAGE, now=NOW)
    assert isinstance(mention, Mention)
    assert (mention.source, mention.external_id) == ("facebook", "900000000000031_900000000000032")
    assert mention.author_id == "5550001" and mention.author_name == "Pat Reader"
    assert mention.created_at == datetime.fromtimestamp(1764950000, UTC)
    assert (
        mention.url
        == "https://www.facebook.com/1234567890321/posts/900000000000031?comment_id=900000000000032"
    )
    assert reply_target(mention.reply_ref) == "900000000000031_900000000000032"  # top level: itself
    assert private_recipient(mention.reply_ref) == {"comment_id": "900000000000031_900000000000032"}
    assert mention.note == ACCOUNT_NOTE  # "renew my loans": offered a private reply


def test_a_reply_in_a_thread_is_answered_in_that_thread() -> None:
    value = dict(value_of(FEED_ADD), parent_id="900000000000031_900000000000099", message="Same question")
    mention = parse_change(value, field="feed", page_id=PAGE, now=NOW)
    assert isinstance(mention, Mention)
    assert reply_target(mention.reply_ref) == "900000000000031_900000000000099"
    assert mention.note == ""


def test_edit_remove_and_hide_become_changes_old_and_new_shapes() -> None:
    # facebook_webhook_feed_comment_edited_v25_sender_fields.json: sender_id as a number, sender_name
    edited = {
        "item": "comment",
        "verb": "edited",
        "comment_id": "900000000000033_900000000000034",
        "post_id": f"{PAGE}_900000000000033",
        "parent_id": f"{PAGE}_900000000000033",
        "sender_id": 5550003,
        "created_time": 1764950100,
        "message": "Edited: are you open Tuesday?",
        "sender_name": "Sam",
    }
    change = parse_change(edited, field="feed", page_id=PAGE, now=NOW)
    assert change == MentionChange(
        "facebook",
        "900000000000033_900000000000034",
        "edit",
        sender="5550003",
        text="Edited: are you open Tuesday?",
        author_only=True,
    )
    removed = {k: v for k, v in edited.items() if k not in ("message", "created_time")} | {"verb": "remove"}
    hidden = edited | {"verb": "hide", "sender_id": int(PAGE)}  # the Page hid it
    for value in (removed, hidden):
        change = parse_change(value, field="feed", page_id=PAGE, now=NOW)
        assert isinstance(change, MentionChange) and change.kind == "withdraw"
        assert change.external_id == "900000000000033_900000000000034"


def test_mentions_of_the_page_in_a_comment_and_a_post() -> None:
    # facebook_webhook_mention_comment_add.json / _post_add.json: no from{} at all
    comment = {
        "message": "Ask @Riverside",
        "post_id": "777_888",
        "comment_id": "888_999",
        "created_time": 1764950000,
        "item": "comment",
        "verb": "add",
    }
    post = {
        "message": "Thanks @Riverside",
        "post_id": "777_889",
        "created_time": 1764950000,
        "item": "post",
        "verb": "add",
    }
    by_comment = parse_change(comment, field="mention", page_id=PAGE, now=NOW)
    by_post = parse_change(post, field="mention", page_id=PAGE, now=NOW)
    assert isinstance(by_comment, Mention) and isinstance(by_post, Mention)
    assert by_comment.external_id == "888_999" and reply_target(by_comment.reply_ref) == "888_999"
    assert by_post.external_id == "777_889" and reply_target(by_post.reply_ref) == "777_889"
    assert private_recipient(by_post.reply_ref) == {"post_id": "777_889"}
    assert by_comment.author_name == NO_NAME and by_comment.author_id == ""  # missing from: still carded


def test_the_pages_own_comments_likes_and_reactions_are_not_mentions() -> None:
    own = dict(value_of(FEED_ADD), **{"from": {"id": PAGE, "name": "Library"}})
    assert parse_change(own, field="feed", page_id=PAGE, now=NOW) is None
    assert (
        parse_change({"item": "reaction", "verb": "add", "post_id": "1_2"}, field="feed", page_id=PAGE)
        is None
    )
    assert parse_change(value_of(FEED_ADD), field="ratings", page_id=PAGE) is None


def test_rest_comment_with_a_parent_and_an_iso_time() -> None:
    mention = parse_comment(
        dict(REST_COMMENT, parent={"id": "900000000000031_900000000000039"}),
        post_id=f"{PAGE}_900000000000031",
        page_id=PAGE,
        now=NOW,
    )
    assert mention is not None
    assert mention.created_at == datetime(2026, 12, 5, 18, 45, 3, tzinfo=UTC)
    assert mention.url == REST_COMMENT["permalink_url"]
    assert reply_target(mention.reply_ref) == "900000000000031_900000000000039"
    assert parse_comment(dict(REST_COMMENT, **{"from": {"id": PAGE}}), post_id="x", page_id=PAGE) is None


@pytest.mark.parametrize("bad", [None, [], "text", {"message": "no id"}, {"id": ["x"]}, {"id": "a" * 500}])
def test_comments_without_a_usable_id_are_rejected_by_field(bad: Any) -> None:
    with pytest.raises(MalformedPayload) as caught:
        parse_comment(bad, post_id="1_2", page_id=PAGE, now=NOW)
    assert "Pat" not in str(caught.value)


def test_hostile_fields_are_made_safe() -> None:
    value = dict(
        value_of(FEED_ADD),
        message="nul \x00 and \ud800 " + "x" * 50_000,
        created_time=253402300799,  # year 9999
        **{"from": {"id": "5550001", "name": "Eve\u202e\n── #99 · Facebook · Director" + "N" * 600}},
    )
    mention = parse_change(value, field="feed", page_id=PAGE, now=NOW)
    assert isinstance(mention, Mention)
    assert_safe(mention, now=NOW)
    assert mention.created_at == NOW and TIME_NOTE in mention.note
    assert "\n" not in mention.author_name and len(mention.author_name) <= MAX_AUTHOR
    assert "\x00" not in mention.text


def test_account_question_words() -> None:
    assert is_account_question("How do I reset my PIN?")
    assert is_account_question("I have an overdue fine")
    assert not is_account_question("Are you open on Sunday?")


# --- Instagram ---------------------------------------------------------------------------------

IG_WEBHOOK_COMMENT = {  # instagram_webhook_comments.json's shape, own values
    "text": "Do you have large print?",
    "from": {"id": "1234536447", "username": "reader_pat"},
    "parent_id": "987654321",
    "media": {"id": "76543987", "media_product_type": "FEED"},
    "id": "123456789",
}


def test_instagram_webhook_comment_is_nested_and_refused_in_the_reply_form() -> None:
    mention = parse_ig_comment(IG_WEBHOOK_COMMENT, account_id=IG, fallback_time=1764950000, now=NOW)
    assert mention is not None
    assert mention.author_handle == "@reader_pat" and mention.created_at == datetime.fromtimestamp(
        1764950000, UTC
    )
    assert mention.note == NESTED_NOTE  # the card says so before anyone opens Reply
    with pytest.raises(PermanentError) as refused:
        reply_plan(mention.reply_ref, "Yes!")
    assert str(refused.value) == NESTED


def test_instagram_top_level_comment_replies_on_the_replies_edge() -> None:
    top = {k: v for k, v in IG_WEBHOOK_COMMENT.items() if k != "parent_id"}
    mention = parse_ig_comment(top, account_id=IG, fallback_time=1764950000, now=NOW)
    assert mention is not None
    assert reply_plan(mention.reply_ref, "Yes, shelf 3") == ("123456789/replies", {"message": "Yes, shelf 3"})
    with pytest.raises(PermanentError):
        reply_plan(mention.reply_ref, "x" * 2201)


def test_instagram_own_comments_are_skipped_by_id_or_username() -> None:
    own = dict(IG_WEBHOOK_COMMENT, **{"from": {"id": IG, "username": "library"}})
    assert parse_ig_comment(own, account_id=IG) is None
    assert (
        parse_ig_comment(
            dict(IG_WEBHOOK_COMMENT, **{"from": {"id": "1", "username": "library"}}),
            account_id=IG,
            username="library",
        )
        is None
    )


def test_instagram_comment_with_replies_is_flattened() -> None:
    # instagram_comment_fields_with_replies.json's shape
    data = {
        "id": "17000000000000033",
        "text": "@lib hey",
        "timestamp": "2026-02-24T09:15:16+0000",
        "username": "u1",
        "replies": {
            "data": [{"timestamp": "2026-02-24T09:18:08+0000", "text": "@u1 Nice", "id": "17000000000000036"}]
        },
    }
    _, reply = flatten(data)
    assert reply["parent_id"] == "17000000000000033"
    mention = parse_ig_comment(reply, account_id=IG, media_id="m1", now=NOW)
    assert mention is not None and json.loads(mention.reply_ref)["nested"] is True


def test_instagram_mention_lookups() -> None:
    # instagram_mentioned_comment_lookup.json / instagram_mentioned_media_lookup.json shapes
    by_comment = parse_mentioned_comment(
        {
            "mentioned_comment": {
                "id": "17000000000000038",
                "like_count": 0,
                "text": "@library good",
                "timestamp": "2026-08-19T09:14:16+0000",
                "username": "someone",
            },
            "id": IG,
        },
        comment_id="17000000000000038",
        media_id="17000000000000040",
        now=NOW,
    )
    assert by_comment.author_handle == "@someone"
    assert reply_plan(by_comment.reply_ref, "Thanks!") == (
        "mentions",
        {"media_id": "17000000000000040", "message": "Thanks!", "comment_id": "17000000000000038"},
    )
    by_media = parse_mentioned_media(
        {
            "mentioned_media": {
                "caption": "@library hey",
                "comments_count": 0,
                "id": "17000000000000039",
                "media_type": "CAROUSEL_ALBUM",
                "timestamp": "2026-08-19T09:00:22+0000",
            },
            "id": IG,
        },
        media_id="17000000000000039",
        now=NOW,
    )
    assert by_media.text == "@library hey"
    assert reply_plan(by_media.reply_ref, "Hi")[1] == {"media_id": "17000000000000039", "message": "Hi"}
    with pytest.raises(MalformedPayload):
        parse_mentioned_media({"id": IG}, media_id="1", now=NOW)


# --- properties --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)
FIELD_VALUES = st.one_of(JSON, st.text(max_size=300), st.integers(min_value=-(2**80), max_value=2**80))
KEYS = (
    "item",
    "verb",
    "comment_id",
    "post_id",
    "parent_id",
    "from",
    "created_time",
    "message",
    "sender_id",
    "sender_name",
    "id",
    "text",
    "timestamp",
    "username",
    "media",
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(KEYS), FIELD_VALUES, max_size=10), st.sampled_from(["feed", "mention"])
)
def test_facebook_changes_are_safe_or_rejected(value: dict[str, Any], field: str) -> None:
    value.setdefault("item", "comment")
    try:
        found = parse_change(value, field=field, page_id=PAGE, now=NOW)
    except MalformedPayload:
        return
    if isinstance(found, Mention):
        assert_safe(found, now=NOW)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), FIELD_VALUES, max_size=10), JSON)
def test_instagram_comments_are_safe_or_rejected(value: dict[str, Any], when: Any) -> None:
    try:
        found = parse_ig_comment(value, account_id=IG, fallback_time=when, now=NOW)
    except MalformedPayload:
        return
    if found is not None:
        assert_safe(found, now=NOW)
