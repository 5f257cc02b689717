"""Internal notes, tags, the READ Scale at Resolve and the card's history lines (issue 16, items 2, 3, 7).

A note is staff text for staff: shown on the card, kept in the audit log, purged with the mention, and
never sent to the patron's platform (the fake source records every call it gets).
"""

from __future__ import annotations

import asyncio
import io
import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import PatronDesk
from bot.backoff import Backoff
from bot.config import Settings
from bot.core import retention
from bot.core.relay import Relay
from bot.core.service import DeskService
from bot.domain.history import LINES, history_line
from bot.domain.notes import KEPT, NOTE_LIMIT, notes_of, with_note
from bot.domain.outbox import OutboxKind
from bot.errors import ConfigError
from bot.models import AddNote, Claim, Reassign, Reply, Resolve, SetTag, StaffRef, Status
from bot.platforms import source_platforms
from bot.platforms.console.desk import ConsoleDesk
from bot.platforms.console.lines import parse_line
from bot.routing.rules import load_rules
from bot.store.db import Database
from bot.store.mention_tables import MentionRow
from bot.store.outbox_tables import OutboxRow
from bot.store.report_tables import AuditRow
from bot.views import CardRef
from tests.fakes.recording import FakeSource, RecordingDesk
from tests.waiting import until

from .helpers import NOW, RULES, make_service, mention, staff

KEYWORDS = 'keywords = ["renew", "overdue"]'
ALICE = StaffRef("slack", "UALICE1", "Alice Archer")
BOB = StaffRef("slack", "UBOB001", "Bob Baker")


@dataclass
class ThreadDesk(RecordingDesk):
    """A recording desk that also keeps each card's history lines (a desk with threads)."""

    lines: list[tuple[CardRef, str, str]] = field(default_factory=list)

    async def history(self, ref: CardRef, line: str, *, ping: str = "", key: str = "") -> None:
        self.lines.append((ref, line, ping))


class World:
    """A service on a real database, a relay to a threaded desk and a fake source."""

    def __init__(self, service: DeskService) -> None:
        self.service = service
        self.desk, self.source = ThreadDesk(desk="slack"), FakeSource()
        self.relay = Relay(
            service,
            desks={"slack": self.desk},
            sources={"fake": self.source},
            policy=Backoff(rng=random.Random(1)),
        )

    async def drain(self) -> None:
        for target in ("slack", "fake", "slack"):
            while await self.relay.drain(target):
                pass

    async def act(self, action: object) -> str:
        result = await self.service.handle(action)  # type: ignore[arg-type]
        await self.drain()
        return ("✓ " if result.ok else "✗ ") + result.message


@pytest.fixture
async def world(database: Database) -> World:
    service = await make_service(database, desks=("slack",))  # a desk that knows staff chat ids
    await service.ingest("fake", mention(1, "Is the library open on Sunday?"), None)
    out = World(service)
    await out.drain()
    return out


async def test_a_note_is_shown_audited_and_never_published(world: World, database: Database) -> None:
    said = await world.act(AddNote(1, ALICE, "  Called the patron back; they will visit.  "))
    assert said.startswith("✓") and "staff only" in said
    card = world.desk.updates[-1][1]
    assert card.note_count == 1 and card.notes[0].text == "Called the patron back; they will visit."
    assert card.notes[0].by == "Alice Archer"
    assert world.source.replies == {}  # the fake source was never asked to publish anything
    async with database.transaction() as session:
        audit = (await session.execute(select(AuditRow).where(AuditRow.action == "note"))).scalars().all()
        kinds = (await session.execute(select(OutboxRow.kind))).scalars().all()
    assert [json.loads(a.detail)["text"] for a in audit] == ["Called the patron back; they will visit."]
    assert OutboxKind.SEND_REPLY.value not in kinds
    assert [line for _, line, _ in world.desk.lines] == ["📝 Note by Alice Archer."]


async def test_the_card_keeps_the_latest_notes_and_counts_all(world: World) -> None:
    for n in range(KEPT + 2):
        assert (await world.act(AddNote(1, BOB, f"note {n}"))).startswith("✓")
    card = world.desk.updates[-1][1]
    assert card.note_count == KEPT + 2
    assert [note.text for note in card.notes] == [f"note {n}" for n in range(2, KEPT + 2)]


