"""Pure building and checking of the Reply and Reassign modals (Block Kit views as dicts).

Reply is two steps: the editor (a saved answer to start from, the text, the platform's limit,
visibility for Mastodon) and a pushed preview showing exactly what will be published, with the
privacy guard's warning and the private way to answer where the platform has one; closing the preview
goes back to the editor. The draft travels in ``private_metadata`` (JSON), so nothing is kept in memory
between the steps.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
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
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.core.cards import author_line, source_name
from bot.domain.notes import NOTE_LIMIT
from bot.models import MAX_ID, TicketView, Visibility
from bot.platforms import default_reply_limits
from bot.platforms.base import ReplyLimits
from bot.platforms.slack.cards import safe_text

REPLY_VIEW, CONFIRM_VIEW, REASSIGN_VIEW = "pd_reply", "pd_reply_confirm", "pd_reassign"
TEXT_BLOCK, VIS_BLOCK, ROLE_BLOCK, PERSON_BLOCK = "pd_text", "pd_vis", "pd_role", "pd_person"
ANSWER_BLOCK, ANSWER_SELECT, PRIVACY_BLOCK = "pd_answer", "pd_answer_pick", "pd_privacy"
PUBLISH_PRIVATELY, PUBLISH_ANYWAY = "private", "anyway"
Limits = Callable[[str], int | None]
"""Reply length per platform, in graphemes (what the patron sees as characters); None: no limit."""
DEFAULT_LIMITS: Limits = ReplyLimits(default_reply_limits())  # each platform's documented figure
METADATA_LIMIT = 3000
VISIBILITY_LABELS = {
    Visibility.PUBLIC.value: "Public",
    Visibility.UNLISTED.value: "Unlisted",
    Visibility.PRIVATE.value: "Followers only",
    Visibility.DIRECT.value: "Private mention (direct)",
}


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """What the editor carries: which mention, where, and (after the editor) the text."""

    mention_id: int
    platform: str
    visibility: str
    channel: str
    text: str = ""
    choose_visibility: bool = False
    approve: bool = False  # the approver editing a held reply: Publish approves the edited text
    fills: int = 0  # saved answers put in the text box so far (each fill gets a fresh box)
    warned: bool = False  # the preview showed the privacy guard's warning: Publish confirms it

    @property
    def text_block(self) -> str:
        """The text box's block id: Slack keeps what was typed in a block it knows, so a fill
        from a saved answer needs a new one."""
        return f"{TEXT_BLOCK}_{self.fills}" if self.fills else TEXT_BLOCK

    def metadata(self) -> str:
        """The draft as ``private_metadata``."""
        data: dict[str, Any] = {"m": self.mention_id, "p": self.platform, "v": self.visibility}
        data["c"] = self.channel
        if self.text:
            data["t"] = self.text
        if self.choose_visibility:
            data["cv"] = 1
        if self.approve:
            data["a"] = 1
        if self.fills:
            data["f"] = self.fills
        if self.warned:
            data["w"] = 1
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def parse_metadata(raw: str | None) -> ReplyDraft | None:
    """A draft from ``private_metadata``; None when it is not one of ours."""
    try:
        data = json.loads(raw or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or type(data.get("m")) is not int:
        return None
    fields = [data.get(key, "") for key in ("p", "v", "c", "t")]
    if not all(isinstance(value, str) for value in fields):
        return None
    platform, visibility, channel, text = fields
    fills = data.get("f", 0)
    fills = fills if type(fills) is int and 0 <= fills < 10_000 else 0
    return ReplyDraft(
        data["m"],
        platform,
        visibility,
        channel,
        text,
        bool(data.get("cv")),
        approve=bool(data.get("a")),
        fills=fills,
        warned=bool(data.get("w")),
    )


def limit_for(platform: str, limits: Limits | None = None) -> int | None:
    """The reply limit in graphemes (the source's own when it told us), or None when there is none."""
    return (limits or DEFAULT_LIMITS)(platform)


def check_reply(text: str, platform: str, limits: Limits | None = None) -> str | None:
    """Why the reply cannot be sent (shown under the text box), or None when it is fine."""
    if not text.strip():
        return "Write the reply first."
    limit = limit_for(platform, limits)
    count = grapheme.length(text.strip())
    if limit is not None and count > limit:
        return f"{count} characters: {source_name(platform)} allows {limit}. Shorten it by {count - limit}."
    return None


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


def reassign_view(mention_id: int, *, channel: str) -> dict[str, Any]:
    """Reassign to a role (by its key) or to a person (a Slack user)."""
    role = PlainTextInputElement(action_id="role", max_length=100, placeholder="e.g. reference")
    person = UserSelectElement(action_id="person", placeholder="Pick a colleague")
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(text=f"Hand *#{mention_id}* to another role *or* to one person.")
        ),
        InputBlock(block_id=ROLE_BLOCK, label="Role", element=role, optional=True),
        InputBlock(block_id=PERSON_BLOCK, label="Person", element=person, optional=True),
    ]
    return card_modal(REASSIGN_VIEW, "Reassign", mention_id, channel, blocks)


