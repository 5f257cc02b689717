"""What a platform's spec declares, the app and `check` use: its settings problems and its HTTP routes.

A throw-away "doorbell" platform added by one registry entry gets its problem line into settings
loading and its route onto the one HTTP server, though its source has no ``http_routes`` of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.app import PatronDesk
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.models import Mention, ReplyRef
from bot.platforms import REGISTRY, problems
from bot.platforms.base import AdapterDeps, PlatformParts, PlatformSpec, Route, on_off
from bot.platforms.capabilities import HttpRoutes


class Doorbell:
    """A push source whose only way in is an HTTP route the spec declares."""

    source = "doorbell"
    push = True

    def __init__(self) -> None:
        self.rung = 0

    async def ring(self, request: web.Request) -> web.Response:
        self.rung += 1
        return web.Response(text=f"ding {self.rung}")

    async def open(self) -> None:
        return None

    async def mentions(self, cursor: str | None) -> AsyncIterator[tuple[Mention | None, str | None]]:
        return
        yield  # pragma: no cover - a push source yields nothing

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        return ReplyRef("")

    async def aclose(self) -> None:
        return None


def routes(parts: PlatformParts) -> list[Route]:
    assert isinstance(parts.source, Doorbell)
    return [("GET", "/doorbell", parts.source.ring)]


@pytest.fixture
def doorbell(monkeypatch: pytest.MonkeyPatch) -> Doorbell:
    bell = Doorbell()

    def build(settings: Settings, deps: AdapterDeps) -> Doorbell:
        return bell

    spec = PlatformSpec(
        name="doorbell",
        display="Doorbell",
        settings_keys=("HTTP_HOST",),
        describe=lambda s: on_off("doorbell", True, "the front door"),
        problems=lambda s: ["HTTP_HOST may not be the doorbell"] if s.HTTP_HOST == "doorbell.invalid" else [],
        http_routes=routes,
        source_on=lambda s: True,
        build_source=build,
    )
    monkeypatch.setitem(REGISTRY, "doorbell", spec)
    return bell


def test_settings_problems_are_the_specs(
    doorbell: Doorbell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().problems() == []
    monkeypatch.setenv("HTTP_HOST", "doorbell.invalid")
    monkeypatch.setenv("MATRIX_HOMESERVER", "https://matrix.example")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert "HTTP_HOST may not be the doorbell" in lines
    assert "MATRIX_HOMESERVER is set but MATRIX_USER_ID is not set" in lines
    assert lines == problems(
        Settings(HTTP_HOST="doorbell.invalid", MATRIX_HOMESERVER="https://matrix.example")
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET"),
        ({"MATRIX_HOMESERVER": "https://m.example", "MATRIX_USER_ID": "@b:m.example"}, "MATRIX_PASSWORD"),
        ({"MASTODON_URL": "https://social.example"}, "MASTODON_ACCESS_TOKEN is not"),
        ({"BLUESKY_HANDLE": "library.example"}, "BLUESKY_APP_PASSWORD is not"),
        ({"FEEDS": "gopher://old.example"}, "'gopher://old.example' is not an http(s) or file:// URL"),
    ],
)
def test_each_half_filled_section_is_named_by_its_spec(env: dict[str, str], line: str) -> None:
    settings = Settings(**env)
    found = settings.problems()
    assert any(line in text for text in found), found
    assert found == [text for spec in REGISTRY.values() for text in spec.problems(settings)]


def settings(tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/doorbell.db",
        CONSOLE_DESK="off",
        HTTP_PORT=0,
    )


async def test_the_app_mounts_the_routes_the_spec_declares(doorbell: Doorbell, tmp_path: Path) -> None:
    assert not isinstance(doorbell, HttpRoutes)  # only the spec knows the route
    async with PatronDesk(settings(tmp_path)) as app, httpx.AsyncClient() as client:
        assert list(app.sources) == ["doorbell"]
        answer = await client.get(f"http://127.0.0.1:{app.http_port}/doorbell")
    assert (answer.status_code, answer.text, doorbell.rung) == (200, "ding 1", 1)


def test_only_the_platforms_that_serve_http_declare_routes() -> None:
    class Part:
        def __init__(self, name: str) -> None:
            self.name = name

        def http_routes(self) -> list[Route]:
            return [("POST", f"/{self.name}", None)]

    assert {name for name, spec in REGISTRY.items() if spec.http_routes} == {
        "slack",
        "webhook",
        "facebook",
        "instagram",
    }
    hook = REGISTRY["webhook"].http_routes
    assert hook is not None and hook(PlatformParts(source=Part("hook"), desk=Part("x"))) == [
        ("POST", "/hook", None)
    ]
    slack = REGISTRY["slack"].http_routes
    assert slack is not None and slack(PlatformParts()) == []
    assert slack(PlatformParts(client=Part("events"))) == [("POST", "/events", None)]
