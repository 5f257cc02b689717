"""Block Kit checks the emulator applies, with Slack's limits and its error wording.

Lengths are counted in UTF-16 code units. Each problem is reported as Slack does in
``response_metadata.messages``: ``[ERROR] <what> [json-pointer:/blocks/0/text/text]``.
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS, MODAL_BLOCKS = 50, 100
BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "input", "image", "rich_text"}


def units(text: str) -> int:
    """Slack's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class Checker:
    """Collects problems in one surface (a message's or a modal's blocks)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, what: str, where: str) -> None:
        self.errors.append(f"[ERROR] {what} [json-pointer:{where}]")

    def text(self, obj: Any, where: str, *, limit: int, plain_only: bool = False) -> None:
        if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
            self.fail("must be a text object", where)
            return
        if plain_only and obj["type"] != "plain_text":
            self.fail("must be plain_text", f"{where}/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.fail("must be more than 0 characters", f"{where}/text")
        elif units(text) > limit:
            self.fail(f"must be less than {limit + 1} characters", f"{where}/text")
        if obj["type"] == "plain_text" and "verbatim" in obj:
            self.fail("verbatim is not allowed on plain_text", where)

    def string(self, value: Any, where: str, *, limit: int, required: bool = True) -> None:
        if value is None and not required:
            return
        if not isinstance(value, str) or (required and not value):
            self.fail("must be a non-empty string", where)
        elif units(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", where)

    def confirm(self, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            self.fail("must be a confirm object", where)
            return
        self.text(obj.get("title"), f"{where}/title", limit=100, plain_only=True)
        self.text(obj.get("text"), f"{where}/text", limit=300)
        for key in ("confirm", "deny"):
            if key in obj:
                self.text(obj[key], f"{where}/{key}", limit=30, plain_only=True)

    def element(self, el: Any, where: str) -> None:
        if not isinstance(el, dict):
            self.fail("must be an element", where)
            return
        kind = el.get("type")
        if kind == "image":
            self.string(el.get("image_url"), f"{where}/image_url", limit=3000)
            return
        self.string(el.get("action_id"), f"{where}/action_id", limit=255)
        if kind == "button":
            self.text(el.get("text"), f"{where}/text", limit=75, plain_only=True)
            self.string(el.get("value"), f"{where}/value", limit=2000, required=False)
            self.string(el.get("url"), f"{where}/url", limit=3000, required=False)
            if el.get("style") not in (None, "primary", "danger"):
                self.fail("must be primary or danger", f"{where}/style")
            if "confirm" in el:
                self.confirm(el["confirm"], f"{where}/confirm")
        elif kind == "plain_text_input":
            if not 0 < int(el.get("max_length", 3000)) <= 3000:
                self.fail("must be between 1 and 3000", f"{where}/max_length")
            self.string(el.get("initial_value"), f"{where}/initial_value", limit=3000, required=False)
        elif kind == "radio_buttons":
            options = el.get("options") or []
            if not 0 < len(options) <= 10:
                self.fail("must have between 1 and 10 options", f"{where}/options")
            for i, opt in enumerate(options):
                self.text(opt.get("text"), f"{where}/options/{i}/text", limit=75, plain_only=True)
                self.string(opt.get("value"), f"{where}/options/{i}/value", limit=150)
        elif kind in ("static_select", "multi_static_select"):  # Slack: 1-100 options, text 75, value 150
            options = el.get("options") or []
            if not 0 < len(options) <= 100:
                self.fail("must have between 1 and 100 options", f"{where}/options")
            values = set()
            for i, opt in enumerate(options):
                self.text(opt.get("text"), f"{where}/options/{i}/text", limit=75, plain_only=True)
                self.string(opt.get("value"), f"{where}/options/{i}/value", limit=150)
                values.add(opt.get("value"))
            for i, opt in enumerate(el.get("initial_options") or []):
                if opt.get("value") not in values:
                    self.fail("must be one of the options", f"{where}/initial_options/{i}")
        elif kind == "datepicker":  # Slack: initial_date YYYY-MM-DD
            date = el.get("initial_date")
            if date is not None and not (isinstance(date, str) and len(date) == 10 and date[4] == "-"):
                self.fail("must be a date in the format YYYY-MM-DD", f"{where}/initial_date")
        elif kind == "timepicker":  # Slack: initial_time HH:mm
            clock = el.get("initial_time")
            if clock is not None and not (isinstance(clock, str) and len(clock) == 5 and clock[2] == ":"):
                self.fail("must be a time in the format HH:mm", f"{where}/initial_time")
        elif kind not in ("users_select", "conversations_select", "channels_select"):
            self.fail(f"unsupported element type {kind!r}", f"{where}/type")
        if "placeholder" in el:
            self.text(el["placeholder"], f"{where}/placeholder", limit=150, plain_only=True)

    def block(self, block: Any, where: str, *, modal: bool) -> None:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES or (kind == "input" and not modal):
            self.fail(f"unsupported type {kind!r}", f"{where}/type")
            return
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.fail("must provide text or fields", where)
            if "text" in block:
                self.text(block["text"], f"{where}/text", limit=3000)
            if "accessory" in block:
                self.element(block["accessory"], f"{where}/accessory")
        elif kind == "header":
            self.text(block.get("text"), f"{where}/text", limit=150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 10:
                self.fail("must have between 1 and 10 elements", f"{where}/elements")
            for i, el in enumerate(elements):
                if el.get("type") == "image":
                    self.element(el, f"{where}/elements/{i}")
                else:
                    self.text(el, f"{where}/elements/{i}", limit=3000)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 25:
                self.fail("must have between 1 and 25 elements", f"{where}/elements")
            ids = [el.get("action_id") for el in elements if isinstance(el, dict)]
            if len(ids) != len(set(ids)):
                self.fail("action_id must be unique within the block", f"{where}/elements")
            for i, el in enumerate(elements):
                self.element(el, f"{where}/elements/{i}")
        elif kind == "input":
            self.text(block.get("label"), f"{where}/label", limit=2000, plain_only=True)
            if "hint" in block:
                self.text(block["hint"], f"{where}/hint", limit=2000, plain_only=True)
            self.element(block.get("element"), f"{where}/element")


def check_blocks(blocks: Any, *, modal: bool = False) -> list[str]:
    """Every problem in a ``blocks`` array (empty when Slack would accept it)."""
    checker = Checker()
    if not isinstance(blocks, list):
        return ["[ERROR] must be an array [json-pointer:/blocks]"]
    most = MODAL_BLOCKS if modal else MESSAGE_BLOCKS
    if len(blocks) > most:
        checker.fail(f"must have no more than {most} items", "/blocks")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        checker.block(block, f"/blocks/{i}", modal=modal)
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            checker.string(block_id, f"/blocks/{i}/block_id", limit=255)
            if block_id in seen:
                checker.fail("block_id must be unique", f"/blocks/{i}/block_id")
            seen.add(block_id)
    return checker.errors


def check_view(view: Any) -> list[str]:
    """Problems in a modal view (views.open, or a response_action push/update)."""
    if not isinstance(view, dict) or view.get("type") != "modal":
        return ["[ERROR] must be a modal view [json-pointer:/view/type]"]
    checker = Checker()
    checker.text(view.get("title"), "/view/title", limit=24, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            checker.text(view[key], f"/view/{key}", limit=24, plain_only=True)
    checker.string(view.get("private_metadata"), "/view/private_metadata", limit=3000, required=False)
    checker.string(view.get("callback_id"), "/view/callback_id", limit=255, required=False)
    return checker.errors + [
        e.replace("[json-pointer:/", "[json-pointer:/view/")
        for e in check_blocks(view.get("blocks"), modal=True)
    ]
