"""Settings, read once from the environment and `.env`; the only module that reads either.

The names are part of the interface (DESIGN.md §7). An adapter or desk is on when its required
keys are set; a half-filled section is an error that names the missing keys.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from bot.domain.answers import AnswerBook
from bot.domain.fields import Invalid, Limits, Problem, check, dotted, fields_of
from bot.domain.privacy import PrivacyGuard, compile_card_pattern
from bot.errors import ConfigError
from bot.setting_checks import AFTER, BEFORE, read_answers

CommaList = tuple[str, ...]  # from the environment: "a, b, c"
DEFAULT_ENV_FILE = Path(".env")


class Settings:
    """Every setting Patron Desk reads. See `.env.example` for one line on each.

    ``Settings(NAME=value, ...)`` converts and checks the given values (text as in the environment,
    or already typed) and takes the default for the rest; ``load_settings`` reads the environment and
    `.env`. Read-only: ``replace`` makes a changed copy, checked again.
    """

    DATABASE_URL: str = "sqlite+aiosqlite:///./patron-desk.db"
    LIBRARY_TIMEZONE: str = "UTC"
    RULES_FILE: Path | None = None
    ROTA_FILE: Path | None = None
    OPENING_HOURS: str = ""
    ANSWERS_FILE: Path | None = None
    CARD_NUMBER_PATTERN: str = ""
    LIBCAL_HOURS_URL: str = ""
    LIBCAL_LOCATION: str = ""
    PUBLIC_URL: str = ""
    HTTP_HOST: str = "127.0.0.1"
    HTTP_PORT: Annotated[int, Limits(ge=0, le=65535)] = 8080
    CONSOLE_DESK: Literal["auto", "on", "off"] = "auto"
    CONSOLE_STAFF: str = ""  # the staff key the console acts as ("" = the operator, a manager)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"

    SLACK_BOT_TOKEN: str = ""
    SLACK_APP_TOKEN: str = ""
    SLACK_SIGNING_SECRET: str = ""
    SLACK_API_URL: str = "https://slack.com/api/"
    SLACK_STAFF_CHANNEL: str = ""
    SLACK_SOURCE_CHANNELS: CommaList = ()
    SLACK_MANAGERS: CommaList = ()
    SLACK_MANAGER_GROUP: str = ""
    SLACK_STAFF_GROUP: str = ""  # members are staff (DESIGN.md §6.10; see bot/core/authz.py)

    MATRIX_HOMESERVER: str = ""
    MATRIX_USER_ID: str = ""
    MATRIX_ACCESS_TOKEN: str = ""
    MATRIX_PASSWORD: str = ""
    MATRIX_STAFF_ROOM: str = ""
    MATRIX_SOURCE_ROOMS: CommaList = ()
    MATRIX_MANAGER_POWER_LEVEL: int = 50
    MATRIX_DIRECT_MESSAGES: bool = False

    MASTODON_URL: str = ""
    MASTODON_ACCESS_TOKEN: str = ""
    MASTODON_STREAMING: bool = True
    MASTODON_POLL_SECONDS: Annotated[float, Limits(gt=0)] = 60
    MASTODON_BACKFILL: bool = False

    BLUESKY_SERVICE: str = "https://bsky.social"
    BLUESKY_HANDLE: str = ""
    BLUESKY_APP_PASSWORD: str = ""
    BLUESKY_POLL_SECONDS: Annotated[float, Limits(gt=0)] = 30
    BLUESKY_BACKFILL: bool = False

    FEEDS: CommaList = ()
    FEED_POLL_SECONDS: Annotated[float, Limits(gt=0)] = 300
    FEED_BACKFILL: bool = False
    FEED_BURST_FOLD: Annotated[int, Limits(ge=0)] = 10  # read-only items waiting that start a summary card
    RETRY_AFTER_CAP: Annotated[float, Limits(gt=0)] = 900  # the longest a platform's 429 hint is honoured

    WEBHOOK_SECRET: str = ""

    FACEBOOK_PAGE_ID: str = ""
    FACEBOOK_PAGE_TOKEN: str = ""
    FACEBOOK_APP_SECRET: str = ""
    FACEBOOK_VERIFY_TOKEN: str = ""
    FACEBOOK_GRAPH_URL: str = "https://graph.facebook.com"
    FACEBOOK_GRAPH_VERSION: Annotated[str, Limits(pattern=r"^v\d{1,3}\.\d{1,2}$")] = "v22.0"
    FACEBOOK_POLL_SECONDS: Annotated[float, Limits(gt=0)] = 60
    FACEBOOK_BACKFILL: bool = False
    INSTAGRAM_ACCOUNT_ID: str = ""
    INSTAGRAM_TOKEN: str = ""
    EMAIL_ADDRESS: str = ""  # the library's address: From of every reply; its own mail is not a mention
    EMAIL_IMAP_URL: str = ""  # imaps://user:password@host:993/INBOX (imap:// = STARTTLS)
    EMAIL_SMTP_URL: str = ""  # smtps://user:password@host:465 (smtp:// = STARTTLS on 587)
    EMAIL_CA_FILE: Path | None = None  # a private CA that signed the mail servers' certificates
    EMAIL_POLL_SECONDS: Annotated[float, Limits(gt=0)] = 60  # a server without IDLE is asked this often
    EMAIL_IDLE_SECONDS: Annotated[float, Limits(gt=0, le=1680)] = 600  # one IDLE's longest wait (< 29 min)
    EMAIL_MAX_MESSAGE_MB: Annotated[int, Limits(ge=1, le=200)] = 32  # read at most this much of one message

    ESCALATE_AFTER_MINUTES: Annotated[int, Limits(ge=1)] = 30
    REMIND_AFTER_MINUTES: Annotated[int, Limits(ge=1)] = 60
    CHECKIN_MINUTES: Annotated[int, Limits(ge=0, le=720)] = 0  # shift check-in: minutes to answer (0 = off)
    AUTO_ACK_TEXT: str = ""
    DAILY_DUTY_POST_AT: Annotated[str, Limits(pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d$")] = ""
    WEEKLY_REPORT_AT: Annotated[
        str, Limits(pattern=r"^$|^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$")
    ] = ""
    RETENTION_DAYS: Annotated[int, Limits(ge=1)] = 365
    CARD_HISTORY: bool = True  # one line per change in each card's thread (docs/desk-work.md)
    AUTO_RESOLVE_DAYS: Annotated[int, Limits(ge=0)] = 14
    TIMER_SECONDS: Annotated[float, Limits(gt=0)] = 30

    def __init__(self, **values: object) -> None:
        unknown = sorted(set(values) - set(fields_of(Settings)))
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(unknown)}")
        given = {name: BEFORE[name](value) if name in BEFORE else value for name, value in values.items()}
        converted, problems = check(Settings, given, lax=True, forbid_extra=False)
        for name, rule in AFTER:
            if name in given and name in converted and not any(p.loc[0] == name for p in problems):
                try:
                    rule(converted[name])
                except ValueError as exc:
                    problems.append(Problem((name,), "invalid", str(exc)))
        if problems:
            order = {name: i for i, name in enumerate(fields_of(Settings))}
            raise Invalid(sorted(problems, key=lambda p: order[str(p.loc[0])]))
        for name, value in converted.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"settings are read-only (use replace(): {name})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self.values() == other.values()

    def __hash__(self) -> int:  # read-only, as the pydantic model was frozen (and so hashable)
        return hash(tuple(self.values().items()))

    def __repr__(self) -> str:
        defaults = {name: field.default for name, field in fields_of(Settings).items()}
        changed = [f"{k}={_shown(k, v)}" for k, v in self.values().items() if v != defaults[k]]
        return f"Settings({', '.join(changed)})"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every setting's name, in the order of `.env.example`."""
        return tuple(fields_of(cls))

    def values(self) -> dict[str, object]:
        """Every setting and its value."""
        return {name: getattr(self, name) for name in fields_of(Settings)}

    def replace(self, **changes: object) -> Settings:
        """A copy with ``changes`` (converted and checked like any other value)."""
        return Settings(**{**self.values(), **changes})

    @property
    def answers(self) -> AnswerBook:
        """The saved answers (none without ANSWERS_FILE)."""
        return read_answers(self.ANSWERS_FILE) if self.ANSWERS_FILE else AnswerBook()

    @property
    def guard(self) -> PrivacyGuard:
        """The privacy guard with the library's card-number pattern."""
        return PrivacyGuard(compile_card_pattern(self.CARD_NUMBER_PATTERN))

    @property
    def zone(self) -> ZoneInfo:
        """The library's time zone."""
        return ZoneInfo(self.LIBRARY_TIMEZONE)

    # --- which parts are on -----------------------------------------------------------

    @property
    def slack_on(self) -> bool:
        """Slack is on when a bot token is set."""
        return bool(self.SLACK_BOT_TOKEN)

    @property
    def matrix_on(self) -> bool:
        """Matrix is on when a homeserver is set."""
        return bool(self.MATRIX_HOMESERVER)

    @property
    def mastodon_on(self) -> bool:
        """Mastodon is on when an instance URL is set."""
        return bool(self.MASTODON_URL)

    @property
    def bluesky_on(self) -> bool:
        """Bluesky is on when a handle is set."""
        return bool(self.BLUESKY_HANDLE)

    @property
    def facebook_on(self) -> bool:
        """Facebook is on when a Page id is set."""
        return bool(self.FACEBOOK_PAGE_ID)

    @property
    def instagram_on(self) -> bool:
        """Instagram is on when a professional account id is set."""
        return bool(self.INSTAGRAM_ACCOUNT_ID)

    @property
    def meta_webhooks_on(self) -> bool:
        """Meta webhooks need both the app secret and the verify token; without them: polling only."""
        return bool(self.FACEBOOK_APP_SECRET and self.FACEBOOK_VERIFY_TOKEN)

    @property
    def console_on(self) -> bool:
        """The console desk: on, off, or on when no chat desk is configured."""
        if self.CONSOLE_DESK == "auto":
            return not (self.slack_on and self.SLACK_STAFF_CHANNEL) and not (
                self.matrix_on and self.MATRIX_STAFF_ROOM
            )
        return self.CONSOLE_DESK == "on"

    def problems(self) -> list[str]:
        """Half-filled sections, one line each (each platform's spec says what its part needs)."""
        from bot.platforms import REGISTRY

        return [line for spec in REGISTRY.values() for line in spec.problems(self)]