async def test_hostile_notes_are_refused_plainly(world: World) -> None:
    too_long = await world.act(AddNote(1, ALICE, "x" * (NOTE_LIMIT + 1)))
    assert too_long.startswith("✗") and str(NOTE_LIMIT) in too_long and len(too_long) < 200
    assert (await world.act(AddNote(1, ALICE, " \n\t "))).startswith("✗ The note is empty")
    assert "no mention #99" in await world.act(AddNote(99, ALICE, "hello"))
    exact = await world.act(AddNote(1, ALICE, "y" * NOTE_LIMIT))
    assert exact.startswith("✓")
    assert world.desk.updates[-1][1].note_count == 1


async def test_tags_from_the_rules_file_only(world: World) -> None:
    assert (await world.act(SetTag(1, ALICE, "#Praise"))).startswith("✓ Tag praise added")
    assert world.desk.updates[-1][1].tags == ("praise",)
    unknown = await world.act(SetTag(1, ALICE, "<script>" + "z" * 500))
    assert unknown.startswith("✗ Unknown tag") and "question, praise" in unknown and len(unknown) < 200
    assert "already has the tag praise" in await world.act(SetTag(1, ALICE, "praise"))
    assert (await world.act(SetTag(1, ALICE, "event"))).startswith("✓")
    assert (await world.act(SetTag(1, ALICE, "praise", remove=True))).startswith("✓ Tag praise removed")
    assert world.desk.updates[-1][1].tags == ("event",)
    lines = [line for _, line, _ in world.desk.lines]
    assert lines == ["🏷️ Tagged praise by Alice Archer.", "🏷️ Tagged event by Alice Archer.",
                     "🏷️ Tag praise removed by Alice Archer."]  # fmt: skip


async def test_read_scale_at_resolve(world: World) -> None:
    refused = await world.act(Resolve(1, ALICE, read_level=9))
    assert refused.startswith("✗") and "1 to 6" in refused
    assert (await world.act(Claim(1, ALICE))).startswith("✓")
    assert (await world.act(Resolve(1, ALICE, read_level=3, directional=False))).startswith("✓")
    card = world.desk.updates[-1][1]
    assert (card.status, card.read_level, card.directional) == (Status.RESOLVED, 3, False)
    assert world.desk.lines[-1][1] == "✅ Resolved by Alice Archer. READ 3. Reference."


async def test_history_lines_follow_the_card_and_ping_only_whom_it_concerns(world: World) -> None:
    await world.act(Claim(1, ALICE))
    await world.act(Reply(1, ALICE, "Yes, from noon."))
    await world.act(Reassign(1, ALICE, person="bob"))
    lines = [(line, ping) for _, line, ping in world.desk.lines]
    assert lines[:3] == [
        ("✋ Claimed by Alice Archer.", ""),
        ("✍️ Reply by Alice Archer queued.", ""),
        ("📤 Reply published.", ""),
    ]
    assert lines[3] == ("🔀 Reassigned by Alice Archer to Bob Baker.", "UBOB001")
    card_refs = {ref for ref, _, _ in world.desk.lines}
    assert len(card_refs) == 1 and len(world.desk.posts) == 1  # one card, its thread holds the lines