def card_modal(
    callback_id: str, verb: str, mention_id: int, channel: str, blocks: list[Any]
) -> dict[str, Any]:
    """A small form about one card: "<Verb> #N" with Cancel; the card and channel ride in its metadata."""
    meta = json.dumps({"m": mention_id, "c": channel}, separators=(",", ":"))
    view = View(
        type="modal",
        callback_id=callback_id,
        title=f"{verb} #{mention_id}"[:24],
        submit=verb,
        close="Cancel",
        blocks=blocks,
        private_metadata=meta,
    )
    return view.to_dict()


@dataclass(frozen=True, slots=True)
class ReassignChoice:
    """A checked Reassign submission: exactly one of ``role`` and ``person`` (``<@U…>``)."""

    mention_id: int
    channel: str
    role: str | None
    person: str | None


def read_reassign(view: dict[str, Any]) -> tuple[ReassignChoice | None, dict[str, str]]:
    """The Reassign submission, or errors keyed by block id."""
    draft = parse_metadata(view.get("private_metadata"))
    if draft is None:
        return None, {ROLE_BLOCK: "This form is out of date; close it and press Reassign again."}
    values = (view.get("state") or {}).get("values") or {}
    role = str(((values.get(ROLE_BLOCK) or {}).get("role") or {}).get("value") or "").strip()
    user = str(((values.get(PERSON_BLOCK) or {}).get("person") or {}).get("selected_user") or "").strip()
    if bool(role) == bool(user):
        return None, {ROLE_BLOCK: "Give a role or pick a person (one of the two)."}
    person = f"<@{user}>" if user else None
    return ReassignChoice(draft.mention_id, draft.channel, role or None, person), {}


# --- Note & tags, and Resolve with the READ Scale ---------------------------------------------------

NOTE_VIEW, RESOLVE_VIEW = "pd_note_form", "pd_resolve_form"
NOTE_BLOCK, TAGS_BLOCK, READ_BLOCK, KIND_BLOCK = "pd_note_text", "pd_tags", "pd_read", "pd_kind"
READ_LABELS = {
    1: "1 · directions, hours, a quick answer",
    2: "2 · a little looking up",
    3: "3 · some searching, a few sources",
    4: "4 · real research help",
    5: "5 · substantial, several sources",
    6: "6 · in-depth, specialist work",
}
KIND_LABELS = {"reference": "Reference question", "directional": "Directional (where, when, how to find)"}


def note_view(
    mention_id: int, *, channel: str, tags: tuple[str, ...], current: tuple[str, ...]
) -> dict[str, Any]:
    """An internal note (optional) and the card's tags (a multi-select of the rules file's tags)."""
    text = PlainTextInputElement(
        action_id="text", multiline=True, max_length=NOTE_LIMIT, placeholder="Seen only by staff"
    )
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*#{mention_id}*: a note is shown on the card for staff and never sent to the patron."
            )
        ),
        InputBlock(block_id=NOTE_BLOCK, label="Internal note", element=text, optional=True),
    ]
    shown = tags[:100]  # Slack's limit of options in a select
    if shown:
        options = [Option(value=tag, text=PlainTextObject(text=tag[:75])) for tag in shown]
        initial = [o for o in options if o.value in current] or None
        select = StaticMultiSelectElement(
            action_id="tags", options=options, initial_options=initial, placeholder="Choose tags"
        )
        blocks.append(InputBlock(block_id=TAGS_BLOCK, label="Tags", element=select, optional=True))
    known = [t for t in current if t in shown]
    meta = json.dumps({"m": mention_id, "c": channel, "t": known}, separators=(",", ":"))
    view = View(
        type="modal",
        callback_id=NOTE_VIEW,
        title=f"Note & tags #{mention_id}"[:24],
        submit="Save",
        close="Cancel",
        blocks=blocks,
        private_metadata=meta[:METADATA_LIMIT],
    )
    return view.to_dict()


