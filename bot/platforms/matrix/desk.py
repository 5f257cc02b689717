"""The Matrix staff room as a desk: cards are formatted messages, reactions and !commands are the actions."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid

from bot.config import Settings
from bot.core.base import OnAction
from bot.errors import AdapterConfigError, PatronDeskError
from bot.models import (
    ActionResult,
    AddNote,
    CardRef,
    CheckIn,
    DeskQuery,
    FoldView,
    RotaCommand,
    StaffRef,
    TicketView,
)
from bot.platforms.base import AdapterDeps
from bot.platforms.matrix.card_events import (
    CHECKIN_KEY,
    DEDUPE_KEY,
    HISTORY_KEY,
    MENTION_KEY,
    card_content,
    edit_content,
    fold_content,
    fold_edit_content,
    notice_content,
)
from bot.platforms.matrix.commands import (
    CHECKIN_PRE_REACT,
    PRE_REACT,
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
from bot.platforms.matrix.link import MatrixLink, link_for
from bot.platforms.matrix.roster import MatrixRoster
from bot.platforms.matrix.wire import RoomEvent, relation, txn_id

log = logging.getLogger(__name__)

DESK = "matrix"
EXAMPLES = {"note": "!note Called the patron back", "tag": "!tag praise", "untag": "!untag praise"}
_NUMBER = re.compile(r"^#?([0-9]{1,10})(?:\s+(.*))?$", re.DOTALL)  # longer: no such card


class MatrixDesk:
    """Cards in the staff room, driven by the shared sync loop.

    Args:
        link: the shared Matrix connection.
        manager_level: power level at or above which a member may edit the rota.
    """

    desk = DESK

    def __init__(self, link: MatrixLink, *, manager_level: int = 50, pre_react: bool = True) -> None:
        self.link = link
        self.manager_level = manager_level
        self.pre_react = pre_react
        self.roster = MatrixRoster(link, manager_level=manager_level)  # who is staff: bot/core/authz.py
        self.cards: dict[str, int] = {}  # card event id -> mention id (markers cover restarts)
        self.checkins: dict[str, int] = {}  # check-in question event id -> check-in number (markers too)
        self._background: set[asyncio.Task[None]] = set()
        link.desk_attached = True

    # --- receiving actions ------------------------------------------------------------------

    async def serve(self, on_action: OnAction) -> None:
        """Turn reactions and !commands in the staff room into staff actions until cancelled.

        Refused credentials turn the desk off (logged) instead of stopping the whole bot.
        """
        try:
            await self.link.open()
            async with asyncio.TaskGroup() as group:
                group.create_task(self.link.run_for_desk(), name="matrix-desk-sync")
                await self._drain(on_action)
        except* AdapterConfigError as refused:
            log.error("matrix desk is off: %s", refused.exceptions[0])

    async def _drain(self, on_action: OnAction) -> None:
        async for item in self.link.desk_events():
            try:
                await self.handle(item, on_action)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("matrix desk could not handle event %s", item.event.get("event_id"))

    async def handle(self, item: RoomEvent, on_action: OnAction) -> None:
        """Handle one staff-room event."""
        event = item.event
        sender = str(event.get("sender", ""))
        actor = StaffRef(DESK, sender, self.link.member_name(item.room_id, sender))
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

    # --- the outbox relay's calls -----------------------------------------------------------

    async def post_card(
        self, card: TicketView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post a card (with a transaction id from the dedupe key); on retry, find an earlier post first."""
        room = channel or self.link.staff_room
        self.link.desk_rooms.add(room)  # a role's own room: its reactions and commands are desk events
        if retry:
            found = await self._find(room, dedupe_key)
            if found is not None:
                self.cards[found.message_id] = card.mention_id
                return found
        event_id = await self.link.send(
            room, card_content(card, dedupe_key=dedupe_key), txn=txn_id("card", dedupe_key)
        )
        self.cards[event_id] = card.mention_id
        if self.pre_react:  # in the background, so the next card does not wait for four reactions
            task = asyncio.create_task(self._pre_react(room, event_id), name=f"matrix-react-{event_id}")
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return CardRef(DESK, room, event_id)

    async def _find(self, room: str, dedupe_key: str) -> CardRef | None:
        for event in await self.link.recent(room, limit=100):
            content = event.get("content") or {}
            if event.get("sender") == self.link.user_id and content.get(DEDUPE_KEY) == dedupe_key:
                return CardRef(DESK, room, str(event["event_id"]))
        return None

    async def _pre_react(self, room: str, event_id: str) -> None:
        """Offer the buttons: staff click a reaction that is already there (best effort)."""
        for key in PRE_REACT:
            content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
            try:
                await self.link.send(
                    room, content, txn=txn_id("react", f"{event_id}:{key}"), kind="m.reaction"
                )
            except PatronDeskError as exc:
                log.warning("could not pre-react on card %s (%s)", event_id, type(exc).__name__)
                return

    async def update_card(self, ref: CardRef, card: TicketView) -> None:
        """Edit the card in place (``m.replace``); the same rendering never sends twice."""
        content = edit_content(card, card_event_id=ref.message_id)
        key = ref.message_id + json.dumps(content, sort_keys=True)
        await self.link.send(ref.channel or self.link.staff_room, content, txn=txn_id("edit", key))

    async def post_fold(
        self, fold: FoldView, *, channel: str, dedupe_key: str, retry: bool = False
    ) -> CardRef:
        """Post a summary card (transaction id from the dedupe key); on retry, find an earlier post first."""
        room = channel or self.link.staff_room
        if retry:
            found = await self._find(room, dedupe_key)
            if found is not None:
                return found
        event_id = await self.link.send(
            room, fold_content(fold, dedupe_key=dedupe_key), txn=txn_id("fold", dedupe_key)
        )
        return CardRef(DESK, room, event_id)

    async def update_fold(self, ref: CardRef, fold: FoldView) -> None:
        """Edit the summary card in place with its new counts."""
        content = fold_edit_content(fold, card_event_id=ref.message_id)
        key = ref.message_id + json.dumps(content, sort_keys=True)
        await self.link.send(ref.channel or self.link.staff_room, content, txn=txn_id("edit", key))

    async def announce(self, text: str) -> None:
        """A notice to the whole staff room (daily duty post, weekly report); pings nobody."""
        await self.link.send(
            self.link.staff_room, notice_content(text), txn=txn_id("announce", uuid.uuid4().hex)
        )

    async def redact_card(self, ref: CardRef, card: TicketView) -> None:
        """Retention: redact the card and all its edits, so no copy of the patron's text is left."""
        await self.link.redact_with_edits(
            ref.channel or self.link.staff_room, ref.message_id, reason="retention"
        )

    async def history(self, ref: CardRef, line: str, *, ping: str = "", key: str = "") -> None:
        """A history line in the card's thread (``m.thread``); pings ``ping`` only, nobody else."""
        content = notice_content(line, thread_root=ref.message_id, ping=ping or None)
        content[HISTORY_KEY] = True
        txn = txn_id("history", key or uuid.uuid4().hex)  # the outbox key: a retry is not posted twice
        await self.link.send(ref.channel or self.link.staff_room, content, txn=txn)

    async def tell(self, who: StaffRef, text: str) -> None:
        """A notice in the staff room that pings ``who`` (and nobody else)."""
        ping = who.user_id if who.desk == DESK else None
        content = notice_content(text, ping=ping)
        await self.link.send(self.link.staff_room, content, txn=txn_id("tell", uuid.uuid4().hex))

    async def ask_checkin(self, who: StaffRef, text: str, *, checkin_id: int, key: str) -> None:
        """The check-in question in the staff room, pinging ``who`` only, with ✅ and 🆘 to click."""
        ping = who.user_id if who.desk == DESK else None
        body = f"{text}\nReact ✅ if you are on desk or 🆘 if you need cover (or type !checkin / !needcover)."
        content = notice_content(body, ping=ping)
        content[CHECKIN_KEY] = checkin_id
        room = self.link.staff_room
        event_id = await self.link.send(room, content, txn=txn_id("checkin", key))
        self.checkins[event_id] = checkin_id
        for reaction in CHECKIN_PRE_REACT:  # best effort: the commands work without them
            relates = {"rel_type": "m.annotation", "event_id": event_id, "key": reaction}
            try:
                await self.link.send(
                    room,
                    {"m.relates_to": relates},
                    txn=txn_id("react", f"{event_id}:{reaction}"),
                    kind="m.reaction",
                )
            except PatronDeskError as exc:
                log.warning("could not pre-react on check-in %s (%s)", event_id, type(exc).__name__)
                return

    async def check(self) -> str:
        """Whether the bot can post in the staff room (``check --connect``; nothing is posted)."""
        from bot.platforms.matrix.reach import check_staff_room

        return await check_staff_room(self.link)

    async def aclose(self) -> None:
        """Stop pending reactions and close the shared connection."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.link.aclose()


def build(settings: Settings, deps: AdapterDeps) -> MatrixDesk | None:
    """The Matrix desk, when a homeserver and a staff room are configured."""
    if not settings.matrix_on or not settings.MATRIX_STAFF_ROOM:
        return None
    link = link_for(deps.clients.get("matrix"), settings)
    link.desk_rooms.update(deps.desk_channels.get("matrix", ()))  # roles' own rooms hold cards too
    return MatrixDesk(link, manager_level=settings.MATRIX_MANAGER_POWER_LEVEL)