async def test_history_waits_for_the_card_and_a_desk_without_threads_skips_it(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    await service.ingest("fake", mention(1), None)
    await service.handle(AddNote(1, ALICE, "before the card is out"))  # queued before the card is posted
    threaded, plain = ThreadDesk(), RecordingDesk()
    for desk in (threaded, plain):
        relay = Relay(service, desks={"test": desk}, sources={}, policy=Backoff(rng=random.Random(1)))
        while await relay.drain("test"):
            pass
        if desk is threaded:  # the line went to the card that was posted first
            assert [(ref.message_id, line) for ref, line, _ in threaded.lines] == [
                ("0", "📝 Note by Alice Archer.")
            ]
            await service.handle(AddNote(1, ALICE, "second"))
    async with database.transaction() as session:
        left = (await session.execute(select(OutboxRow.kind).where(OutboxRow.state == "pending"))).all()
    assert left == [] and plain.updates  # the plain desk updated its card and dropped the line
    assert len(threaded.lines) == 1


async def test_retention_purges_notes_with_the_mention(world: World, database: Database) -> None:
    await world.act(AddNote(1, ALICE, "Patron's card is 29999000123456"))
    await world.act(Resolve(1, ALICE, read_level=2))
    world.service.clock = lambda: NOW + timedelta(days=100)
    await retention.purge(world.service, days=30)
    async with database.transaction() as session:
        row = (await session.execute(select(MentionRow))).scalar_one()
        details = (await session.execute(select(AuditRow.detail))).scalars().all()
    assert row.staff_notes == "" and row.purged_at is not None
    assert not any("29999000123456" in d for d in details)
    assert row.read_level == 2 and row.note_count == 1  # statistics stay, words go
    refused = await world.act(AddNote(1, ALICE, "after"))
    assert refused.startswith("✗") and "retention" in refused


def test_rules_set_tags_and_unknown_ones_are_refused() -> None:
    text = RULES.replace(
        'keywords = ["renew", "overdue"]', 'keywords = ["renew", "overdue"]\ntags = ["Account"]'
    )
    ruleset = load_rules('tags = ["question", "account"]\n' + text, platforms=source_platforms())
    assert ruleset.tags == ("question", "account") and ruleset.rule_tags("renewals") == ("account",)
    with pytest.raises(ConfigError, match='tag "account" is not in the tags list'):
        load_rules('tags = ["question"]\n' + text, platforms=source_platforms())
    with pytest.raises(ConfigError, match="tags: must be a list"):
        load_rules('tags = "question"\n' + RULES, platforms=source_platforms())
    with pytest.raises(ConfigError, match="must be 1-32 letters"):
        load_rules('tags = ["a b", "' + "x" * 40 + '"]\n' + RULES, platforms=source_platforms())
    assert load_rules(RULES, platforms=source_platforms()).tags[:3] == ("question", "praise", "complaint")


async def test_a_rule_tags_what_it_matches(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    text = RULES.replace(
        'keywords = ["renew", "overdue"]', 'keywords = ["renew", "overdue"]\ntags = ["account"]'
    )
    service.rules = load_rules(text, platforms=source_platforms())
    await service.ingest("fake", mention(1, "Can I renew online?"), None)
    await service.ingest("fake", mention(2, "Lovely exhibition!"), None)
    assert (await service.view(1)).tags == ("account",) and (await service.view(2)).tags == ()


def test_console_grammar_for_notes_tags_and_read() -> None:
    me = parse_line("queue").actor  # type: ignore[union-attr]
    assert parse_line("note 3 Called back") == AddNote(3, me, "Called back")
    assert parse_line("tag #3 praise") == SetTag(3, me, "praise")
    assert parse_line("untag 3 praise") == SetTag(3, me, "praise", remove=True)
    assert parse_line("resolve 3 read=2 directional") == Resolve(3, me, read_level=2, directional=True)
    assert parse_line("resolve 3 reference") == Resolve(3, me, directional=False)
    assert parse_line("resolve 3") == Resolve(3, me)
    for bad in ("resolve 3 read=9", "resolve 3 read=0", "resolve 3 read=²", "resolve 3 read=33"):
        assert "1 to 6" in str(parse_line(bad))
    assert "Unknown word" in str(parse_line("resolve 3 " + "q" * 5000))
    assert "Write the note" in str(parse_line("note 3"))
    assert "Say which" in str(parse_line("tag 3"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=200)), max_size=8))
def test_stored_notes_keep_the_latest_and_survive_any_text(items: list[tuple[str, str]]) -> None:
    from bot.domain.notes import Note

    stored = ""
    for by, text in items:
        stored = with_note(stored, Note(by, NOW, text))
    kept = notes_of(stored)
    assert [(n.by, n.text) for n in kept] == items[-KEPT:]
    assert notes_of("{not json") == [] and notes_of('[1, {"by": 2}]') == []


def test_every_history_template_renders_without_patron_text() -> None:
    for action in LINES:
        line = history_line(action, "Alice", {"role": "tech", "tag": "spam", "step": "backup", "read": 1})
        assert line and "{" not in line and len(line) < 120
    assert history_line("timer_bookkeeping", "x") == ""


