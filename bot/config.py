"""Settings, read once from the environment and `.env`; the only module that reads either.

The names are part of the interface (DESIGN.md §7). An adapter or desk is on when its required
keys are set; a half-filled section is an error that names the missing keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

CommaList = Annotated[tuple[str, ...], NoDecode]


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
    HTTP_HOST: str = "127.0.0.1"
    HTTP_PORT: int = Field(default=8080, ge=0, le=65535)
    CONSOLE_DESK: Literal["auto", "on", "off"] = "auto"
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

    ESCALATE_AFTER_MINUTES: int = Field(default=30, ge=1)
    REMIND_AFTER_MINUTES: int = Field(default=60, ge=1)
    AUTO_ACK_TEXT: str = ""
    DAILY_DUTY_POST_AT: str = Field(default="", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d$")
    WEEKLY_REPORT_AT: str = Field(
        default="", pattern=r"^$|^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$"
    )
    RETENTION_DAYS: int = Field(default=365, ge=1)
    AUTO_RESOLVE_DAYS: int = Field(default=14, ge=0)
    TIMER_SECONDS: float = Field(default=30, gt=0)

    _split_lists = field_validator(
        "SLACK_SOURCE_CHANNELS", "SLACK_MANAGERS", "MATRIX_SOURCE_ROOMS", "FEEDS", mode="before"
    )(_split)

    @field_validator("LIBRARY_TIMEZONE")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (example: Europe/London)") from exc
        return value

    @field_validator("RULES_FILE", "ROTA_FILE")
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
    def console_on(self) -> bool:
        """The console desk: on, off, or on when no chat desk is configured."""
        if self.CONSOLE_DESK == "auto":
            return not (self.slack_on and self.SLACK_STAFF_CHANNEL) and not (
                self.matrix_on and self.MATRIX_STAFF_ROOM
            )
        return self.CONSOLE_DESK == "on"

    def problems(self) -> list[str]:
        """Half-filled sections, one line each; empty when every enabled part is complete."""
        found: list[str] = []
        if self.slack_on and not (self.SLACK_APP_TOKEN or self.SLACK_SIGNING_SECRET):
            found.append(
                "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) "
                "nor SLACK_SIGNING_SECRET (HTTP mode) is"
            )
        if self.matrix_on and not self.MATRIX_USER_ID:
            found.append("MATRIX_HOMESERVER is set but MATRIX_USER_ID is not")
        if self.matrix_on and not (self.MATRIX_ACCESS_TOKEN or self.MATRIX_PASSWORD):
            found.append("MATRIX_HOMESERVER is set but neither MATRIX_ACCESS_TOKEN nor MATRIX_PASSWORD is")
        if self.mastodon_on and not self.MASTODON_ACCESS_TOKEN:
            found.append("MASTODON_URL is set but MASTODON_ACCESS_TOKEN is not")
        if self.bluesky_on and not self.BLUESKY_APP_PASSWORD:
            found.append("BLUESKY_HANDLE is set but BLUESKY_APP_PASSWORD is not")
        for url in self.FEEDS:
            if not url.startswith(("http://", "https://", "file://")):
                found.append(f"FEEDS: {url!r} is not an http(s) or file:// URL")
        return found


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise ``ConfigError`` with one line per problem."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"]) or "settings"
            lines.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("\n".join(lines)) from None
    problems = settings.problems()
    if problems:
        raise ConfigError("\n".join(problems))
    return settings