@dataclass(frozen=True, slots=True)
class NoteChoice:
    """A checked Note & tags submission: the note ("" for none) and the tags to add and to take off."""

    mention_id: int
    channel: str
    text: str
    add: tuple[str, ...]
    remove: tuple[str, ...]


def _meta(view: dict[str, Any]) -> dict[str, Any] | None:
    try:
        data = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    mention_id, channel = data.get("m"), data.get("c", "")
    if not isinstance(mention_id, int) or isinstance(mention_id, bool) or not 0 < mention_id <= MAX_ID:
        return None
    return data if isinstance(channel, str) else None


def read_card_meta(view: dict[str, Any]) -> dict[str, Any] | None:
    """The card (``m``) and channel (``c``) a small form was opened for; None when out of date or forged."""
    return _meta(view)


def read_note(view: dict[str, Any]) -> tuple[NoteChoice | None, dict[str, str]]:
    """The Note & tags submission, or errors keyed by block id (a forged one says so, changes nothing)."""
    data = _meta(view)
    if data is None:
        return None, {NOTE_BLOCK: "This form is out of date; close it and press Note & tags again."}
    values = (view.get("state") or {}).get("values") or {}
    text = str(((values.get(NOTE_BLOCK) or {}).get("text") or {}).get("value") or "").strip()
    if len(text) > NOTE_LIMIT:
        return None, {NOTE_BLOCK: f"The note is {len(text)} characters; the limit is {NOTE_LIMIT}."}
    before = data.get("t")
    before = [t for t in before if isinstance(t, str)] if isinstance(before, list) else []
    chosen: list[str] = []
    if TAGS_BLOCK in values:
        picked = ((values.get(TAGS_BLOCK) or {}).get("tags") or {}).get("selected_options") or []
        chosen = [str(o.get("value", ""))[:64] for o in picked if isinstance(o, dict)][:100]
    else:
        chosen = before  # no tags offered: none changed
    add = tuple(t for t in chosen if t not in before)
    remove = tuple(t for t in before if t not in chosen)
    if not text and not add and not remove:
        return None, {NOTE_BLOCK: "Write a note or change the tags (or press Cancel)."}
    return NoteChoice(data["m"], data["c"], text, add, remove), {}


def resolve_view(mention_id: int, *, channel: str) -> dict[str, Any]:
    """Resolve with the READ Scale level and whether it was a reference or a directional question."""
    levels = [Option(value=str(n), text=PlainTextObject(text=label)) for n, label in READ_LABELS.items()]
    kinds = [Option(value=key, text=PlainTextObject(text=label)) for key, label in KIND_LABELS.items()]
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(text=f"Resolve *#{mention_id}* and count it for the statistics.")
        ),
        InputBlock(
            block_id=READ_BLOCK,
            label="READ Scale",
            element=StaticSelectElement(action_id="read", options=levels, placeholder="Effort 1-6"),
            optional=True,
        ),
        InputBlock(
            block_id=KIND_BLOCK,
            label="Kind of question",
            element=RadioButtonsElement(action_id="kind", options=kinds),
            optional=True,
        ),
    ]
    return card_modal(RESOLVE_VIEW, "Resolve", mention_id, channel, blocks)


@dataclass(frozen=True, slots=True)
class ResolveChoice:
    """A checked Resolve submission."""

    mention_id: int
    channel: str
    read_level: int | None
    directional: bool | None


def read_resolve(view: dict[str, Any]) -> tuple[ResolveChoice | None, dict[str, str]]:
    """The Resolve submission, or errors keyed by block id (a level outside 1-6 is refused)."""
    data = _meta(view)
    if data is None:
        return None, {READ_BLOCK: "This form is out of date; close it and press Resolve with READ again."}
    values = (view.get("state") or {}).get("values") or {}
    level_raw = (((values.get(READ_BLOCK) or {}).get("read") or {}).get("selected_option") or {}).get("value")
    kind_raw = (((values.get(KIND_BLOCK) or {}).get("kind") or {}).get("selected_option") or {}).get("value")
    level: int | None = None
    if level_raw is not None:
        if str(level_raw) not in {str(n) for n in READ_LABELS}:
            return None, {READ_BLOCK: "The READ Scale goes from 1 to 6."}
        level = int(str(level_raw))
    directional: bool | None = None
    if kind_raw is not None:
        if kind_raw not in KIND_LABELS:
            return None, {KIND_BLOCK: "Choose reference or directional."}
        directional = kind_raw == "directional"
    return ResolveChoice(data["m"], data["c"], level, directional), {}
