"""ANSWERS_FILE read again when it changes: its size and modification time are checked each time the
answers are used (a stat, no read), so an edit counts from the next `!answers` or Reply form.

An edit that does not read (bad TOML, an unknown variable, a file removed) changes nothing: the
answers read before stay in use, the error is logged once per edit, and staff see a warning in the
answers list and whenever a saved answer is not found, until the file reads again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.domain.answers import AnswerBook

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size, found.st_ino


class AnswersFile:
    """The saved answers of one file as they stand: the last version that read without an error.

    Args:
        path: ANSWERS_FILE.
        read: reads and checks the file (``bot.setting_checks.read_answers``); ``ValueError`` naming the
            problems. The first read's error is raised (the app does not start on a broken file).
    """

    def __init__(self, path: Path, read: Callable[[Path], AnswerBook]) -> None:
        self.path = path
        self._read = read
        self._stamp = _stamp(path)
        self._book = read(path)

    def current(self) -> AnswerBook:
        """The answers, read again first when the file changed since the last look."""
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return self._book
        self._stamp = stamp
        try:
            book = self._read(self.path)
        except ValueError as exc:
            kept = len(self._book.answers)
            log.error(
                "ANSWERS_FILE was edited but cannot be used, so the %d saved answers read before stay "
                "in use until it is fixed (patron-desk check shows every problem): %s",
                kept,
                exc,
            )
            warning = (
                f"The saved answers file has an error, so the {kept} answers read before are still used "
                f"until it is fixed: {str(exc)[:300]}"
            )
            self._book = replace(self._book, warning=warning)
            return self._book
        log.info("ANSWERS_FILE read again: %d saved answers", len(book.answers))
        self._book = book
        return book
