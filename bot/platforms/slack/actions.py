"""Bolt listeners of the staff desk: every click is acked first, then turned into a StaffAction.

Listeners stay small (bolt runs with ``process_before_response``, so the ack leaves when the listener
returns): they ack, parse with the pure ``parse_*`` functions in ``clicks``, and hand the slow part (the
service, views.open, the ephemeral answer; ``responder``) to a task. Nothing here changes state by
itself. The Reply form's listeners live in ``reply_forms``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, TypeVar

from bot.models import AddNote, Reassign, Reject, Resolve, SetTag, Snooze, StaffAction
from bot.platforms.slack.buttons import (
    APPROVE,
    EDIT,
    NOTE,
    OPEN,
    REASSIGN,
    REJECT,
    REPLY,
    RESOLVE_READ,
    SNOOZE_AT,
    SNOOZES,
    WAKE,
)
from bot.platforms.slack.clicks import SIMPLE, parse_actor, parse_click, set_aside_action
from bot.platforms.slack.note_form import NOTE_VIEW, note_view, read_note
from bot.platforms.slack.reassign_form import REASSIGN_VIEW, read_reassign, reassign_view
from bot.platforms.slack.reply_draft import ANSWER_SELECT, CONFIRM_VIEW, REPLY_VIEW
from bot.platforms.slack.reply_forms import ReplyForms
from bot.platforms.slack.resolve_form import RESOLVE_VIEW, read_resolve, resolve_view
from bot.platforms.slack.responder import Ack
from bot.platforms.slack.set_aside_forms import (
    REJECT_VIEW,
    SNOOZE_VIEW,
    read_reject,
    read_snooze,
    reject_view,
    snooze_view,
)
from bot.views import ActionResult


class SlackActions(ReplyForms):
    """Registers the desk's listeners on the shared bolt app and answers every click."""

    def register(self) -> None:
        """Attach the listeners (exact action ids, callback ids and commands)."""
        app = self.client.app
        for action_id in (*SIMPLE, *SNOOZES, WAKE, APPROVE):
            app.action(action_id)(self._simple)
        app.action(REJECT)(self._reject_open)  # a form: the reason its writer is told
        app.action(SNOOZE_AT)(self._snooze_open)
        app.view(REJECT_VIEW)(self._reject_submitted)
        app.view(SNOOZE_VIEW)(self._snooze_submitted)
        app.action(REPLY)(self._reply_open)
        app.action(EDIT)(self._edit_open)
        app.action(REASSIGN)(self._reassign_open)
        app.action(OPEN)(self._link)
        app.action(ANSWER_SELECT)(self._answer_picked)
        app.view(REPLY_VIEW)(self._reply_submitted)
        app.view(CONFIRM_VIEW)(self._reply_confirmed)
        app.view(REASSIGN_VIEW)(self._reassign_submitted)
        app.action(NOTE)(self._note_open)
        app.action(RESOLVE_READ)(self._resolve_open)
        app.view(NOTE_VIEW)(self._note_submitted)
        app.view(RESOLVE_VIEW)(self._resolve_submitted)
        app.command("/rota")(self._rota)
        app.command("/desk")(self._desk)

    # --- listeners: ack first, then a task ------------------------------------------------------

    async def _simple(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        click = parse_click(body)
        if click is None:
            self._not_ours(body)
        elif click.action_id in SIMPLE:
            action = SIMPLE[click.action_id](click.mention_id, click.actor)
            self.tasks.spawn(self.run(action, click.channel), f"slack:{click.action_id}")
        elif (other := set_aside_action(click)) is not None:
            self.tasks.spawn(self.run(other, click.channel), f"slack:{click.action_id}")

    async def _link(self, ack: Ack) -> None:
        await ack()  # the URL button opens the post in the browser; Slack still wants the ack

    async def _reassign_open(self, ack: Ack, body: dict[str, Any]) -> None:
        click = await self._clicked(ack, body)
        if click is not None:
            view = reassign_view(click.mention_id, channel=click.channel)
            self._open_form(click, lambda got: view)

    async def _reassign_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        choice = await _accepted(ack, read_reassign(view))
        if choice is None:
            return
        action = Reassign(choice.mention_id, parse_actor(body.get("user") or {}), choice.role, choice.person)
        self.tasks.spawn(self.run(action, choice.channel), "slack:reassign")

    async def _note_open(self, ack: Ack, body: dict[str, Any]) -> None:
        click = await self._clicked(ack, body)
        if click is None:
            return

        def form(opened: ActionResult) -> dict[str, Any]:
            current = opened.view.tags if opened.view is not None else ()
            return note_view(click.mention_id, channel=click.channel, tags=self.tags, current=current)

        self._open_form(click, form)

    async def _reject_open(self, ack: Ack, body: dict[str, Any]) -> None:
        click = await self._clicked(ack, body)
        if click is not None:
            view = reject_view(click.mention_id, channel=click.channel)
            self._open_form(click, lambda got: view, decide="reject")

    async def _snooze_open(self, ack: Ack, body: dict[str, Any]) -> None:
        click = await self._clicked(ack, body)
        if click is not None:
            form = partial(snooze_view, click.mention_id, channel=click.channel)  # in its branch's time
            self._open_form(click, lambda got: form(branch=got.view.branch if got.view else ""))

    async def _reject_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        choice = await _accepted(ack, read_reject(view))
        if choice is None:
            return
        action = Reject(choice.mention_id, parse_actor(body.get("user") or {}), choice.text)
        self.tasks.spawn(self.run(action, choice.channel), "slack:reject")

    async def _snooze_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The time is the service's to read (the card's zone): a refusal shows in the form."""
        choice, errors = read_snooze(view)
        if choice is None:
            await ack(response_action="errors", errors=errors)
            return
        actor = parse_actor(body.get("user") or {})
        action = await self.named(Snooze(choice.mention_id, actor, choice.text))
        result = await self.dispatch(action)
        if not result.ok:
            await ack(response_action="errors", errors={choice.block: result.message[:300]})
            return
        await ack(response_action="clear")
        self.tasks.spawn(self.say(choice.channel, action.actor, result.message), "slack:say")

    async def _resolve_open(self, ack: Ack, body: dict[str, Any]) -> None:
        click = await self._clicked(ack, body)
        if click is not None:
            view = resolve_view(click.mention_id, channel=click.channel)
            self._open_form(click, lambda got: view)

    async def _note_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        choice = await _accepted(ack, read_note(view))
        if choice is None:
            return
        actor = parse_actor(body.get("user") or {})
        steps: list[StaffAction] = [SetTag(choice.mention_id, actor, tag) for tag in choice.add]
        steps += [SetTag(choice.mention_id, actor, tag, remove=True) for tag in choice.remove]
        if choice.text:
            steps.append(AddNote(choice.mention_id, actor, choice.text))
        self.tasks.spawn(self.run_all(steps, choice.channel), "slack:note")

    async def _resolve_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        choice = await _accepted(ack, read_resolve(view))
        if choice is None:
            return
        actor = parse_actor(body.get("user") or {})
        action = Resolve(
            choice.mention_id, actor, read_level=choice.read_level, directional=choice.directional
        )
        self.tasks.spawn(self.run(action, choice.channel), "slack:resolve")

    async def _rota(self, ack: Ack, command: dict[str, Any]) -> None:
        await ack()
        self.tasks.spawn(self._command(command, rota=True), "slack:/rota")

    async def _desk(self, ack: Ack, command: dict[str, Any]) -> None:
        await ack()
        self.tasks.spawn(self._command(command, rota=False), "slack:/desk")


Choice = TypeVar("Choice")


async def _accepted(ack: Ack, read: tuple[Choice | None, dict[str, str]]) -> Choice | None:
    """A submitted form's ``read_*`` result: its errors shown in the form (None), or the form closed."""
    choice, errors = read
    if choice is None:
        await ack(response_action="errors", errors=errors)
        return None
    await ack(response_action="clear")
    return choice
