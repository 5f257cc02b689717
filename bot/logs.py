"""Logging set-up: plain text for a terminal, or one JSON object per line for log collectors.

Log calls pass ids, counts and status codes only; patron text never reaches a log record, and
``bot.log_guard`` makes sure of it for exceptions and libraries (DESIGN.md invariant 8).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TextIO

from bot.log_guard import GuardedHandler, install_record_factory

QUIET = ("httpx", "httpcore", "aiohttp.access", "slack_bolt", "slack_sdk", "nio", "alembic", "websockets")


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message"}`, plus the exception type when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str = "text", *, stream: TextIO | None = None) -> Callable[[], None]:
    """Root logging to stderr (or ``stream``), guarded; returns the undo of the global hooks (tests).

    Libraries that log request details are kept at WARNING or above as well: the guard drops their
    lower records anyway, but they are not even formatted then.
    """
    handler = GuardedHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    undo_factory = install_record_factory()
    hooks = (sys.excepthook, threading.excepthook)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_thread
    logging.captureWarnings(True)  # a library warning goes through the guard, not straight to stderr

    def undo() -> None:
        undo_factory()
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)

    return undo


LOG_FILE_NAME = "patron-desk.log"


def log_file_for(database_url: str, *, cwd: Path | None = None) -> Path:
    """Where logs go while the console desk has the terminal: beside a SQLite database file, else here."""
    folder = cwd or Path.cwd()
    scheme, sep, rest = database_url.partition(":///")
    if sep and scheme.startswith("sqlite") and rest and not rest.startswith(":memory:"):
        folder = (folder / rest.split("?", 1)[0]).parent
    return (folder / LOG_FILE_NAME).resolve()


def open_log_file(path: Path) -> TextIO:
    """Open a log file for appending, readable by its owner only (line-buffered)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return open(fd, "a", encoding="utf-8", buffering=1)


def shares_terminal(out: TextIO, err: TextIO) -> bool:
    """Both streams are a terminal: log lines would land between the console desk's cards."""
    try:
        return out.isatty() and err.isatty()
    except (ValueError, OSError):
        return False


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    # Python would print the message of an uncaught exception to stderr, past the guard.
    logging.getLogger("bot").critical("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))


def _log_uncaught_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)
