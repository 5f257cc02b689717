"""Staff-room events as staff actions: reactions, !commands and plain thread messages, each answered by a
notice (a mixin of ``MatrixDesk``, which holds the state used here)."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from bot.core.base import OnAction
from bot.models import AddNote, CheckIn, DeskQuery, RotaCommand, StaffRef
from bot.platforms.matrix.card_events import CHECKIN_KEY, MENTION_KEY, notice_content
from bot.platforms.matrix.commands import (
    ROOM_VERBS,
    Command,
    card_action,
    parse_checkin_reaction,
    parse_command,
    parse_reaction,
    parse_thread_note,
    power_level,
    reaction_action,
)
from bot.platforms.matrix.wire import RoomEvent, relation, txn_id
from bot.views import ActionResult

if TYPE_CHECKING:
    from bot.platforms.matrix.link import MatrixLink

EXAMPLES = {"note": "!note Called the patron back", "tag": "!tag praise", "untag": "!untag praise"}
_NUMBER = re.compile(r"^#?([0-9]{1,10})(?:\s+(.*))?$", re.DOTALL)  # longer: no such card


class DeskEvents:
    """Turn one staff-room event into a staff action and answer it; the attributes are MatrixDesk's."""

    desk: str
    link: MatrixLink
    manager_level: int
    cards: dict[str, int]
    checkins: dict[str, int]

    async def handle(self, item: RoomEvent, on_action: OnAction) -> None:
        """Handle one staff-room event."""
        event = item.event
        sender = str(event.get("sender", ""))
        actor = StaffRef(self.desk, sender, self.link.member_name(item.room_id, sender))
        reaction = parse_reaction(event)
        if reaction is not None:
            found = await self.mention_for(item.room_id, reaction[0])
            if found is not None:
                result = await on_action(reaction_action(reaction[1], found[0], actor))
                await self._answer(item, result, thread=found[1], mention_id=found[0])
                return
        answer = parse_checkin_reaction(event)
        if answer is not None:
            number = await self.checkin_for(item.room_id, answer[0])
            if number is not None:
                result = await on_action(CheckIn(actor, here=answer[1], checkin_id=number))
                await self._answer(item, result, thread=None, reply_to=answer[0])
            return
        if reaction is not None:
            return
        command = parse_command(event)
        if command is not None:
            await self._command(item, command, actor, on_action)
            return
        note = parse_thread_note(event)
        if note is not None:  # a plain message in a card's thread is an internal note on it
            found = await self.mention_for(item.room_id, note[0])
            if found is not None:
                result = await on_action(AddNote(found[0], actor, note[1]))
                await self._answer(item, result, thread=found[1], mention_id=found[0])

    async def _command(self, item: RoomEvent, command: Command, actor: StaffRef, on_action: OnAction) -> None:
        thread = command.target if command.in_thread else None
        if command.verb in ROOM_VERBS:
            await self._answer(item, await self._room_command(item, command, actor, on_action), thread=thread)
            return
        mention_id, root, command = await self._card_of(item, command)
        if mention_id is None:
            usage = f"Use !{command.verb} in a card's thread (or !{command.verb} #N ...)."
            await self._answer(item, ActionResult(False, usage), thread=thread)
            return
        action = card_action(command, mention_id, actor)
        if action is None:
            example = EXAMPLES.get(command.verb, "!reply Thanks for asking!")
            result = ActionResult(False, f"!{command.verb} needs an argument, e.g. {example}")
        elif isinstance(action, str):
            result = ActionResult(False, action)
        else:
            result = await on_action(action)
        await self._answer(item, result, thread=root, mention_id=mention_id)

    async def _room_command(
        self, item: RoomEvent, command: Command, actor: StaffRef, on_action: OnAction
    ) -> ActionResult:
        """``!desk`` and ``!rota`` (the gate says where); manager = staff-room power level >= the setting."""
        if command.verb == "desk":
            return await on_action(DeskQuery(actor, command.arg, place=item.room_id))
        if command.verb == "answers":
            return await on_action(DeskQuery(actor, f"answers {command.arg}".strip(), place=item.room_id))
        if command.verb in ("checkin", "needcover"):
            return await on_action(CheckIn(actor, here=command.verb == "checkin"))
        state = await self.link.room_state(self.link.staff_room)
        manager = power_level(state, actor.user_id) >= self.manager_level
        return await on_action(RotaCommand(actor, command.arg, is_manager=manager, place=item.room_id))

    async def _card_of(self, item: RoomEvent, command: Command) -> tuple[int | None, str | None, Command]:
        """The mention a command is about, and the card's thread to answer in.

        A command in a card's thread (or replying to a card) is about that card; elsewhere an
        explicit number works: ``!claim #12``, ``!reply 12 Thanks!``.
        """
        if command.target:
            found = await self.mention_for(item.room_id, command.target)
            if found is not None:
                return found[0], found[1], command
        number = _NUMBER.match(command.arg)
        if number is not None and not command.in_thread:
            arg = (number.group(2) or "").strip()
            return int(number.group(1)), None, Command(command.verb, arg, None, False, command.confirmed)
        return None, None, command

    async def mention_for(self, room_id: str, event_id: str) -> tuple[int, str] | None:
        """``(mention id, card event id)`` for a card or one of the bot's notices in its thread.

        Memory first (cards posted by this process), then the hidden marker in the event itself.
        """
        if event_id in self.cards:
            return self.cards[event_id], event_id
        event = await self.link.get_event(room_id, event_id)
        if not event or event.get("sender") != self.link.user_id:
            return None
        content = event.get("content") or {}
        marker = content.get(MENTION_KEY)
        if not isinstance(marker, int) or isinstance(marker, bool):
            return None
        rel_type, related = relation(content)
        if rel_type == "m.thread" and related:
            return marker, related
        self.cards[event_id] = marker
        return marker, event_id

    async def checkin_for(self, room_id: str, event_id: str) -> int | None:
        """The check-in a question event asks (memory first, then the hidden marker); None otherwise."""
        if event_id in self.checkins:
            return self.checkins[event_id]
        event = await self.link.get_event(room_id, event_id)
        if not event or event.get("sender") != self.link.user_id:
            return None
        marker = (event.get("content") or {}).get(CHECKIN_KEY)
        if not isinstance(marker, int) or isinstance(marker, bool):
            return None
        self.checkins[event_id] = marker
        return marker

    async def _answer(
        self,
        item: RoomEvent,
        result: ActionResult,
        *,
        thread: str | None,
        mention_id: int | None = None,
        reply_to: str | None = None,
    ) -> None:
        """The result's message as a notice to the actor: in the card's thread, else as a reply."""
        text = "\n".join((result.message, *result.extra)).strip()
        if not text:
            return
        event_id = str(item.event.get("event_id", ""))
        content = notice_content(
            text,
            thread_root=thread,
            reply_to=None if thread else (reply_to or event_id),
            ping=str(item.event.get("sender", "")),
            mention_id=mention_id,
        )
        await self.link.send(item.room_id, content, txn=txn_id("answer", event_id or uuid.uuid4().hex))
