"""Trust boundaries (DESIGN.md §6.10): the gate's staff rule, the console's identity, and who may change
a patron's words (an edit keeps the text before it until retention purges it)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import PatronDesk
from bot.config import Settings
from bot.core import retention
from bot.core.authz import NOT_STAFF, Facts, Gate, Place, is_staff, may_approve, may_change
from bot.models import Claim, DeskQuery, MentionChange, StaffAction, StaffRef
from bot.platforms.console.desk import ConsoleDesk
from bot.routing.rules import StaffSpec
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.report_tables import AuditRow
from bot.views import ActionResult
from tests.core.state import snapshot
from tests.fakes.recording import FakeSource
from tests.waiting import until

from .helpers import NOW, RULES, make_service, mention

ids = st.text(alphabet="UW0123456789ABC@:.x", max_size=8)


@given(user=ids, listed=st.frozensets(ids, max_size=3), manager=st.booleans(), group=st.booleans())
def test_staff_rule(user: str, listed: frozenset[str], manager: bool, group: bool) -> None:
    """Listed, manager or group member: staff. Channel members only when nothing else names staff."""
    for in_group, in_room in ((True, None), (False, True), (None, True), (None, None), (False, False)):
        facts = Facts(manager=manager, group=group, in_group=in_group, in_room=in_room)
        named = bool(listed) or group
        want = bool(user) and (
            user in listed or manager or in_group is True or (not named and in_room is True)
        )
        assert is_staff(user, facts, listed=listed) is want


@dataclass
class StubRoster:
    """A roster whose lookups fail or answer as told (the gate must deny on anything unknown)."""

    desk: str = "slack"
    where: str = "the staff channel"
    members: frozenset[str] = frozenset()
    broken: bool = False
    asked: list[str] = field(default_factory=list)

    def place(self, channel: str) -> Place:
        return Place.STAFF if channel == "C0STAFF" else Place.ELSEWHERE

    async def facts(self, user_id: str, *, need_room: bool) -> Facts:
        self.asked.append(user_id)
        if self.broken:
            raise RuntimeError("lookup bug")
        return Facts(in_room=(user_id in self.members) if need_room else None)


async def test_gate_denies_by_default() -> None:
    seen: list[StaffAction] = []

    async def handle(action: StaffAction) -> ActionResult:
        seen.append(action)
        return ActionResult(True, "done")

    gate = Gate([StaffSpec(key="bob", slack_user_id="UBOB")])
    guarded = gate.guard(handle)
    assert (await guarded(Claim(1, StaffRef("slack", "UBOB")))).message == NOT_STAFF  # no roster: no
    roster = StubRoster(members=frozenset({"UCAROL"}))
    gate.add(roster)
    assert (await guarded(Claim(1, StaffRef("slack", "UBOB")))).ok  # listed: no lookup needed
    assert not (await guarded(Claim(1, StaffRef("slack", "UCAROL")))).ok  # the rules file names staff
    assert not (await guarded(Claim(1, StaffRef("slack", "")))).ok  # identity unknown
    assert not (await guarded(Claim(1, StaffRef("matrix", "UBOB")))).ok  # another desk's id
    assert not (await guarded(DeskQuery(StaffRef("slack", "UBOB"), place=""))).ok  # place unknown
    assert (await guarded(DeskQuery(StaffRef("slack", "UBOB"), place="C0STAFF"))).ok
    roster.broken = True
    assert (await guarded(Claim(1, StaffRef("slack", "UNEW")))).message == NOT_STAFF  # a bug: still no
    assert [type(a) for a in seen] == [Claim, DeskQuery]
    assert roster.asked == ["UCAROL", "UNEW"]


async def test_console_operator_is_staff_and_manager(tmp_path: Path) -> None:
    """The console is the operator at the server's terminal: every action is let through."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/console.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
    )
    reader, out = asyncio.StreamReader(), io.StringIO()
    lines = [
        "claim 1",
        "release 1",
        "reply 2 We open at nine.",
        "resolve 3",
        "reassign 4 circulation",
        "ignore 5",
        "queue",
        "rota now",
        "rota add @bob circulation mon 09:00-10:00",
    ]
    source = FakeSource(items=[(mention(n, f"question {n}"), None) for n in range(1, 6)])
    async with PatronDesk(settings, sources=[source], desks=[ConsoleDesk(input=reader, output=out)]) as app:
        await until(lambda: out.getvalue().count("#5") >= 1)
        await app.wait_idle()
        before = await snapshot(app.db)
        for done, line in enumerate(lines, start=1):
            reader.feed_data(f"{line}\n".encode())
            await until(lambda n=done: _answers(out) >= n)
        after = await snapshot(app.db)
    answers = [line for line in out.getvalue().splitlines() if line.startswith(("✓", "✗"))]
    assert len(answers) == len(lines) and all(a.startswith("✓") for a in answers), answers
    assert len(after["shifts"]) == len(before["shifts"]) + 1


def _answers(out: io.StringIO) -> int:
    return sum(1 for line in out.getvalue().splitlines() if line.startswith(("✓", "✗")))