def test_a_staff_reply_is_the_only_published_text() -> None:
    """Guard for the claim above: AddNote and SetTag carry no source target at all."""
    assert {f for f in AddNote.__dataclass_fields__} == {"mention_id", "actor", "text"}
    assert staff(1).desk == "slack"


async def test_console_end_to_end_notes_tags_read_and_history(tmp_path: Path) -> None:
    """The whole app with the console desk: typed lines, the card, the history lines, the source untouched."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    config = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/console.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
    )
    reader, out = asyncio.StreamReader(), io.StringIO()
    source = FakeSource(items=[(mention(1, "Is the library open on Sunday?"), None)])
    desk = ConsoleDesk(input=reader, output=out)

    async def typed(line: str, expect: str) -> str:
        before = len(out.getvalue())
        reader.feed_data(f"{line}\n".encode())
        await until(lambda: expect in out.getvalue()[before:])
        return out.getvalue()[before:]

    async with PatronDesk(config, sources=[source], desks=[desk]) as app:
        await until(lambda: "#1 ·" in out.getvalue())
        await app.wait_idle()
        noted = await typed("note 1 Patron phoned; wants Sunday hours", "#1 ↳ 📝 Note by")
        assert "✓ Note added to #1" in noted and "📝 console: Patron phoned; wants Sunday hours" in noted
        assert "internal notes: 1" in noted
        assert "✗ Unknown tag 'gossip'" in await typed("tag 1 gossip", "✗")
        assert "tags: event" in await typed("tag 1 event", "🏷️ Tagged event")
        assert "e.g. `resolve 3 read=2`" in await typed("resolve 1 read=9", "1 to 6")
        assert "✗ The note is 1001 characters" in await typed("note 1 " + "x" * 1001, "limit is 1000")
        done = await typed("resolve 1 read=4 directional", "✅ Resolved by")
        assert "READ 4 · directional" in done and "READ 4. Directional." in done
        await app.wait_idle()
    assert source.replies == {}  # nothing typed here reached the patron's platform


async def test_concurrent_notes_and_tags_all_land_once(database: Database) -> None:
    """Ten staff note and two tag the same card at once: every note counted, each tag once, no lost update."""
    service = await make_service(database, desks=("test",))
    await service.ingest("fake", mention(1), None)
    people = [StaffRef("slack", f"UCLAIM{n:04d}", f"Claimer {n}") for n in range(10)]
    notes = [service.handle(AddNote(1, who, f"note from {n}")) for n, who in enumerate(people)]
    tags = [service.handle(SetTag(1, who, "praise")) for who in people[:2]]
    results = await asyncio.gather(*notes, *tags)
    noted, tagged = results[:10], results[10:]
    assert all(r.ok for r in noted), [r.message for r in noted]
    assert sorted(r.ok for r in tagged) == [False, True]  # one adds it, the other is told it is there
    view = await service.view(1)
    assert view.note_count == 10 and len(view.notes) == KEPT and view.tags == ("praise",)
    async with database.transaction() as session:
        audited = (await session.execute(select(AuditRow).where(AuditRow.action == "note"))).scalars().all()
    assert len(audited) == 10


async def test_card_history_off_queues_no_lines(database: Database) -> None:
    service = await make_service(database, desks=("test",))
    service.card_history = False  # CARD_HISTORY=false
    await service.ingest("fake", mention(1), None)
    assert (await service.handle(AddNote(1, ALICE, "quiet"))).ok
    async with database.transaction() as session:
        kinds = (await session.execute(select(OutboxRow.kind))).scalars().all()
    assert "history" not in kinds and "update_card" in kinds
    assert Settings(CARD_HISTORY="false").CARD_HISTORY is False


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_typed_words_parse_or_get_a_plain_answer(words: str) -> None:
    from bot.domain.notes import resolve_words

    found = resolve_words(words)
    assert isinstance(found, str) or (
        found[0] in (None, 1, 2, 3, 4, 5, 6) and found[1] in (None, True, False)
    )
    for verb in ("note", "tag", "untag", "resolve"):
        parsed = parse_line(f"{verb} 3 {words}")
        assert isinstance(parsed, (str, AddNote, SetTag, Resolve))
        if isinstance(parsed, str):
            assert len(parsed) < 200