def env_file_values(path: Path) -> dict[str, str]:
    """The keys a `.env` file sets, with their values (a key without ``=`` sets nothing)."""
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(path, encoding="utf-8").items() if value is not None}


def _ours(source: Mapping[str, str]) -> dict[str, str]:
    """The settings among ``source``'s names, matched in any case (``log_level`` is LOG_LEVEL)."""
    names = set(Settings.names())
    found = {name.upper(): value for name, value in source.items() if name.upper() in names}
    return found | {name: value for name, value in source.items() if name in names}  # exact case wins


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Read settings from the environment and ``env_file`` (default `./.env`, when it exists).

    The environment wins over the file, and ``overrides`` over both. Raise ``ConfigError`` with one
    line per problem: a value that does not parse, a name that looks like a misspelt setting, a
    half-configured part.
    """
    from bot.setting_names import unknown_settings  # it reads the names of Settings, defined here

    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"--env-file {env_file}: no such file")
    path = env_file or DEFAULT_ENV_FILE
    lines = unknown_settings(os.environ, "in the environment")
    from_file: dict[str, str] = {}
    if path.is_file():
        from_file = env_file_values(path)
        lines += unknown_settings(from_file, f"in {path}")
    try:
        settings = Settings(**(_ours(from_file) | _ours(os.environ) | overrides))
    except Invalid as exc:
        lines += _lines(exc.problems)
        raise ConfigError("\n".join(lines)) from None
    lines += settings.problems()
    if lines:
        raise ConfigError("\n".join(lines))
    return settings


def _lines(problems: Iterable[Problem]) -> list[str]:
    return [f"{dotted(p.loc) or 'settings'}: {p.message}" for p in problems]


def _shown(name: str, value: object) -> str:
    """A setting's value for ``repr``: secrets and URLs that may hold a password are not shown."""
    secret = name.endswith(("TOKEN", "PASSWORD", "SECRET")) or (isinstance(value, str) and "@" in value)
    return "'…'" if secret and value else repr(value)