async def test_only_the_author_changes_a_mention(database: Database) -> None:
    """Finding 3 at the service: edits from others change nothing; the author's edit keeps the old text."""
    db = database
    service = await make_service(db)
    await service.ingest("fake", mention(1, "Can I renew online?"), None)
    patron = "@patron@social.example"
    async with db.transaction() as session:
        row = (await session.execute(select(MentionRow))).scalar_one()
        row.author_id = patron
    before = await snapshot(db)
    for change in (
        MentionChange("fake", "ext-1", "edit", "@someone@else", "Rewritten"),
        MentionChange("fake", "ext-1", "edit", "", "No sender given"),
        MentionChange("fake", "ext-1", "withdraw", "@someone@else"),
        MentionChange("fake", "ext-1", "withdraw", "", moderator=True),
    ):
        await service.apply_change(change)
        assert await snapshot(db) == before, change
    await service.apply_change(MentionChange("fake", "ext-1", "edit", patron, "Can I renew twice?"))
    assert (await service.view(1)).text == "Can I renew twice?"
    await service.apply_change(
        MentionChange("fake", "ext-1", "withdraw", "@mod@social.example", moderator=True)
    )
    assert (await service.view(1)).text == "(withdrawn by its author)"
    audit = await _edit_details(db)
    assert len(audit) == 1 and "Can I renew online?" in audit[0]

    service.clock = lambda: NOW + timedelta(days=400)
    assert (await retention.purge(service, days=365)).mentions == 1
    assert await _edit_details(db) == ["{}"]  # the words before the edit go with the mention


async def _edit_details(db: Database) -> list[str]:
    async with db.transaction() as session:
        rows = await session.execute(select(AuditRow.detail).where(AuditRow.action == "edit"))
        return [str(detail) for detail in rows.scalars()]


def test_platform_vouched_changes() -> None:
    """Mastodon deletes only for the author: no sender to compare; an edit still needs the author."""
    assert may_change(MentionChange("mastodon", "1", "withdraw", author_only=True), "123")
    assert may_change(MentionChange("mastodon", "1", "edit", "123", "x"), "123")
    assert not may_change(MentionChange("mastodon", "1", "edit", "456", "x"), "123")
    assert not may_change(MentionChange("matrix", "$e", "edit", "@mod:x", "x", moderator=True), "@a:x")


# approval (issue 16): (approval, actor, manager, holders of the named role) -> may approve
APPROVALS = [
    ("carol", "carol", False, (), True),  # the staff key named
    ("carol", "bob", False, (), False),  # anyone else on staff
    ("carol", "bob", True, (), True),  # a manager
    ("director", "dan", False, ("dan",), True),  # whoever holds the named role now
    ("director", "dan", False, (), False),  # not on duty for it now
    ("director", "bob", False, ("dan",), False),
    ("", "bob", True, (), False),  # a role without approval holds nothing to approve
    ("carol", "", True, (), False),  # no identity, no decision
]


@pytest.mark.parametrize(("approval", "who", "manager", "holders", "expected"), APPROVALS)
def test_who_may_approve(
    approval: str, who: str, manager: bool, holders: tuple[str, ...], expected: bool
) -> None:
    assert may_approve(approval, who, manager=manager, holders=holders) is expected


async def test_notes_and_tags_are_staff_only() -> None:
    """The authorization matrix for issue 16's notes, tags and READ levels: a stranger reaches nothing."""
    from bot.models import AddNote, Resolve, SetTag

    seen: list[StaffAction] = []

    async def handle(action: StaffAction) -> ActionResult:
        seen.append(action)
        return ActionResult(True, "done")

    gate = Gate([StaffSpec(key="bob", slack_user_id="UBOB")])
    gate.add(StubRoster(members=frozenset({"UCAROL"})))
    guarded = gate.guard(handle)
    for who in ("USTRANGER", "UCAROL", ""):  # unknown, a channel member the rules file does not name, nobody
        actor = StaffRef("slack", who)
        for action in (
            AddNote(1, actor, "hello"),
            SetTag(1, actor, "spam"),
            SetTag(1, actor, "spam", remove=True),
            Resolve(1, actor, read_level=2, directional=True),
        ):
            assert (await guarded(action)).message == NOT_STAFF
    assert seen == []
    bob = StaffRef("slack", "UBOB")
    assert (await guarded(AddNote(1, bob, "hello"))).ok and (await guarded(SetTag(1, bob, "spam"))).ok
    assert [type(a) for a in seen] == [AddNote, SetTag]


def _any_action(cls: type) -> st.SearchStrategy[StaffAction]:
    """Any instance of one staff action, its other fields from their types, by someone."""
    return st.builds(
        cls, actor=st.builds(StaffRef, st.sampled_from(["slack", "matrix"]), st.text(max_size=12))
    )


@given(st.sampled_from(typing.get_args(StaffAction)).flatmap(_any_action))
def test_every_staff_action_from_a_stranger_is_refused_and_reaches_nothing(action: StaffAction) -> None:
    """Invariant 10 for every kind of action (a fold's Claim all, the answers list, a check-in...):
    whatever its fields, an actor the rules file does not name is refused before the service runs."""
    seen: list[StaffAction] = []

    async def handle(action: StaffAction) -> ActionResult:
        seen.append(action)
        return ActionResult(True, "done")

    gate = Gate([StaffSpec(key="bob", slack_user_id="UBOB", matrix_user_id="@bob:example.org")])
    gate.add(StubRoster(members=frozenset({"UCAROL"})))
    if action.actor.user_id in ("UBOB", "@bob:example.org"):
        return  # Bob is staff: not the case under test
    result = asyncio.run(gate.guard(handle)(action))
    assert not result.ok and seen == []


def test_the_union_holds_every_action_with_an_actor() -> None:
    """A new action class outside ``StaffAction`` would miss the test above (and the desks' typing)."""
    import bot.models as models

    with_actor = {
        cls
        for cls in vars(models).values()
        if dataclasses.is_dataclass(cls) and isinstance(cls, type) and "actor" in cls.__dataclass_fields__
    }
    assert with_actor == set(typing.get_args(StaffAction))
