"""Settings, read once from the environment and `.env`; the only module that reads either.

The names are part of the interface (DESIGN.md §7). An adapter or desk is on when its required
keys are set; a half-filled section is an error that names the missing keys.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.answers import AnswerBook, parse_answers
from bot.domain.privacy import PrivacyGuard, compile_card_pattern
from bot.errors import ConfigError

CommaList = Annotated[tuple[str, ...], NoDecode]
DEFAULT_ENV_FILE = Path(".env")


def read_answers(path: Path) -> AnswerBook:
    """The saved answers file read and checked; ``ValueError`` naming the file and every problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    try:
        return parse_answers(text)
    except ConfigError as exc:
        raise ValueError("; ".join(f"{path.name}: {line}" for line in str(exc).splitlines())) from None


def _split(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    """Every setting Patron Desk reads. See `.env.example` for one line on each."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

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
    HTTP_PORT: int = Field(default=8080, ge=0, le=65535)
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
    MASTODON_POLL_SECONDS: float = Field(default=60, gt=0)
    MASTODON_BACKFILL: bool = False

    BLUESKY_SERVICE: str = "https://bsky.social"
    BLUESKY_HANDLE: str = ""
    BLUESKY_APP_PASSWORD: str = ""
    BLUESKY_POLL_SECONDS: float = Field(default=30, gt=0)
    BLUESKY_BACKFILL: bool = False

    FEEDS: CommaList = ()
    FEED_POLL_SECONDS: float = Field(default=300, gt=0)
    FEED_BACKFILL: bool = False
    FEED_BURST_FOLD: int = Field(default=10, ge=0)  # read-only items waiting that start a summary card
    RETRY_AFTER_CAP: float = Field(default=900, gt=0)  # the longest a platform's 429 hint is honoured

    WEBHOOK_SECRET: str = ""

    FACEBOOK_PAGE_ID: str = ""
    FACEBOOK_PAGE_TOKEN: str = ""
    FACEBOOK_APP_SECRET: str = ""
    FACEBOOK_VERIFY_TOKEN: str = ""
    FACEBOOK_GRAPH_URL: str = "https://graph.facebook.com"
    FACEBOOK_GRAPH_VERSION: str = Field(default="v22.0", pattern=r"^v\d{1,3}\.\d{1,2}$")
    FACEBOOK_POLL_SECONDS: float = Field(default=60, gt=0)
    FACEBOOK_BACKFILL: bool = False
    INSTAGRAM_ACCOUNT_ID: str = ""
    INSTAGRAM_TOKEN: str = ""
    EMAIL_ADDRESS: str = ""  # the library's address: From of every reply; its own mail is not a mention
    EMAIL_IMAP_URL: str = ""  # imaps://user:password@host:993/INBOX (imap:// = STARTTLS)
    EMAIL_SMTP_URL: str = ""  # smtps://user:password@host:465 (smtp:// = STARTTLS on 587)
    EMAIL_CA_FILE: Path | None = None  # a private CA that signed the mail servers' certificates
    EMAIL_POLL_SECONDS: float = Field(default=60, gt=0)  # a server without IDLE is asked this often
    EMAIL_IDLE_SECONDS: float = Field(default=600, gt=0, le=1680)  # one IDLE's longest wait (< 29 min)
    EMAIL_MAX_MESSAGE_MB: int = Field(default=32, ge=1, le=200)  # read at most this much of one message

    ESCALATE_AFTER_MINUTES: int = Field(default=30, ge=1)
    REMIND_AFTER_MINUTES: int = Field(default=60, ge=1)
    CHECKIN_MINUTES: int = Field(default=0, ge=0, le=720)  # shift check-in: minutes to answer (0 = off)
    AUTO_ACK_TEXT: str = ""
    DAILY_DUTY_POST_AT: str = Field(default="", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d$")
    WEEKLY_REPORT_AT: str = Field(
        default="", pattern=r"^$|^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$"
    )
    RETENTION_DAYS: int = Field(default=365, ge=1)
    CARD_HISTORY: bool = True  # one line per change in each card's thread (docs/desk-work.md)
    AUTO_RESOLVE_DAYS: int = Field(default=14, ge=0)
    TIMER_SECONDS: float = Field(default=30, gt=0)

    _split_lists = field_validator(
        "SLACK_SOURCE_CHANNELS", "SLACK_MANAGERS", "MATRIX_SOURCE_ROOMS", "FEEDS", mode="before"
    )(_split)

    @field_validator("CONSOLE_DESK", "LOG_LEVEL", "LOG_FORMAT", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: Any) -> object:
        """`LOG_LEVEL=info` means INFO: a choice is matched whatever its case."""
        if not isinstance(value, str):
            return value
        choices = get_args(cls.model_fields[info.field_name].annotation)
        return next((c for c in choices if c.casefold() == value.strip().casefold()), value)

    @field_validator("CHECKIN_MINUTES", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        """`CHECKIN_MINUTES=off` (or no, false, empty) is 0: no shift check-in."""
        if isinstance(value, str) and value.strip().casefold() in ("", "off", "no", "false"):
            return 0
        return value

    @field_validator("WEEKLY_REPORT_AT", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("LIBRARY_TIMEZONE")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (example: Europe/London)") from exc
        return value

    @field_validator("RULES_FILE", "ROTA_FILE", "EMAIL_CA_FILE")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @field_validator("OPENING_HOURS")
    @classmethod
    def _hours(cls, value: str) -> str:
        from bot.rota.opening import parse_opening_hours

        try:
            parse_opening_hours(value)
        except ConfigError as exc:
            raise ValueError(str(exc).replace("OPENING_HOURS: ", "")) from None
        return value

    @field_validator("ANSWERS_FILE")
    @classmethod
    def _answers(cls, value: Path | None) -> Path | None:
        if value is not None:
            read_answers(value)  # unknown variables are found here, at start and by `check`
        return value

    @field_validator("CARD_NUMBER_PATTERN")
    @classmethod
    def _card(cls, value: str) -> str:
        compile_card_pattern(value)
        return value

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


def env_file_names(path: Path) -> list[str]:
    """The keys a `.env` file sets (as pydantic-settings reads it)."""
    from dotenv import dotenv_values

    return list(dotenv_values(path))


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Read settings from the environment and ``env_file`` (default `./.env`, when it exists).

    Raise ``ConfigError`` with one line per problem: a value that does not parse, a name that looks
    like a misspelt setting, a half-configured part.
    """
    from bot.setting_names import unknown_settings  # it reads the names of Settings, defined here

    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"--env-file {env_file}: no such file")
    path = env_file or DEFAULT_ENV_FILE
    lines = unknown_settings(os.environ, "in the environment")
    if path.is_file():
        lines += unknown_settings(env_file_names(path), f"in {path}")
    try:
        settings = Settings(_env_file=path, **overrides)  # type: ignore[call-arg,arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"]) or "settings"
            lines.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("\n".join(lines)) from None
    lines += settings.problems()
    if lines:
        raise ConfigError("\n".join(lines))
    return settings
