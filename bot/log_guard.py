"""What may reach a log line: exception text hidden, library messages cut, repeated lines counted.

Exceptions raised while handling a mention (a refused INSERT, a listener that fails, a platform's
error body) carry patron or reply text in their message, so no log line shows an exception message:
tracebacks keep their frames and class names only. An exception our code passes as a log argument
shows its class too, unless it is one of our domain errors (``PatronDeskError``), whose messages are
written from method names and status codes for the log to show. Libraries (Bolt, the Slack SDK, nio,
SQLAlchemy, aiohttp, asyncio, httpx) format request bodies and exception text into their messages,
so their records below WARNING are dropped and the rest keep only a prefix that holds no data.
"""

from __future__ import annotations

import errno
import logging
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import TextIO

from bot.domain.sanitize import one_line
from bot.errors import PatronDeskError

# The Slack SDK and Bolt log through loggers we name (bot/platforms/slack/client.py): still libraries.
FOREIGN_UNDER_BOT = ("bot.slack.sdk", "bot.slack.bolt")
# A library message is cut before the first of these: what follows is data (a body, an error, a repr).
DATA_MARKS = (" (", ": ", "{", "[", "<", "'", '"', "\n", "=")
MAX_FOREIGN = 160
HIDDEN = "message not logged"
MAX_ARG = 200  # one string argument of our own messages (an id, a name of a thing)


def is_ours(name: str | None) -> bool:
    """True for the bot's own loggers, whose messages pass ids and counts only."""
    if not name or name.startswith(FOREIGN_UNDER_BOT):
        return False
    return name == "bot" or name.startswith(("bot.", "__main__"))


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and the members of exception groups (each once)."""
    seen: set[int] = set()
    todo = [exc] if exc is not None else []
    while todo:
        item = todo.pop()
        if id(item) in seen or len(seen) > 100:
            continue
        seen.add(id(item))
        yield item
        todo.extend(e for e in (item.__cause__, item.__context__) if e is not None)
        if isinstance(item, BaseExceptionGroup):
            todo.extend(item.exceptions)


def describe(exc: BaseException, *, ours: bool = False) -> str:
    """An exception as a log may show it: the class name, plus an errno name or (``ours``) our message."""
    name = type(exc).__qualname__
    if ours and isinstance(exc, PatronDeskError):
        return f"{name}: {exc}"
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in errno.errorcode:
        return f"{name} [{errno.errorcode[exc.errno]}]"
    return f"{name} ({HIDDEN})"


def safe_traceback(exc: BaseException) -> str:
    """A traceback with frames and class names only, causes and contexts included."""
    parts: list[str] = []
    for item in _chain(exc):
        lines = traceback.format_tb(item.__traceback__) if item.__traceback__ else []
        if isinstance(item, BaseExceptionGroup):
            members = ", ".join(type(e).__qualname__ for e in item.exceptions[:20])
            lines.append(f"  (group of: {members})\n")
        block = "Traceback (most recent call last):\n" + "".join(lines) if lines else ""
        parts.append(block + describe(item))
    return "\nwhile handling or caused by:\n".join(parts)


def _safe_arg(value: object, *, ours: bool) -> object:
    if isinstance(value, BaseException):
        return describe(value, ours=ours)
    if ours and isinstance(value, str):
        # an id a platform sent may hold a line break (a forged log line), a surrogate or 100 kB
        return one_line(value, limit=MAX_ARG)
    if ours or value is None or isinstance(value, int | float):
        return value
    return f"<{type(value).__name__}>"


def _message(record: logging.LogRecord, ours: bool) -> str:
    args = record.args
    msg = str(record.msg)
    if isinstance(args, Mapping):
        args = {k: _safe_arg(v, ours=ours) for k, v in args.items()}
    elif args:
        args = tuple(_safe_arg(v, ours=ours) for v in args)
    if args:
        try:
            return msg % args
        except (TypeError, ValueError, KeyError):
            return msg
    if ours:
        return msg
    cut = min([msg.find(mark) for mark in DATA_MARKS if mark in msg] or [len(msg)])
    return msg[: min(cut, MAX_FOREIGN)] + (" […]" if cut < len(msg) else "")


def _texts(exc: BaseException) -> set[str]:
    """What of ``exc`` a message may quote: its str, its repr, its string arguments."""
    try:
        texts = {str(exc), repr(exc), *(a for a in exc.args if isinstance(a, str))}
    except Exception:  # an exception whose str() fails: nothing to look for
        return set()
    return {text for text in texts if len(text) >= 3}


def redact(record: logging.LogRecord) -> logging.LogRecord:
    """Make one record safe to write, in place (see the module docstring)."""
    if getattr(record, "redacted", False):
        return record
    ours = is_ours(record.name)
    message = _message(record, ours)
    exc = record.exc_info[1] if record.exc_info else None
    for item in _chain(exc):  # an exception's text quoted into the message, e.g. Bolt's "(error: …)"
        if ours and isinstance(item, PatronDeskError):
            continue
        for text in _texts(item):
            message = message.replace(text, type(item).__qualname__)
    record.template = str(record.msg)[:200]  # what repeats are counted by
    record.msg, record.args = message, ()
    if exc is not None:
        record.exc_text = safe_traceback(exc)
    record.redacted = True
    return record


def install_record_factory() -> Callable[[], None]:
    """Redact every record as it is made, whichever handler writes it; returns the undo."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return lambda: None

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redact(previous(*args, **kwargs))

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    return lambda: logging.setLogRecordFactory(previous)


