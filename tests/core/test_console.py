"""The console desk: typed lines become staff actions; cards and answers are printed."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

from bot.core.cards import console_card
from bot.models import Claim, DeskQuery, Reassign, Reply, RotaCommand, StaffAction, Status, Visibility
from bot.platforms.console.desk import HELP, ConsoleDesk, parse_line
from bot.views import ActionResult, TicketView
from tests.waiting import until


def view(**changes: object) -> TicketView:
    base: dict[str, object] = {
        "mention_id": 7,
        "source": "mastodon",
        "author_handle": "@reader@social.example",
        "author_name": "Reader",
        "text": "Is the library open on Sunday?",
        "url": "https://social.example/@reader/1",
        "role": "social-media",
        "rule": "default",
        "reason": "",
        "on_duty": ("Alice Archer",),
        "status": Status.POSTED,
    }
    base.update(changes)
    return TicketView(**base)  # type: ignore[arg-type]


def test_lines_become_actions() -> None:
    assert parse_line("claim 3") == Claim(3, parse_line("rota").actor)  # type: ignore[union-attr]
    reply = parse_line("reply #4 Yes, 10 to 4.")
    assert isinstance(reply, Reply) and (reply.mention_id, reply.text) == (4, "Yes, 10 to 4.")
    assert parse_line("reassign 5 @bob") == Reassign(5, reply.actor, person="@bob")
    assert parse_line("reassign 5 tech") == Reassign(5, reply.actor, role="tech")
    rota = parse_line("rota add @a tech mon 09:00-10:00")
    assert isinstance(rota, RotaCommand) and rota.is_manager and rota.text == "add @a tech mon 09:00-10:00"
    assert isinstance(parse_line("queue"), DeskQuery)


def test_bad_lines_say_what_to_do() -> None:
    assert parse_line("help") == HELP
    assert "card number" in str(parse_line("claim x"))
    assert "Unknown command 'clam'" in str(parse_line("clam 3"))
    assert "Write the answer" in str(parse_line("reply 3"))


def test_card_shows_duty_rule_link_and_next_step() -> None:
    text = console_card(view())
    assert "#7 · Mastodon · Reader (@reader@social.example)" in text
    assert "on duty: Alice Archer" in text and "rule default" in text
    assert "link: https://social.example/@reader/1" in text and "claim 7" in text


def test_card_neutralises_terminal_tricks() -> None:
    text = console_card(view(text="hi\x1b[2J\u202egnp.exe\u202c", visibility=Visibility.DIRECT))
    assert "\x1b" not in text and "\u202e" not in text and "PRIVATE MESSAGE" in text
    assert len(console_card(view(text="x" * 100_000))) < 2_000


def test_feed_card_offers_mark_handled_not_reply() -> None:
    text = console_card(view(source="feeds", can_reply=False))
    assert "mark handled" in text and "reply 7" not in text


async def test_serve_runs_commands_and_prints_answers() -> None:
    reader = asyncio.StreamReader()
    out = io.StringIO()
    desk = ConsoleDesk(input=reader, output=out)
    seen: list[StaffAction] = []

    async def on_action(action: StaffAction) -> ActionResult:
        seen.append(action)
        return ActionResult(False, "#7 is already claimed by Bob Baker.")

    reader.feed_data(b"claim 7\nnonsense\n")
    reader.feed_eof()
    task = asyncio.create_task(desk.serve(on_action))
    await until(lambda: "Unknown command" in out.getvalue())
    task.cancel()
    assert [type(a) for a in seen] == [Claim]
    assert "✗ #7 is already claimed by Bob Baker." in out.getvalue()
    await desk.post_card(view(created_at=datetime.now(UTC)), channel="", dedupe_key="k")
    assert "#7 · Mastodon" in out.getvalue()


def test_hostile_lines_are_refused_not_raised() -> None:
    """`claim ²` (a digit to isdigit, not to int), huge numbers and an open quote once ended the desk."""
    assert "card number" in str(parse_line("claim ²"))
    assert "card number" in str(parse_line("claim ١٢"))
    assert "no card #99999999999" in str(parse_line("claim 99999999999"))
    assert "no card" in str(parse_line("resolve " + "9" * 5000))
    assert parse_line("reassign 3 'tech") == Reassign(3, parse_line("queue").actor, role="'tech")  # type: ignore[union-attr]


async def test_a_failing_action_is_answered_and_the_desk_reads_on() -> None:
    reader = asyncio.StreamReader()
    out = io.StringIO()
    desk = ConsoleDesk(input=reader, output=out)
    seen: list[StaffAction] = []

    async def on_action(action: StaffAction) -> ActionResult:
        seen.append(action)
        if len(seen) == 1:
            raise RuntimeError("patron words that must not be printed or logged")
        return ActionResult(True, "Claimed #8.")

    reader.feed_data(b"claim 7\nclaim 8\n")
    reader.feed_eof()
    task = asyncio.create_task(desk.serve(on_action))
    await until(lambda: "Claimed #8." in out.getvalue())
    assert not task.done()
    task.cancel()
    assert "✗ That did not work and nothing was changed" in out.getvalue()
    assert "patron words" not in out.getvalue()
