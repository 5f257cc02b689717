"""Pure building and checking of the Reply modal (Block Kit views as dicts).

Reply is two steps: the editor (a saved answer to start from, the text, the platform's limit,
visibility for Mastodon) and a pushed preview showing exactly what will be published, with the
privacy guard's warning and the private way to answer where the platform has one; closing the preview
goes back to the editor. The draft travels in ``private_metadata`` (JSON), so nothing is kept in memory
between the steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import grapheme
from slack_sdk.models.blocks import (
    ActionsBlock,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.cards import author_line, source_name
from bot.models import Visibility
from bot.platforms.slack.escaping import safe_text
from bot.platforms.slack.reply_draft import (
    ANSWER_BLOCK,
    ANSWER_SELECT,
    CONFIRM_VIEW,
    METADATA_LIMIT,
    PRIVACY_BLOCK,
    PUBLISH_ANYWAY,
    PUBLISH_PRIVATELY,
    REPLY_VIEW,
    TEXT_BLOCK,
    VIS_BLOCK,
    Limits,
    ReplyDraft,
    check_reply,
    limit_for,
    parse_metadata,
)
from bot.views import TicketView

VISIBILITY_LABELS = {
    Visibility.PUBLIC.value: "Public",
    Visibility.UNLISTED.value: "Unlisted",
    Visibility.PRIVATE.value: "Followers only",
    Visibility.DIRECT.value: "Private mention (direct)",
}


QUESTION_LIMIT = 1500  # characters of the patron's words shown above the text box


def reply_view(
    draft: ReplyDraft,
    limits: Limits | None = None,
    *,
    card: TicketView | None = None,
    choices: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The editor: the patron's question (from ``card``), the saved answers (``choices``) to start
    from, the text box with the limit shown, and visibility where the platform has it."""
    limit = limit_for(draft.platform, limits)
    where = source_name(draft.platform)
    label = f"Your reply (up to {limit} characters)" if limit else "Your reply"
    hint = (
        f"Published on {where} as a reply in the patron's thread. "
        "Notes to colleagues belong in the card's Slack thread: those never reach the patron."
    )
    box = PlainTextInputElement(
        action_id="text", multiline=True, max_length=3000, initial_value=draft.text or None
    )
    blocks: list[Any] = [
        SectionBlock(text=MarkdownTextObject(text=f"Replying to *#{draft.mention_id}* on *{where}*.")),
    ]
    if draft.approve:
        note = "You are editing a reply held for your approval: *Publish* approves your version."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    if card is not None and card.mention_id == draft.mention_id:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_question(card))))
    if choices:
        blocks.append(_answer_block(choices))
    blocks.append(InputBlock(block_id=draft.text_block, label=label, element=box, hint=hint))
    if draft.choose_visibility:
        blocks.append(_visibility_block(draft.visibility))
    view = View(
        type="modal",
        callback_id=REPLY_VIEW,
        title=f"Reply to #{draft.mention_id}"[:24],
        submit="Preview",
        close="Cancel",
        blocks=blocks,
        private_metadata=draft.metadata(),
    )
    return view.to_dict()


def _question(card: TicketView) -> str:
    """``*Pat* (@pat) wrote:`` and their words as a quote (escaped: patron text never pings)."""
    who = safe_text(author_line(card), 200)
    words = safe_text(card.text, QUESTION_LIMIT) if card.text.strip() else "_(no text)_"
    quoted = "\n".join("> " + line for line in words.splitlines() or [""])
    return f"*{who}* wrote:\n{quoted}"


def _answer_block(choices: tuple[str, ...]) -> ActionsBlock:
    """A select of saved answers: choosing one fills the text box (still editable)."""
    options = [Option(value=name, label=f"/{name}"[:75]) for name in choices[:100]]
    hint = "Start from a saved answer"
    pick = StaticSelectElement(action_id=ANSWER_SELECT, placeholder=hint, options=options)
    return ActionsBlock(block_id=ANSWER_BLOCK, elements=[pick])


def _visibility_block(current: str) -> InputBlock:
    options = [Option(value=value, label=label) for value, label in VISIBILITY_LABELS.items()]
    initial = next((o for o in options if o.value == current), options[0])
    radios = RadioButtonsElement(action_id="visibility", options=options, initial_option=initial)
    return InputBlock(block_id=VIS_BLOCK, label="Who can see the reply", element=radios)


