"""Safe HTML to plain text for post bodies: tags dropped, scripts skipped, entities decoded once."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table"}
)
_SKIPPED = frozenset({"script", "style", "template", "head", "title", "noscript", "iframe", "object"})
_SPACE = re.compile(r"[ \t\r\n\f]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
            self._pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(self._skip - 1, 0)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
            if tag == "pre":
                self._pre = max(self._pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.parts.append(data if self._pre else _SPACE.sub(" ", data))


def html_to_text(html: str, *, limit: int = 100_000) -> str:
    """Turn post HTML (Mastodon ``content``) into plain text.

    Paragraphs become blank-line separated, ``<br>`` a newline; link text is kept in full
    (Mastodon's ``invisible``/``ellipsis`` spans are concatenated back into the whole URL);
    script/style content is dropped and control characters removed. Input past ``limit``
    characters is cut before parsing so a hostile body cannot cost unbounded work.

    Args:
        html: the HTML fragment.
        limit: the most characters parsed.

    Returns:
        The plain text, stripped.
    """
    parser = _TextExtractor()
    parser.feed(html[:limit])
    parser.close()
    text = _CONTROL.sub("", "".join(parser.parts))
    lines = [line.strip(" ") for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