class Repeats:
    """The first ``burst`` warnings or errors of one logger and template per ``window`` seconds, then a count.

    A flood (a full file-descriptor table, a platform down for hours) costs a few lines a minute,
    not megabytes: the lines left out are reported as "… repeated N times" when the window ends.
    """

    def __init__(
        self, *, burst: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst, self.window, self.clock = burst, window, clock
        self._seen: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()  # started, count

    def admit(self, record: logging.LogRecord) -> tuple[bool, list[logging.LogRecord]]:
        """(write this record?, summary records of windows that ended)."""
        now = self.clock()
        summaries = self._ended(now)
        if record.levelno < logging.WARNING:
            return True, summaries  # routine lines ("ingested mention 7") are each worth a line
        key = (record.name, record.levelno, str(getattr(record, "template", record.msg))[:200])
        entry = self._seen.get(key)
        if entry is None:
            self._seen[key] = entry = [now, 0]
            while len(self._seen) > 1000:
                self._seen.popitem(last=False)
        entry[1] += 1
        return entry[1] <= self.burst, summaries

    def _ended(self, now: float) -> list[logging.LogRecord]:
        summaries = []
        for key, (started, count) in list(self._seen.items()):
            if now - started < self.window:
                continue
            del self._seen[key]
            if count > self.burst:
                name, level, msg = key
                text = f"… repeated {count - self.burst} times in {self.window:.0f}s: {msg[:120]}"
                # made directly, not through the record factory: the redacting factory would see an
                # empty record (makeLogRecord fills it in afterwards); the text is made of redacted parts
                summaries.append(logging.LogRecord(name, level, "", 0, text, None, None))
        for summary in summaries:
            summary.redacted = True
        return summaries


class GuardedHandler(logging.StreamHandler[TextIO]):
    """A stream handler that drops library chatter below WARNING and rate-limits repeated lines."""

    def __init__(self, stream: TextIO, *, repeats: Repeats | None = None) -> None:
        super().__init__(stream)
        self.repeats = repeats or Repeats()

    def handle(self, record: logging.LogRecord) -> bool:
        """Redact (again, if the record was made before the factory), filter, then write."""
        redact(record)
        if record.levelno < logging.WARNING and not is_ours(record.name):
            return False
        write, summaries = self.repeats.admit(record)
        for summary in summaries:
            super().handle(summary)
        return bool(super().handle(record)) if write else False