def read_reply(
    view: dict[str, Any], limits: Limits | None = None
) -> tuple[ReplyDraft | None, dict[str, str]]:
    """The editor's submission: the draft with its text, or errors keyed by block id."""
    draft = parse_metadata(view.get("private_metadata"))
    if draft is None:
        return None, {TEXT_BLOCK: "This form is out of date; close it and press Reply again."}
    values = (view.get("state") or {}).get("values") or {}
    text = str(((values.get(draft.text_block) or {}).get("text") or {}).get("value") or "").strip()
    chosen = ((values.get(VIS_BLOCK) or {}).get("visibility") or {}).get("selected_option") or {}
    visibility = chosen.get("value") if isinstance(chosen, dict) else None
    if visibility not in VISIBILITY_LABELS:
        visibility = draft.visibility
    error = check_reply(text, draft.platform, limits)
    draft = dataclasses.replace(draft, visibility=str(visibility), text=text, warned=False)
    if error is None and len(draft.metadata()) > METADATA_LIMIT:
        error = "This reply is too long to send from Slack; shorten it."
    return (None, {draft.text_block: error}) if error else (draft, {})


def preview_view(draft: ReplyDraft, limits: Limits | None = None, *, warning: str = "") -> dict[str, Any]:
    """The pushed preview: the reply exactly as it will be published; Back returns to the editor.

    With ``warning`` (what the privacy guard found), the preview says so and offers the private way
    (a direct message, where the platform has one) or publishing anyway: nothing is blocked silently.
    """
    limit = limit_for(draft.platform, limits)
    count = grapheme.length(draft.text)
    size = f"{count} of {limit} characters" if limit else f"{count} characters"
    where = f"*{source_name(draft.platform)}*"
    seen = VISIBILITY_LABELS.get(draft.visibility, "as the original")
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"This will be published on {where} as a reply to #{draft.mention_id}:"
            )
        ),
        SectionBlock(text=MarkdownTextObject(text=safe_text(draft.text, 3000), verbatim=True)),
        ContextBlock(elements=[PlainTextObject(text=f"{size} · visibility: {seen}")]),
    ]
    blocks += privacy_blocks(draft, warning)
    view = View(
        type="modal",
        callback_id=CONFIRM_VIEW,
        title="Check your reply",
        submit="Publish anyway" if warning and not draft.choose_visibility else "Publish",
        close="Back",
        blocks=blocks,
        private_metadata=dataclasses.replace(draft, warned=bool(warning)).metadata(),
    )
    return view.to_dict()


def privacy_blocks(draft: ReplyDraft, warning: str) -> list[Any]:
    """The guard's warning, and the choice between a private reply and publishing anyway."""
    if not warning:
        return []
    said = f"⚠️ *Private data:* {warning}, which must not be made public."
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=safe_text(said, 2900)))]
    if not draft.choose_visibility:
        advice = (
            "Publish only if it is safe; otherwise go Back and ask the patron to contact the library "
            "privately (a saved answer may say so)."
        )
        return [*blocks, ContextBlock(elements=[PlainTextObject(text=advice)])]
    options = [
        Option(value=PUBLISH_PRIVATELY, label="Send it as a private mention (direct) instead"),
        Option(value=PUBLISH_ANYWAY, label="Publish as chosen: I checked, it is safe"),
    ]
    radios = RadioButtonsElement(action_id="privacy", options=options, initial_option=options[0])
    return [*blocks, InputBlock(block_id=PRIVACY_BLOCK, label="How to answer", element=radios)]


def read_confirm(view: dict[str, Any]) -> ReplyDraft | None:
    """The preview's submission: the draft, made direct when the private way was chosen."""
    draft = parse_metadata(view.get("private_metadata"))
    if draft is None:
        return None
    values = (view.get("state") or {}).get("values") or {}
    chosen = ((values.get(PRIVACY_BLOCK) or {}).get("privacy") or {}).get("selected_option") or {}
    private = isinstance(chosen, dict) and chosen.get("value") == PUBLISH_PRIVATELY
    if draft.warned and draft.choose_visibility and private:
        return dataclasses.replace(draft, visibility=Visibility.DIRECT.value, warned=False)
    return draft


def parse_answer_pick(body: dict[str, Any]) -> tuple[str, str, ReplyDraft, str] | None:
    """``(view_id, hash, draft, answer name)`` for a saved answer chosen in the editor, else None."""
    view, actions = body.get("view"), body.get("actions")
    if not isinstance(view, dict) or not isinstance(actions, list) or not actions:
        return None
    action = actions[0] if isinstance(actions[0], dict) else {}
    picked = action.get("selected_option")
    name = picked.get("value") if isinstance(picked, dict) else None
    draft = parse_metadata(view.get("private_metadata"))
    if action.get("action_id") != ANSWER_SELECT or not isinstance(name, str) or draft is None:
        return None
    view_id, hash_ = view.get("id"), view.get("hash")
    if not isinstance(view_id, str) or not view_id or len(name) > 60:
        return None
    return view_id, str(hash_ or ""), draft, name
