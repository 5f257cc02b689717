"""The console as a usable desk: `show N`, `queue` with the patron's text, `iam NAME` with that person's
rights, notices labelled with their addressees and printed once, malformed commands answered plainly."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.service import DeskService
from bot.errors import ConfigError
from bot.models import Claim, DeskQuery, RotaCommand, StaffAction, StaffRef, Status
from bot.platforms.console.desk import ConsoleDesk, parse_line
from bot.platforms.console.identity import OPERATOR_LINE
from bot.store.db import Database
from bot.views import ActionResult
from tests.core.helpers import make_service, mention, rules
from tests.waiting import until

ALICE = StaffRef("console", "alice", "Alice Archer")
BOB = StaffRef("console", "bob", "Bob Baker")


class Typist:
    """A console desk with typed input and captured output, in front of ``on_action``."""

    def __init__(self, on_action: object, **options: object) -> None:
        self.reader = asyncio.StreamReader()
        self.out = io.StringIO()
        self.desk = ConsoleDesk(input=self.reader, output=self.out, staff=rules().staff, **options)  # type: ignore[arg-type]
        self.task = asyncio.create_task(self.desk.serve(on_action))  # type: ignore[arg-type]

    async def type(self, line: str, *, expect: str) -> str:
        """Type ``line``; the output it produced once ``expect`` appears."""
        before = len(self.out.getvalue())
        self.reader.feed_data(line.encode() + b"\n")
        await until(lambda: expect in self.out.getvalue()[before:])
        return self.out.getvalue()[before:]

    def stop(self) -> None:
        self.task.cancel()


@pytest.fixture
async def service(tmp_path: Path) -> object:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/console.db")
    await db.migrate()
    svc = await make_service(db, desks=("console",))
    yield svc
    await db.aclose()


# --- the grammar ---------------------------------------------------------------------------


def test_show_and_queue_are_desk_queries() -> None:
    assert parse_line("show #4") == DeskQuery(parse_line("queue").actor, "show 4")  # type: ignore[union-attr]
    queue = parse_line("queue")
    assert isinstance(queue, DeskQuery) and queue.with_text
    assert "needs the card number" in str(parse_line("show"))
    assert "needs the card number" in str(parse_line("show twelve"))
    assert "no card #0" in str(parse_line("show 0"))


def test_malformed_lines_get_a_plain_answer_and_never_raise() -> None:
    for line in ("show ²", "show " + "9" * 5000, "claim", "reply", "\x00\x1b[2J", "ｓｈｏｗ 3", "rota\x00"):
        assert isinstance(parse_line(line), str | RotaCommand)
    long_verb = str(parse_line("x" * 5000))
    assert "Unknown command" in long_verb and len(long_verb) < 120


def test_the_operator_runs_the_rota_a_person_brings_their_own_rights() -> None:
    assert parse_line("rota add @bob tech mon 09:00-10:00") == RotaCommand(
        parse_line("queue").actor,  # type: ignore[union-attr]
        "add @bob tech mon 09:00-10:00",
        is_manager=True,
    )
    as_bob = parse_line("rota add @bob tech mon 09:00-10:00", BOB, manager=None)
    assert as_bob == RotaCommand(BOB, "add @bob tech mon 09:00-10:00", is_manager=None)


# --- iam / whoami / help -------------------------------------------------------------------


async def test_iam_switches_who_acts_and_refuses_a_stranger() -> None:
    seen: list[StaffAction] = []

    async def on_action(action: StaffAction) -> ActionResult:
        seen.append(action)
        return ActionResult(True, "done")

    typist = Typist(on_action)
    try:
        await until(lambda: "Console desk ready" in typist.out.getvalue())
        assert OPERATOR_LINE in typist.out.getvalue()
        help_text = await typist.type("help", expect="whoami")
        assert "show N" in help_text and "iam NAME" in help_text and "a manager" in help_text
        assert "You act as Bob Baker (bob)" in await typist.type("iam @BOB", expect="You act as")
        await typist.type("claim 3", expect="✓ done")
        assert seen[-1] == Claim(3, BOB)
        await typist.type("rota add @bob tech mon 09:00-10:00", expect="✓ done")
        assert seen[-1] == RotaCommand(BOB, "add @bob tech mon 09:00-10:00", is_manager=None)
        stranger = await typist.type("iam zed", expect="There is no staff member")
        assert "'zed'" in stranger and "Staff: alice, bob." in stranger
        assert "Bob Baker" in await typist.type("whoami", expect="You act as")  # unchanged by the refusal
        huge = await typist.type("iam " + "z" * 5000, expect="There is no staff member")
        assert len(huge) < 200
        assert OPERATOR_LINE in await typist.type("iam", expect="You act as")
        await typist.type("claim 4", expect="✓ done")
        assert seen[-1] == Claim(4, parse_line("queue").actor)  # type: ignore[union-attr]
        assert len(seen) == 3  # iam, whoami and help never reached the service
    finally:
        typist.stop()


def test_acting_as_someone_unknown_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="CONSOLE_STAFF: There is no staff member 'zed'"):
        ConsoleDesk(output=io.StringIO(), staff=rules().staff, act_as="zed")
    desk = ConsoleDesk(output=io.StringIO(), staff=rules().staff, act_as="Alice Archer")
    assert desk.me.ref == ALICE and desk.me.manager is None


# --- with the real service: rights, show, queue -------------------------------------------


async def test_a_person_has_their_own_rights_on_the_rota(service: DeskService) -> None:
    typist = Typist(service.handle)
    try:
        await typist.type("iam bob", expect="You act as")
        denied = await typist.type("rota add @bob circulation mon 09:00-10:00", expect="✗")
        assert "Only rota managers" in denied
        await typist.type("iam alice", expect="You act as")
        allowed = await typist.type("rota add @bob circulation mon 09:00-10:00", expect="✓")
        assert "Bob Baker holds circulation" in allowed
    finally:
        typist.stop()


async def test_show_reprints_a_card_as_it_stands_and_queue_shows_the_text(service: DeskService) -> None:
    await service.ingest("fake", mention(1, "Can I renew online?\nLine two \x1b[2J"), None)
    await service.ingest("fake", mention(2, "Are you open on Monday? " + "very " * 100), None)
    typist = Typist(service.handle, act_as="alice")
    try:
        await typist.type("claim 1", expect="✓")
        shown = await typist.type("show 1", expect="Claimed by Alice Archer")
        assert "── #1 · fake" in shown and "Can I renew online?" in shown and "reply 1 <text>" in shown
        await typist.type("queue", expect="open mention(s)")
        await until(lambda: "#2 ·" in typist.out.getvalue())
        listing = typist.out.getvalue()[typist.out.getvalue().index("open mention(s)") :]
        lines = listing.splitlines()
        first = lines.index(next(line for line in lines if line.startswith("#1 ·")))
        assert lines[first + 1].strip().startswith("“Can I renew online? Line two ")  # one line
        assert "\x1b" not in listing
        long_line = next(line for line in lines if "Are you open on Monday?" in line)
        assert long_line.rstrip().endswith("…”") and len(long_line) < 120
        missing = await typist.type("show 99", expect="✗")
        assert "no mention #99" in missing
    finally:
        typist.stop()


async def test_show_through_the_desk_query_answers_every_desk_with_a_plain_line(service: DeskService) -> None:
    await service.ingest("fake", mention(1), None)
    result = await service.handle(DeskQuery(StaffRef("slack", "UALICE1"), "show 1"))
    assert result.ok and result.view is not None and result.view.status is not Status.CLAIMED
    assert result.message.startswith("#1: ")
    plain = await service.handle(DeskQuery(StaffRef("slack", "UALICE1")))
    assert "Can I renew" not in plain.message  # chat desks list no patron text unless they ask
    bad = await service.handle(DeskQuery(StaffRef("slack", "UALICE1"), "show me"))
    assert not bad.ok and "show 3" in bad.message


# --- notices ---------------------------------------------------------------------------------


async def test_one_notice_for_several_people_prints_once_with_every_name() -> None:
    out = io.StringIO()
    desk = ConsoleDesk(output=out, staff=rules().staff, act_as="bob", notice_delay=60)
    text = "#3 is past its time and nobody has claimed it."
    await desk.tell(ALICE, text)
    await desk.tell(BOB, text)
    await desk.tell(ALICE, text)
    await desk.tell(StaffRef("console", "carol", "Carol Chen"), "Your reply to #2 was not published.")
    assert out.getvalue() == ""  # waiting for the same text to others
    desk.notices.flush()
    assert out.getvalue().splitlines() == [
        f"» to Alice Archer, you: {text}",
        "» to Carol Chen: Your reply to #2 was not published.",
    ]


async def test_notices_print_on_their_own_and_before_the_next_card() -> None:
    out = io.StringIO()
    desk = ConsoleDesk(output=out, notice_delay=0.01)
    await desk.tell(ALICE, "first \x1b[31mred")
    await until(
        lambda: "» to Alice Archer: first [31mred" in out.getvalue()
    )  # no escape reaches the terminal
    slow = ConsoleDesk(output=out, notice_delay=60)
    await slow.tell(BOB, "before the card")
    await slow.announce("Daily duty: Alice on social media.")
    value = out.getvalue()
    assert value.index("» to Bob Baker: before the card") < value.index("📣 Daily duty")


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.sampled_from(["show", "iam", "queue", "claim", "reply", "rota"]).flatmap(
        lambda verb: st.text(max_size=80).map(lambda rest: f"{verb} {rest}")
    )
)
def test_any_typed_line_is_an_action_or_a_short_plain_answer(line: str) -> None:
    parsed = parse_line(line)
    if isinstance(parsed, str):
        assert 0 < len(parsed) < 1500  # a message (the help is the longest), never an exception
    else:
        assert parsed.actor == parse_line("queue").actor  # type: ignore[union-attr]
    found = ConsoleDesk(output=io.StringIO(), staff=rules().staff).staff.identity(line)
    assert isinstance(found, str) or found.ref.user_id in ("console", "alice", "bob")
