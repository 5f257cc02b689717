"""The operator's log as the bot writes it (bot/logs.py, text or JSON), with library loggers opened
up to DEBUG so the guard, not a level setting, is what keeps patron text out."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.logs import configure

# Every library logger the bot's dependencies write to (and our names for the Slack SDK's).
LIBRARIES = (
    "slack_bolt",
    "slack_sdk",
    "bot.slack.bolt",
    "bot.slack.sdk",
    "nio",
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "aiosqlite",
    "asyncpg",
    "aiohttp",
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.client",
    "asyncio",
    "httpx",
    "httpcore",
    "websockets",
    "alembic",
)


class Raw(logging.Handler):
    """Every record that reaches the root logger, formatted with the stock formatter (tracebacks too)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Logged:
    """What was written: the bot's own handler (``stream``) and a stock handler beside it (``raw``)."""

    stream: io.StringIO
    raw: Raw
    levels: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        return self.stream.getvalue() + "\n".join(self.raw.lines)

    def leaks(self, *needles: str) -> list[str]:
        """Lines that hold any of ``needles`` (the test's canaries)."""
        return [line for line in self.text().splitlines() if any(n in line for n in needles)]


@contextlib.contextmanager
def bot_log(fmt: str, *, open_libraries: bool = True) -> Iterator[Logged]:
    """``configure("DEBUG", fmt)`` writing to a buffer; the library loggers at DEBUG when asked."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = [*LIBRARIES, *(n for n in logging.Logger.manager.loggerDict if n.startswith("bot."))]
    saved = {name: logging.getLogger(name).level for name in names}
    logged = Logged(io.StringIO(), Raw(), saved)
    undo = configure("DEBUG", fmt, stream=logged.stream)
    if open_libraries:
        for name in LIBRARIES:
            logging.getLogger(name).setLevel(logging.DEBUG)
    else:
        root.addHandler(logged.raw)  # pinned levels: a stock handler must see nothing either
    try:
        yield logged
    finally:
        undo()
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in saved.items():
            logging.getLogger(name).setLevel(old)
