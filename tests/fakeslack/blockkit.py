"""Block Kit limits as Slack enforces them, so an over-long payload fails in tests the way it fails in Slack.

Only limits Slack documents are checked, and only where Slack rejects the payload (``invalid_blocks``) rather
than truncating it. Each problem is a string in Slack's own style: ``"must be less than 3001 characters
[json-pointer:/blocks/0/text/text]"``.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000

KNOWN_BLOCK_TYPES = {
    "actions",
    "context",
    "context_actions",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
}


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def length(self, value: Any, limit: int, pointer: str, minimum: int = 0) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.err("must be a string", pointer)
            return
        if len(value) > limit:
            self.err(f"must be less than {limit + 1} characters", pointer)
        elif len(value) < minimum:
            self.err(f"must be more than {minimum - 1} characters", pointer)

    def text(self, obj: Any, limit: int, pointer: str, plain_only: bool = False, required: bool = True) -> None:
        if obj is None:
            if required:
                self.err("missing required field: text", pointer)
            return
        if not isinstance(obj, dict):
            self.err("must be a text object", pointer)
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.err(f"must be one of {', '.join(allowed)}", f"{pointer}/type")
        self.length(obj.get("text"), limit, f"{pointer}/text", minimum=1)
        if obj.get("text") is None:
            self.err("missing required field: text", f"{pointer}/text")

    def confirm(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            return
        self.text(obj.get("title"), 100, f"{pointer}/title", plain_only=True)
        self.text(obj.get("text"), 300, f"{pointer}/text")
        self.text(obj.get("confirm"), 30, f"{pointer}/confirm", plain_only=True)
        self.text(obj.get("deny"), 30, f"{pointer}/deny", plain_only=True)

    def option(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            self.err("must be an option object", pointer)
            return
        self.text(obj.get("text"), 75, f"{pointer}/text")
        self.length(obj.get("value"), 150, f"{pointer}/value")
        self.text(obj.get("description"), 75, f"{pointer}/description", required=False)

    def element(self, el: Any, pointer: str) -> None:
        if not isinstance(el, dict):
            self.err("must be an element object", pointer)
            return
        kind = el.get("type")
        self.length(el.get("action_id"), 255, f"{pointer}/action_id")
        if "confirm" in el:
            self.confirm(el["confirm"], f"{pointer}/confirm")
        if "placeholder" in el:
            self.text(el["placeholder"], 150, f"{pointer}/placeholder", plain_only=True)
        if kind == "button":
            self.text(el.get("text"), 75, f"{pointer}/text", plain_only=True)
            self.length(el.get("value"), 2000, f"{pointer}/value")
            self.length(el.get("url"), 3000, f"{pointer}/url")
            style = el.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.err("must be one of primary, danger", f"{pointer}/style")
        elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
            options = el.get("options")
            groups = el.get("option_groups")
            if options is None and groups is None:
                self.err("missing required field: options", f"{pointer}/options")
            if options is not None:
                limit = {"overflow": 5, "radio_buttons": 10, "checkboxes": 10}.get(kind, 100)
                if not isinstance(options, list) or not options:
                    self.err("must provide at least 1 item", f"{pointer}/options")
                elif len(options) > limit:
                    self.err(f"must provide no more than {limit} items", f"{pointer}/options")
                else:
                    for i, opt in enumerate(options):
                        self.option(opt, f"{pointer}/options/{i}")
        elif kind == "image":
            self.length(el.get("alt_text"), 2000, f"{pointer}/alt_text", minimum=1)
        elif kind == "plain_text_input":
            max_length = el.get("max_length")
            if isinstance(max_length, int) and max_length > 3000:
                self.err("must be less than 3001", f"{pointer}/max_length")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.err("must be a block object", pointer)
            return
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.err(f"unsupported type: {kind}", f"{pointer}/type")
            return
        self.length(block.get("block_id"), 255, f"{pointer}/block_id")
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                self.err("must provide either text or fields", pointer)
            self.text(text, 3000, f"{pointer}/text", required=False)
            if fields is not None:
                if not isinstance(fields, list):
                    self.err("must be an array", f"{pointer}/fields")
                else:
                    if len(fields) > 10:
                        self.err("must provide no more than 10 items", f"{pointer}/fields")
                    for i, f in enumerate(fields):
                        self.text(f, 2000, f"{pointer}/fields/{i}")
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory")
        elif kind == "header":
            self.text(block.get("text"), 150, f"{pointer}/text", plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.err("must provide at least 1 item", f"{pointer}/elements")
            elif len(elements) > 10:
                self.err("must provide no more than 10 items", f"{pointer}/elements")
            else:
                for i, el in enumerate(elements):
                    if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                        self.text(el, 3000, f"{pointer}/elements/{i}")
                    else:
                        self.element(el, f"{pointer}/elements/{i}")
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.err("must provide at least 1 item", f"{pointer}/elements")
            elif len(elements) > 25:
                self.err("must provide no more than 25 items", f"{pointer}/elements")
            else:
                for i, el in enumerate(elements):
                    self.element(el, f"{pointer}/elements/{i}")
        elif kind == "image":
            self.length(block.get("image_url"), 3000, f"{pointer}/image_url")
            self.length(block.get("alt_text"), 2000, f"{pointer}/alt_text", minimum=1)
            if block.get("alt_text") is None:
                self.err("missing required field: alt_text", f"{pointer}/alt_text")
            self.text(block.get("title"), 2000, f"{pointer}/title", plain_only=True, required=False)
        elif kind == "input":
            self.text(block.get("label"), 2000, f"{pointer}/label", plain_only=True)
            self.text(block.get("hint"), 2000, f"{pointer}/hint", plain_only=True, required=False)
            if "element" not in block:
                self.err("missing required field: element", f"{pointer}/element")
            else:
                self.element(block["element"], f"{pointer}/element")
        elif kind == "markdown":
            self.length(block.get("text"), 12_000, f"{pointer}/text", minimum=1)

    def blocks(self, blocks: Any, limit: int, pointer: str = "/blocks") -> None:
        if not isinstance(blocks, list):
            self.err("must be an array", pointer)
            return
        if len(blocks) > limit:
            self.err(f"must provide no more than {limit} items", pointer)
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}")


def message_errors(blocks: Any) -> list[str]:
    """Problems with a message's ``blocks`` (chat.postMessage, postEphemeral, update, response_url)."""
    checker = _Checker()
    checker.blocks(blocks, MAX_MESSAGE_BLOCKS)
    return checker.errors


def view_errors(view: Any) -> list[str]:
    """Problems with a modal or Home tab view (views.open, views.push, views.update, views.publish)."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.err("must be a view object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.err("must be one of modal, home", "/view/type")
    checker.blocks(view.get("blocks"), MAX_VIEW_BLOCKS, "/view/blocks")
    checker.length(view.get("private_metadata"), 3000, "/view/private_metadata")
    checker.length(view.get("callback_id"), 255, "/view/callback_id")
    checker.length(view.get("external_id"), 255, "/view/external_id")
    if kind == "modal":
        checker.text(view.get("title"), 24, "/view/title", plain_only=True)
        checker.text(view.get("submit"), 24, "/view/submit", plain_only=True, required=False)
        checker.text(view.get("close"), 24, "/view/close", plain_only=True, required=False)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            checker.err("must provide submit when the view has input blocks", "/view/submit")
    return checker.errors
