"""Listeners of the Reply form: open it (or Edit a held reply), fill a saved answer, preview, publish."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from functools import partial
from typing import Any

from bot.models import Approve, OpenForm, StaffAction
from bot.platforms import REGISTRY
from bot.platforms.slack.clicks import REPLY_HAS_VISIBILITY, parse_actor, reply_action
from bot.platforms.slack.modal import parse_answer_pick, preview_view, read_confirm, read_reply, reply_view
from bot.platforms.slack.reply_draft import METADATA_LIMIT, TEXT_BLOCK, ReplyDraft, check_reply
from bot.platforms.slack.responder import Ack, SlackResponder
from bot.views import ActionResult


class ReplyForms(SlackResponder):
    """The Reply, Edit, saved-answer and Publish listeners (registered by ``SlackActions``)."""

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
