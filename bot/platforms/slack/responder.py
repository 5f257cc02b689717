"""The slow part of a Slack click: hand the action to the service and tell the actor (ephemeral).

``SlackResponder`` owns the desk's client, roster and tasks; the listeners in ``reply_forms`` and
``actions`` ack first and spawn one of these calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.base import ACTION_FAILED, OnAction
from bot.errors import PatronDeskError
from bot.models import DeskQuery, OpenForm, RotaCommand, StaffAction, StaffRef
from bot.platforms.slack.clicks import Click, click_channel, parse_actor, parse_click
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.escaping import notice_text
from bot.platforms.slack.modal import reply_view
from bot.platforms.slack.reply_draft import Limits, ReplyDraft
from bot.platforms.slack.roster import SlackRoster
from bot.platforms.slack.tasks import TaskSet
from bot.views import ActionResult

log = logging.getLogger(__name__)

READY_WAIT = 2.5
Ack = Callable[..., Awaitable[Any]]


class SlackResponder:
    """Runs a click's action through the service and answers its actor; the base of the listeners."""

    def __init__(
        self,
        client: SlackClient,
        *,
        staff_channel: str,
        roster: SlackRoster,
        limits: Limits | None = None,
        tags: tuple[str, ...] = (),
    ) -> None:
        self.client = client
        self.tags = tags  # the rules file's tags, offered in the Note & tags form
        self.limits = limits  # reply length per source platform (None: each platform's documented one)
        self.staff_channel = staff_channel
        self.roster = roster
        self.tasks = TaskSet()
        self.on_action: OnAction | None = None
        self.ready = asyncio.Event()

    async def _clicked(self, ack: Ack, body: dict[str, Any]) -> Click | None:
        """Acknowledge a button and read it; None (logged) when the click is not one of ours."""
        await ack()
        click = parse_click(body)
        if click is None:
            self._not_ours(body)
        return click

    def _open_form(
        self, click: Click, form: Callable[[ActionResult], dict[str, Any]], *, decide: str = ""
    ) -> None:
        """Open a form for this click in the background (the trigger id lives 3 s); ``decide`` (a held
        reply's Edit or Reject) opens it only for someone who may decide on that reply."""
        self.tasks.spawn(self._open_view(click, form, decide=decide), "slack:views.open")

    def _not_ours(self, body: dict[str, Any]) -> None:
        """A button whose value names no card (tampered, or from another app): say so, change nothing."""
        user = body.get("user")
        if isinstance(user, dict) and user.get("id"):
            text = "That button does not belong to a card here, so nothing was changed."
            self.tasks.spawn(self.say(click_channel(body), parse_actor(user), text), "slack:say")

    async def run_all(self, steps: list[StaffAction], channel: str) -> None:
        """Several actions from one form, in order; the actor gets one message listing every answer."""
        said: list[str] = []
        for step in steps:
            result = await self.dispatch(await self.named(step))
            if result.message:
                said.append(result.message)
        if said and steps:
            await self.say(channel, steps[0].actor, notice_text(said[0], said[1:]))

    # --- the slow part --------------------------------------------------------------------------

    async def _command(self, command: dict[str, Any], *, rota: bool) -> None:
        actor = StaffRef("slack", str(command.get("user_id", "")), str(command.get("user_name", "")))
        text = str(command.get("text", ""))
        url, channel = str(command.get("response_url", "")), str(command.get("channel_id", ""))
        action: StaffAction
        if rota:
            manager = await self.roster.is_manager(actor.user_id)
            action = RotaCommand(actor, text, is_manager=manager, place=channel)
        else:
            action = DeskQuery(actor, text, place=channel)
        result = await self.dispatch(await self.named(action))
        await self.answer(url, channel, actor, notice_text(result.message, result.extra))

    async def run(self, action: StaffAction, channel: str) -> None:
        """Hand ``action`` to the service and tell the actor what happened (ephemeral)."""
        action = await self.named(action)
        result = await self.dispatch(action)
        if result.message:
            await self.say(channel, action.actor, notice_text(result.message, result.extra))

    async def named(self, action: StaffAction) -> StaffAction:
        """The actor by their Slack display name ("Bob Binder"), not the login name ("bob"): a new
        staff row is named after it, and cards and notices show it."""
        actor = action.actor
        display = await self.roster.display_name(actor.user_id, actor.display)
        return dataclasses.replace(action, actor=dataclasses.replace(actor, display=display))

    async def dispatch(self, action: StaffAction) -> ActionResult:
        """The service's answer; a crash or a desk that is not serving yet becomes a polite no."""
        if not self.ready.is_set():
            try:
                async with asyncio.timeout(READY_WAIT):  # wait_for can swallow a cancel (3.11)
                    await self.ready.wait()
            except TimeoutError:
                return ActionResult(False, "Patron Desk is starting up; try again in a moment.")
        assert self.on_action is not None
        try:
            return await self.on_action(action)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("slack %s failed: %s", type(action).__name__, type(exc).__name__)
            return ActionResult(False, ACTION_FAILED)

    async def _fill(self, view_id: str, hash_: str, draft: ReplyDraft, name: str, actor: StaffRef) -> None:
        ask = DeskQuery(actor, f"answers {draft.mention_id} /{name}", place=draft.channel)
        result = await self.dispatch(ask)
        if not result.ok:
            await self.say(draft.channel, actor, result.message)
            return
        filled = dataclasses.replace(draft, text=result.message, fills=draft.fills + 1)
        form = reply_view(filled, self.limits, card=result.view, choices=result.choices)
        try:
            await self.client.call("views_update", view_id=view_id, hash=hash_ or None, view=form)
        except PatronDeskError as exc:
            log.warning("views.update failed: %s", exc)
            await self.say(draft.channel, actor, "The form changed meanwhile; choose the answer again.")

    async def _open_view(
        self, click: Click, form: Callable[[ActionResult], dict[str, Any]], *, decide: str = ""
    ) -> None:
        allowed = await self.dispatch(OpenForm(click.mention_id, click.actor, decide=decide))
        if not allowed.ok:
            await self.say(click.channel, click.actor, allowed.message)
            return
        try:
            await self.client.call("views_open", trigger_id=click.trigger_id, view=form(allowed))
        except PatronDeskError as exc:
            log.warning("views.open failed: %s", exc)
            await self.say(
                click.channel, click.actor, "Slack did not open the form in time; press the button again."
            )

    async def say(self, channel: str, who: StaffRef, text: str) -> None:
        """An ephemeral message to one person (the staff channel when the payload had none)."""
        try:
            await self.client.call(
                "chat_postEphemeral", channel=channel or self.staff_channel, user=who.user_id, text=text
            )
        except PatronDeskError as exc:
            log.warning("ephemeral answer failed: %s", exc)

    async def answer(self, response_url: str, channel: str, who: StaffRef, text: str) -> None:
        """Answer a slash command privately, through its response_url when there is one."""
        if not response_url:
            await self.say(channel, who, text)
            return
        try:
            await self.client.respond(response_url, {"response_type": "ephemeral", "text": text})
        except PatronDeskError as exc:
            log.warning("slash command answer failed: %s", exc)
