"""The log guard on its own: exception text never written, library records cut, repeats counted."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import TransientError
from bot.log_guard import GuardedHandler, Repeats, install_record_factory

from .log_capture import bot_log

CANARY = "CANARY-77aa01"
around = st.text(max_size=40)


@settings(max_examples=60, deadline=None)
@given(before=around, after=around, fmt=st.sampled_from(["text", "json"]))
def test_exception_text_is_never_written(before: str, after: str, fmt: str) -> None:
    secret = f"{before}{CANARY}{after}"
    with bot_log(fmt) as logged:
        try:
            try:
                raise ValueError(secret)
            except ValueError as first:
                raise ExceptionGroup("while storing", [KeyError(secret), first]) from first
        except ExceptionGroup as exc:
            logging.getLogger("bot.core.service").exception("store failed: %s", exc)
            # as Bolt and asyncio write them: the exception formatted into the message
            bolt, loop = logging.getLogger("bot.slack.bolt"), logging.getLogger("asyncio")
            bolt.exception(f"Failed to run listener function (error: {exc})")
            loop.error(f"Task exception was never retrieved\nfuture: {exc!r}", exc_info=exc)
            logging.getLogger("nio.rooms").warning("event %s could not be decrypted", secret)
            logging.getLogger("sqlalchemy.engine").info("[parameters: (%r,)]", secret)
    assert logged.leaks(CANARY) == []
    written = logged.stream.getvalue()
    assert "Failed to run listener function" in written and "event <str> could not be decrypted" in written


def test_library_chatter_below_warning_is_dropped_and_ours_kept() -> None:
    with bot_log("json") as logged:
        logging.getLogger("slack_sdk.socket_mode").debug("received %s", "{}")
        logging.getLogger("httpx").info("HTTP Request: %s %s", "POST", "https://x.example/")
        logging.getLogger("bot.core.relay").debug("reply %d sent", 7)
    lines = [json.loads(line) for line in logged.stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [("bot.core.relay", "reply 7 sent")]


def test_our_domain_errors_keep_their_message_as_an_argument_only() -> None:
    with bot_log("text") as logged:
        try:
            raise TransientError("slack chat_postMessage: ratelimited")
        except TransientError as exc:
            logging.getLogger("bot.platforms.slack.desk").exception("post failed: %s", exc)
    written = logged.stream.getvalue()
    assert "post failed: TransientError: slack chat_postMessage: ratelimited" in written
    assert written.endswith("TransientError (message not logged)\n")  # the traceback: the class only


@pytest.mark.parametrize("factory", [False, True], ids=["stock-factory", "redacting-factory"])
def test_repeated_lines_are_counted_not_written(factory: bool) -> None:
    """Also with the redacting record factory on, as in the running bot: the summary line was made
    through the factory, which saw an empty record (no name) and raised, losing the line."""
    restore = install_record_factory() if factory else (lambda: None)
    now = [0.0]
    stream = io.StringIO()
    handler = GuardedHandler(stream, repeats=Repeats(burst=5, window=60, clock=lambda: now[0]))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    accept = logging.getLogger("asyncio")
    accept.addHandler(handler)
    accept.propagate = False
    try:
        for n in range(62):
            accept.error("socket.accept() out of system resource", exc_info=OSError(24, f"fd {n}"))
        now[0] = 61.0
        logging.getLogger("asyncio").error("socket.accept() out of system resource")
    finally:
        accept.removeHandler(handler)
        accept.propagate = True
        restore()
    lines = [line for line in stream.getvalue().splitlines() if line.startswith("ERROR")]
    assert lines[:5] == ["ERROR asyncio: socket.accept() out of system resource"] * 5
    assert lines[5] == "ERROR asyncio: … repeated 57 times in 60s: socket.accept() out of system resource"
    assert lines[6:] == ["ERROR asyncio: socket.accept() out of system resource"]
    assert "OSError [EMFILE]" in stream.getvalue()


def test_an_uncaught_exception_is_logged_by_class() -> None:
    with bot_log("text") as logged:
        try:
            raise RuntimeError(CANARY)
        except RuntimeError:
            sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    assert "CRITICAL bot: uncaught RuntimeError" in logged.stream.getvalue()
    assert logged.leaks(CANARY) == []


def test_routine_lines_are_not_rate_limited() -> None:
    stream = io.StringIO()
    handler = GuardedHandler(stream, repeats=Repeats(burst=5, window=60, clock=lambda: 0.0))
    for n in range(20):
        handler.handle(
            logging.makeLogRecord(
                {
                    "name": "bot.core.service",
                    "levelno": logging.INFO,
                    "msg": "ingested mention %s from %s",
                    "args": (n, "fake"),
                }
            )
        )
    assert len(stream.getvalue().splitlines()) == 20


def test_a_library_warning_goes_through_the_guard() -> None:
    import warnings

    with bot_log("text") as logged:
        warnings.warn_explicit(f"could not coerce {CANARY!r}", UserWarning, "lib.py", 1, module="lib")
    assert "py.warnings" in logged.stream.getvalue()
    assert logged.leaks(CANARY) == []


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_an_exception_that_cannot_be_printed_is_still_logged() -> None:
    with bot_log("json") as logged:
        try:
            raise Unprintable
        except Unprintable:
            logging.getLogger("bot.core.relay").exception("attempt failed")
            logging.getLogger("slack_bolt").exception("listener failed")
    assert '"error": "Unprintable"' in logged.stream.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=400), st.sampled_from(["text", "json"]))
def test_an_id_a_platform_sent_is_one_short_writable_line(hostile: str, fmt: str) -> None:
    """Ids are the one thing our lines pass from a platform: a line break in one must not forge a
    second log line, and a surrogate must not make the line unwritable (it stopped a test worker)."""
    forged = f"{hostile}\n2026-12-06 ERROR bot.core forged\ud800"
    with bot_log(fmt) as logged:
        logging.getLogger("bot.platforms.mastodon.parse").warning("notification %s malformed", forged)
    written = logged.stream.getvalue()
    written.encode("utf-8")  # raises on a surrogate
    assert len(written.splitlines()) == 1
    assert len(written) < 400
