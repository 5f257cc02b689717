"""The authorization matrix on a real Synapse (DESIGN.md §6.10), and edits only from a mention's author.

Staff are the rules file's Sam (staff-room admin, a manager) and Kim (level 0); Stan is a member of the
staff room who is not staff; the patron is in the public source room. Every cell is a real event
(reaction, !command, edit); a refused cell must answer the actor and leave the mentions, staff,
shifts, audit and outbox rows exactly as they were.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.app import PatronDesk
from bot.core.authz import NOT_STAFF, NOT_STAFF_COMMAND
from bot.models import Claim, StaffRef
from bot.platforms.matrix.card_events import MENTION_KEY
from bot.store.report_tables import AuditRow
from tests.core.state import snapshot
from tests.fakes.synapse import Synapse
from tests.matrix.matrix_helpers import Account, World, by_sender, cards, wait_for

pytestmark = pytest.mark.synapse

CARD_ACTIONS = ("claim", "reply", "resolve", "release", "reassign", "ignore")
ACTIONS = (*CARD_ACTIONS, "!desk", "!rota read", "!rota change", "edit other's mention")
CHANGING = set(CARD_ACTIONS) | {"!rota change"}
EXPECTED = {
    "staff": set(ACTIONS) - {"!rota change", "edit other's mention"},
    "manager": set(ACTIONS) - {"edit other's mention"},
    "non-staff member": set(),
    "patron": set(),
}
REACTION = {"claim": "✋", "resolve": "✅", "release": "↩️", "ignore": "🙈"}
COMMAND = {
    "reply": "!reply We open at nine.",
    "reassign": "!reassign circulation",
    "!desk": "!desk",
    "!rota read": "!rota now",
    "!rota change": "!rota add @staff2:localhost circulation mon 09:00-10:00",
}
REFUSALS = (NOT_STAFF, NOT_STAFF_COMMAND, "Only rota managers")
_n = itertools.count(1)


class Cell:
    """The running bot and the people, for one matrix."""

    def __init__(self, world: World, app: PatronDesk, stranger: Account) -> None:
        self.world, self.app = world, app
        self.bot = world.users.bot.user_id
        self.actors = {"staff": world.staff2, "manager": world.staff1, "non-staff member": stranger}

    async def mention(self, author: Account | None = None) -> tuple[int, str, str]:
        """A new mention carded in the staff room: (mention id, card event id, patron's event id)."""
        text = f"question number {next(_n)}"
        asked = await (author or self.world.patron).mention(self.world.source_room, self.bot, text)

        async def card() -> dict[str, Any] | None:
            found = cards(await self.world.staff1.messages(self.world.staff_room, limit=100), self.bot)
            return next((c for c in found if text in c["content"]["body"]), None)

        found = await wait_for(card, what=f"the card of {text!r}")
        await self.app.wait_idle()
        return int(found["content"][MENTION_KEY]), str(found["event_id"]), asked

    async def notices(self, user_id: str) -> dict[str, str]:
        events = await self.world.staff1.messages(self.world.staff_room, limit=100)
        return {
            e["event_id"]: str(e["content"]["body"])
            for e in by_sender(events, self.bot)
            if e["content"].get("msgtype") == "m.notice"
            and (e["content"].get("m.mentions") or {}).get("user_ids") == [user_id]
        }

    async def act(self, who: Account, action: str, card: str) -> bool:
        """One reaction or command by a staff-room member; True when it was let through."""
        seen = await self.notices(who.user_id)
        room = self.world.staff_room
        if action in REACTION:
            await who.react(room, card, REACTION[action])
        elif action in CARD_ACTIONS:
            await who.in_thread(room, card, COMMAND[action])
        else:
            await who.say(room, COMMAND[action])

        async def answer() -> str | None:
            fresh = [b for e, b in (await self.notices(who.user_id)).items() if e not in seen]
            return fresh[-1] if fresh else None

        said = await wait_for(answer, what=f"the answer to {action}")
        return not any(refusal in said for refusal in REFUSALS)

    async def edit(self, who: Account, target: str) -> None:
        rel = {"rel_type": "m.replace", "event_id": target}
        new = {"msgtype": "m.text", "body": "Rewritten by someone else"}
        await who.send(self.world.source_room, {**new, "m.new_content": new, "m.relates_to": rel})

    async def barrier(self) -> int:
        """A patron post carded after everything sent before it: the source has read those events."""
        mention_id, _, _ = await self.mention()
        return mention_id


async def started(app: PatronDesk) -> None:
    await wait_for(lambda: app.service.cursor("matrix"), what="the first sync token")


async def joined_stranger(world: World, synapse: Synapse) -> Account:
    stranger = Account(synapse.url, synapse.register("stranger", displayname="Stan Stranger"))
    await world.staff1.call("POST", f"/rooms/{quote(world.staff_room)}/invite", {"user_id": stranger.user_id})
    await stranger.join(world.staff_room)
    return stranger


@pytest.mark.slow  # over 10 s: every role against every action on a real Synapse
async def test_authorization_matrix(world: World, synapse: Synapse, tmp_path: Path) -> None:
    stranger = await joined_stranger(world, synapse)
    for account in (world.staff1, world.staff2, stranger):
        await account.join(world.source_room)  # public: anyone may join and send edits there
    observed: dict[tuple[str, str], bool] = {}
    try:
        async with PatronDesk(world.settings(tmp_path)) as app:
            await started(app)
            cell = Cell(world, app, stranger)
            for who, action in itertools.product(cell.actors, ACTIONS):
                observed[who, action] = await _member_cell(cell, who, action)
            observed |= await _patron_cells(cell)
    finally:
        await stranger.aclose()
    expected = {(who, a): a in EXPECTED[who] for who, a in itertools.product(EXPECTED, ACTIONS)}
    wrong = {cell: got for cell, got in observed.items() if got != expected[cell]}
    assert len(observed) == len(expected) and not wrong, f"{len(wrong)} of {len(expected)} differ: {wrong}"


async def _member_cell(cell: Cell, who: str, action: str) -> bool:
    account, app = cell.actors[who], cell.app
    if action == "edit other's mention":
        _, _, asked = await cell.mention()
        before = await snapshot(app.db)
        await cell.edit(account, asked)
        sentinel = await cell.barrier()
        assert await snapshot(app.db, skip=frozenset({sentinel})) == before, f"{who}: edit changed rows"
        return False
    card = ""
    if action in CARD_ACTIONS:
        mention_id, card, _ = await cell.mention()
        if action == "release":
            holder = account if who in ("staff", "manager") else cell.world.staff1
            await app.service.handle(Claim(mention_id, StaffRef("matrix", holder.user_id, "holder")))
    await app.wait_idle()
    before = await snapshot(app.db)
    allowed = await cell.act(account, action, card)
    await app.wait_idle()
    changed = await snapshot(app.db) != before
    assert changed is (allowed and action in CHANGING), f"{who} {action}: allowed={allowed} changed={changed}"
    return allowed


async def _patron_cells(cell: Cell) -> dict[tuple[str, str], bool]:
    """The patron can type only in the source room: every command there reaches no desk."""
    app, patron, room = cell.app, cell.world.patron, cell.world.source_room
    mention_id, _, _ = await cell.mention()
    _, _, theirs = await cell.mention(author=cell.actors["non-staff member"])
    await app.wait_idle()
    before = await snapshot(app.db)
    for action in ACTIONS:
        if action == "edit other's mention":
            await cell.edit(patron, theirs)
        elif action in REACTION:
            await patron.say(room, f"!{action} #{mention_id}")
        else:
            verb, _, rest = COMMAND[action].partition(" ")
            await patron.say(
                room, f"{verb} #{mention_id} {rest}" if action in CARD_ACTIONS else COMMAND[action]
            )
    sentinel = await cell.barrier()
    assert await snapshot(app.db, skip=frozenset({sentinel})) == before
    return {("patron", action): False for action in ACTIONS}


@pytest.mark.slow
async def test_only_the_author_edits_a_mention(world: World, synapse: Synapse, tmp_path: Path) -> None:
    """Finding 3: any member of a public room could rewrite another patron's mention (m.replace)."""
    stranger = await joined_stranger(world, synapse)
    await stranger.join(world.source_room)
    try:
        async with PatronDesk(world.settings(tmp_path)) as app:
            await started(app)
            cell = Cell(world, app, stranger)
            mention_id, _, asked = await cell.mention()
            original = (await app.service.view(mention_id)).text
            await cell.edit(stranger, asked)
            await cell.barrier()
            assert (await app.service.view(mention_id)).text == original

            rel = {"rel_type": "m.replace", "event_id": asked}
            new = {"msgtype": "m.text", "body": "Library: can I renew twice?"}
            await world.patron.send(world.source_room, {**new, "m.new_content": new, "m.relates_to": rel})
            await cell.barrier()
            assert (await app.service.view(mention_id)).text == "Library: can I renew twice?"
            async with app.db.transaction() as session:
                audit = (
                    await session.execute(
                        AuditRow.__table__.select().where(AuditRow.mention_id == mention_id)
                    )
                ).all()
            edits = [row for row in audit if row.action == "edit"]
            assert len(edits) == 1 and original in edits[0].detail  # the words before the edit are kept

            # a room moderator (the patron created the room) may withdraw someone else's message
            theirs_id, _, theirs = await cell.mention(author=stranger)
            await world.patron.call(
                "PUT",
                f"/rooms/{quote(world.source_room)}/redact/{quote(theirs)}/r{next(_n)}",
                {"reason": "spam"},
            )
            await cell.barrier()
            assert (await app.service.view(theirs_id)).text == "(withdrawn by its author)"
    finally:
        await stranger.aclose()
