"""Bolt listeners of the staff desk: every click is acked first, then turned into a StaffAction.

Listeners stay small (bolt runs with ``process_before_response``, so the ack leaves when the listener
returns): they ack, parse with the pure ``parse_*`` functions below, and hand the slow part (the
service, views.open, the ephemeral answer) to a task. Nothing here changes state by itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from bot.core.base import ACTION_FAILED, OnAction
from bot.errors import PatronDeskError
from bot.models import (
    ActionResult,
    AddNote,
    Approve,
    Claim,
    DeskQuery,
    Ignore,
    OpenForm,
    Reassign,
    Reject,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    SetTag,
    Snooze,
    StaffAction,
    StaffRef,
    Visibility,
    Wake,
)
from bot.platforms import REGISTRY
from bot.platforms.slack.cards import (
    APPROVE,
    CLAIM,
    EDIT,
    IGNORE,
    NOTE,
    OPEN,
    REASSIGN,
    REJECT,
    RELEASE,
    REPLY,
    RESOLVE,
    RESOLVE_READ,
    SNOOZE_AT,
    SNOOZES,
    WAKE,
    notice_text,
)
from bot.platforms.slack.cards import parse_button_value as parse_value
from bot.platforms.slack.client import SlackClient
from bot.platforms.slack.modal import (
    ANSWER_SELECT,
    CONFIRM_VIEW,
    METADATA_LIMIT,
    NOTE_VIEW,
    REASSIGN_VIEW,
    REPLY_VIEW,
    RESOLVE_VIEW,
    TEXT_BLOCK,
    Limits,
    ReplyDraft,
    check_reply,
    note_view,
    parse_answer_pick,
    preview_view,
    read_confirm,
    read_note,
    read_reassign,
    read_reply,
    read_resolve,
    reassign_view,
    reply_view,
    resolve_view,
)
from bot.platforms.slack.roster import SlackRoster
from bot.platforms.slack.set_aside_forms import (
    REJECT_VIEW,
    SNOOZE_VIEW,
    read_reject,
    read_snooze,
    reject_view,
    snooze_view,
)

log = logging.getLogger(__name__)

SIMPLE: dict[str, type[Claim | Release | Resolve | Ignore]] = {
    CLAIM: Claim,
    RELEASE: Release,
    RESOLVE: Resolve,
    IGNORE: Ignore,
}


def set_aside_action(click: Click) -> StaffAction | None:
    """Snooze (until the button's time), wake or approve; None for any other button (Reject and
    Snooze until… open a form first)."""
    if click.action_id in SNOOZES:
        return Snooze(click.mention_id, click.actor, SNOOZES[click.action_id][1])
    kinds: dict[str, type[Wake | Approve]] = {WAKE: Wake, APPROVE: Approve}
    kind = kinds.get(click.action_id)
    return kind(click.mention_id, click.actor) if kind else None


REPLY_HAS_VISIBILITY = "visibility" in {f.name for f in dataclasses.fields(Reply)}
READY_WAIT = 2.5
Ack = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Click:
    """One button press on a card: who, which action, which mention, where."""

    actor: StaffRef
    action_id: str
    mention_id: int
    value: dict[str, Any]
    channel: str
    trigger_id: str


def parse_actor(user: dict[str, Any]) -> StaffRef:
    """The staff member in an interaction payload's ``user``."""
    return StaffRef("slack", str(user.get("id", "")), str(user.get("name") or user.get("username") or ""))


