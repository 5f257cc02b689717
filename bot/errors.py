"""Domain errors. Adapters and desks translate vendor errors into these."""

from __future__ import annotations


class PatronDeskError(Exception):
    """Base class for every error the bot raises on purpose."""


class ConfigError(PatronDeskError):
    """Settings, rules or rota are invalid; the message lists each problem on its own line."""


class AdapterConfigError(PatronDeskError):
    """An adapter cannot work with its settings (bad token, unknown room): do not retry."""


class TransientError(PatronDeskError):
    """A platform outage, timeout or rate limit: retry later.

    ``retry_after`` carries the platform's own hint in seconds when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """HTTP 429 or a platform's own rate-limit error."""


class NotYet(TransientError):
    """Not a failure: this row's turn has not come (its channel is paced, or held by a 429 that
    another post received). The relay runs it again after ``retry_after`` seconds without counting an
    attempt, backing off or logging above DEBUG; the platform was not called."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retry_after=max(retry_after, 0.0))


class PermanentError(PatronDeskError):
    """The platform refused the request for good (validation error, deleted target)."""


class ReplyNotSupported(PermanentError):
    """The source is read-only (feeds) or the mention cannot be answered."""


class NotAllowed(PatronDeskError):
    """The caller may not do this (rota edit by a non-manager, unknown identity)."""


class AlreadyClaimed(PatronDeskError):
    """Lost a claim race; ``winner`` is who holds it."""

    def __init__(self, winner: str) -> None:
        super().__init__(f"already claimed by {winner}")
        self.winner = winner


class InvalidTransition(PatronDeskError):
    """The mention is not in a state that allows this action."""


class NotFound(PatronDeskError):
    """No such mention, shift, role or person."""


class MalformedPayload(PatronDeskError, ValueError):
    """A platform item that cannot be read as a mention; the message names the field, never its value."""
