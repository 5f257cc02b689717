"""Staff ids, role channels and rota `@who` tokens come from each platform's spec: the columns a spec
names exist, a real database gets the same rows as when the core named Slack and Matrix itself, and
the registry reads any token exactly as the old hand-written patterns did."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core import quarantine
from bot.core.directory import Directory
from bot.models import StaffRef
from bot.platforms import REGISTRY, parse_staff_token, role_channel_column, staff_id_columns
from bot.store import cards, outbox
from bot.store.db import Database
from bot.store.rota_tables import RoleRow, StaffRow

from .helpers import NOW, make_service

# The patterns the directory used before the specs held them: the reference the registry must match.
OLD_SLACK_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
OLD_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
OLD_MATRIX_ID = re.compile(r"^@[^:\s]+:\S+$")


def old_reading(token: str) -> tuple[str, str, str] | None:
    """What the old ``ensure_token`` made of a (stripped) token: (desk, user id, display) or None."""
    slack = OLD_SLACK_MENTION.match(token)
    bare = slack.group(1) if slack else token
    if slack or OLD_SLACK_ID.match(bare):
        return ("slack", bare, bare)
    if OLD_MATRIX_ID.match(bare):
        return ("matrix", bare, bare[1:].split(":", 1)[0])
    return None


def test_every_spec_names_columns_the_tables_have() -> None:
    assert staff_id_columns() == {"slack": "slack_user_id", "matrix": "matrix_user_id"}
    for name, spec in REGISTRY.items():
        if spec.staff_id_column is not None:
            assert spec.staff_id_column in StaffRow.__table__.columns, name
            assert spec.staff_token is not None, name  # a desk with ids can read them in a rota
            # the rules file's person and the staff row keep the id under the same name
            person = SimpleNamespace(**{spec.staff_id_column: "ID-1"})
            assert spec.staff_id is not None and spec.staff_id(person) == "ID-1", name
        if spec.role_channel_column is not None:
            assert spec.role_channel_column in RoleRow.__table__.columns, name
            role = SimpleNamespace(**{spec.role_channel_column: "CH-1"})
            assert spec.role_channel is not None and spec.role_channel(role) == "CH-1", name


# near misses: ids a character too short or long, a mention or Matrix id cut off or padded
NEAR = st.one_of(
    st.from_regex(r"\A<?@?[UW][A-Z0-9a-z]{0,8}[|>]?\Z"),
    st.from_regex(r"\A@[a-z:]{0,4}\s?\Z"),
    st.text(alphabet="UWA09@:<>|! \n", max_size=12),
)


@given(
    st.one_of(
        st.text(),
        NEAR,
        st.from_regex(OLD_SLACK_MENTION),
        st.from_regex(OLD_MATRIX_ID),
        st.from_regex(OLD_SLACK_ID),
    )
)
@example("U0ABCD")  # one character short of a Slack id
@example("@ann:")  # a Matrix id without its server
def test_the_registry_reads_a_rota_token_as_the_old_patterns_did(token: str) -> None:
    assert parse_staff_token(token) == old_reading(token)


@pytest.mark.parametrize(
    ("token", "desk", "user_id", "display"),
    [
        ("<@U0ABCDEF1|ann>", "slack", "U0ABCDEF1", "U0ABCDEF1"),
        ("U0BCDEFGH", "slack", "U0BCDEFGH", "U0BCDEFGH"),
        (" @ann:example.org ", "matrix", "@ann:example.org", "ann"),
    ],
)
async def test_a_rota_token_makes_the_row_with_its_desks_id(
    database: Database, token: str, desk: str, user_id: str, display: str
) -> None:
    directory = Directory()
    async with database.transaction() as session:
        row = await directory.ensure_token(session, token)
    column = staff_id_columns()[desk]
    assert (getattr(row, column), row.display_name) == (user_id, display)
    others = [c.name for c in StaffRow.__table__.columns if c.name.endswith("_user_id") and c.name != column]
    assert all(getattr(row, c) is None for c in others)
    fresh = Directory()
    async with database.transaction() as session:
        await fresh.load(session)
    assert fresh.find(token) is not None and fresh.find(token).key == row.key  # type: ignore[union-attr]
    assert fresh.by_ref(StaffRef(desk, user_id)) is not None
    assert fresh.refs((row.key,)) == (StaffRef(desk, user_id, display),)


async def test_a_plain_name_and_a_console_operator_are_keys(database: Database) -> None:
    directory = Directory()
    async with database.transaction() as session:
        named = await directory.ensure_token(session, "@Bea Baker")
        operator = await directory.ensure(session, StaffRef("console", "desk-1", "Operator"))
    assert named.key == "bea-baker" and (named.slack_user_id, named.matrix_user_id) == (None, None)
    assert operator.key == "desk-1"
    assert directory.refs((named.key, operator.key)) == ()


async def test_a_roles_channel_is_read_from_the_desks_column(database: Database) -> None:
    async with database.transaction() as session:
        session.add(RoleRow(key="local", slack_channel="C0LOCAL1", matrix_room="!local:example.org"))
    async with database.transaction() as session:
        assert await cards.role_channel(session, "local", role_channel_column("slack")) == "C0LOCAL1"
        assert (
            await cards.role_channel(session, "local", role_channel_column("matrix")) == "!local:example.org"
        )
        assert await cards.role_channel(session, "local", role_channel_column("console")) == ""
        assert await cards.role_channel(session, "nobody", role_channel_column("slack")) == ""
        with pytest.raises(ValueError, match="no column"):
            await cards.role_channel(session, "local", "no_such_column")


@pytest.mark.parametrize(
    ("source", "label"),
    [("bluesky", "Bluesky"), ("mastodon", "Mastodon"), ("matrix", "Matrix"), ("slack", "Slack")],
)
def test_the_quarantine_notice_keeps_its_wording(source: str, label: str) -> None:
    assert quarantine.notice(source) == (
        f"An item from {label} could not be stored and was set aside, with any more from {label} "
        "this hour. `patron-desk quarantine list` shows them; `patron-desk quarantine retry --all` "
        "tries them again."
    )


async def test_a_notice_skips_the_chat_desks_that_do_not_know_the_person(database: Database) -> None:
    service = await make_service(database, desks=("slack", "matrix", "console"))
    async with database.transaction() as session:
        await service.notify(session, "alice", "Your reply was not published.", now=NOW)
    queued: dict[str, list[str]] = {}
    async with database.transaction() as session:
        for desk in ("slack", "matrix", "console"):
            queued[desk] = [
                json.loads(r.payload)["user_id"] for r in await outbox.due(session, target=desk, now=NOW)
            ]
    # alice has a Slack id and no Matrix id; the console desk names people by key
    assert queued == {"slack": ["UALICE1"], "matrix": [], "console": ["alice"]}