def parse_click(body: dict[str, Any]) -> Click | None:
    """A ``block_actions`` payload as a Click; None when it is not one of our buttons."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    if not isinstance(body.get("user"), dict):
        return None
    value = parse_value(actions[0].get("value"))
    if value is None:
        return None
    return Click(
        actor=parse_actor(body["user"]),
        action_id=str(actions[0].get("action_id", "")),
        mention_id=value["m"],
        value=value,
        channel=click_channel(body),
        trigger_id=str(body.get("trigger_id", "")),
    )


def click_channel(body: dict[str, Any]) -> str:
    """The channel a payload came from ("" when it names none)."""
    container, channel = body.get("container"), body.get("channel")
    found = container.get("channel_id") if isinstance(container, dict) else None
    if not found and isinstance(channel, dict):
        found = channel.get("id")
    return str(found or "")


def reply_action(draft: ReplyDraft, actor: StaffRef) -> Reply:
    """The Reply for a confirmed draft (with the chosen visibility when the model carries one)."""
    fields: dict[str, Any] = {"mention_id": draft.mention_id, "actor": actor, "text": draft.text}
    fields["confirmed"] = draft.warned  # the preview showed the privacy warning and Publish was pressed
    if (
        REPLY_HAS_VISIBILITY
        and draft.choose_visibility
        and draft.visibility in Visibility.__members__.values()
    ):
        fields["visibility"] = Visibility(draft.visibility)
    return Reply(**fields)


class TaskSet:
    """Background tasks a desk owns: errors logged by type (never payloads), cancelled on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` in the background."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack task %s failed: %s", task.get_name(), type(task.exception()).__name__)

    async def idle(self) -> None:
        """Wait until no task is running (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel whatever is left."""
        for task in list(self._tasks):
            task.cancel()
        await self.idle()


class SlackActions:
    """Registers the desk's listeners on the shared bolt app and answers every click."""

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

    async def _reply_open(self, ack: Ack, body: dict[str, Any]) -> None:
        click = await self._clicked(ack, body)
        if click is None:
            return
        platform, visibility = str(click.value.get("p", "")), str(click.value.get("v", ""))
        spec = REGISTRY.get(platform)
        choose = REPLY_HAS_VISIBILITY and spec is not None and spec.reply_visibility
        draft = ReplyDraft(click.mention_id, platform, visibility, click.channel, choose_visibility=choose)
        # the trigger id dies 3 s after the click: only the gate's quick check comes before views.open
        form = partial(reply_view, draft, self.limits)  # drawn with the card the gate hands back
        self._open_form(click, lambda got: form(card=got.view, choices=got.choices))

    async def _edit_open(self, ack: Ack, body: dict[str, Any]) -> None:
        """Edit on a held reply: the Reply form with the held text; Publish approves the edited text."""
        click = await self._clicked(ack, body)
        if click is None:
            return
        platform, visibility = str(click.value.get("p", "")), str(click.value.get("v", ""))
        draft = ReplyDraft(click.mention_id, platform, visibility, click.channel, approve=True)

        def form(opened: ActionResult) -> dict[str, Any]:
            card = opened.view
            held = card.reply_text if card is not None and card.reply_text else ""
            return reply_view(replace(draft, text=held), self.limits, card=card, choices=opened.choices)

        self._open_form(click, form, decide="approve")

    async def _reassign_open(self, ack: Ack, body: dict[str, Any]) -> None:
        click = await self._clicked(ack, body)
        if click is not None:
            view = reassign_view(click.mention_id, channel=click.channel)
            self._open_form(click, lambda got: view)

    async def _reply_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        draft, errors = read_reply(view, self.limits)
        warning = ""
        if draft is not None:  # a forged or stale submission is refused here too, not only at Publish
            actor = parse_actor(body.get("user") or {})
            gate = await self.dispatch(OpenForm(draft.mention_id, actor, text=draft.text))
            if not gate.ok:
                errors = {draft.text_block: gate.message}
                draft = None
            else:
                warning = gate.message  # what the privacy guard found ("" when nothing)
                draft = dataclasses.replace(draft, text=gate.extra[0] if gate.extra else draft.text)
                too_long = check_reply(draft.text, draft.platform, self.limits)  # a filled saved answer
                if too_long is None and len(draft.metadata()) > METADATA_LIMIT:
                    too_long = "This reply is too long to send from Slack; shorten it."
                if too_long:
                    errors = {draft.text_block: too_long}
                    draft = None
        if draft is None:
            await ack(response_action="errors", errors=errors or {TEXT_BLOCK: "Check the reply."})
        else:
            await ack(response_action="push", view=preview_view(draft, self.limits, warning=warning))

    async def _answer_picked(self, ack: Ack, body: dict[str, Any]) -> None:
        """A saved answer chosen in the editor: the service fills it for this card, the form shows it."""
        await ack()
        picked = parse_answer_pick(body)
        if picked is not None and isinstance(body.get("user"), dict):
            self.tasks.spawn(self._fill(*picked, parse_actor(body["user"])), "slack:views.update")

    async def _reply_confirmed(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack(response_action="clear")
        draft = read_confirm(view)
        actor = parse_actor(body.get("user") or {})
        if draft is None or check_reply(draft.text, draft.platform, self.limits) is not None:
            self.tasks.spawn(
                self.say(draft.channel if draft else "", actor, "That reply was not sent."), "slack:say"
            )
            return
        if draft.approve:  # the approver's edit of a held reply: approving is the decision
            action: StaffAction = Approve(draft.mention_id, actor, draft.text)
        else:
            action = reply_action(draft, actor)
        self.tasks.spawn(self.run(action, draft.channel), "slack:reply")

    async def _reassign_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        choice, errors = read_reassign(view)
        if choice is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="clear")
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
        choice, errors = read_reject(view)
        if choice is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="clear")
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
        choice, errors = read_note(view)
        if choice is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="clear")
        actor = parse_actor(body.get("user") or {})
        steps: list[StaffAction] = [SetTag(choice.mention_id, actor, tag) for tag in choice.add]
        steps += [SetTag(choice.mention_id, actor, tag, remove=True) for tag in choice.remove]
        if choice.text:
            steps.append(AddNote(choice.mention_id, actor, choice.text))
        self.tasks.spawn(self.run_all(steps, choice.channel), "slack:note")

    async def _resolve_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        choice, errors = read_resolve(view)
        if choice is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="clear")
        actor = parse_actor(body.get("user") or {})
        action = Resolve(
            choice.mention_id, actor, read_level=choice.read_level, directional=choice.directional
        )
        self.tasks.spawn(self.run(action, choice.channel), "slack:resolve")

    async def run_all(self, steps: list[StaffAction], channel: str) -> None:
        """Several actions from one form, in order; the actor gets one message listing every answer."""
        said: list[str] = []
        for step in steps:
            result = await self.dispatch(await self.named(step))
            if result.message:
                said.append(result.message)
        if said and steps:
            await self.say(channel, steps[0].actor, notice_text(said[0], said[1:]))

    async def _rota(self, ack: Ack, command: dict[str, Any]) -> None:
        await ack()
        self.tasks.spawn(self._command(command, rota=True), "slack:/rota")

    async def _desk(self, ack: Ack, command: dict[str, Any]) -> None:
        await ack()
        self.tasks.spawn(self._command(command, rota=False), "slack:/desk")

    def _not_ours(self, body: dict[str, Any]) -> None:
        """A button whose value names no card (tampered, or from another app): say so, change nothing."""
        user = body.get("user")
        if isinstance(user, dict) and user.get("id"):
            text = "That button does not belong to a card here, so nothing was changed."
            self.tasks.spawn(self.say(click_channel(body), parse_actor(user), text), "slack:say")

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
