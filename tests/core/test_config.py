"""Settings: defaults need nothing, each problem is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError


def test_defaults_need_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.DATABASE_URL.startswith("sqlite+aiosqlite:///")
    assert settings.console_on and not settings.slack_on and settings.FEEDS == ()


def test_each_problem_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "LIBRARY_TIMEZONE": "Mars/Olympus",
        "HTTP_PORT": "seventy",
        "RULES_FILE": str(tmp_path / "missing.toml"),
    }.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert any("LIBRARY_TIMEZONE" in line and "Mars/Olympus" in line for line in lines)
    assert any(line.startswith("HTTP_PORT") for line in lines)
    assert any("missing.toml" in line for line in lines)


def test_half_configured_adapter_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MASTODON_URL", "https://social.example")
    monkeypatch.setenv("FEEDS", "https://ok.example/feed, ftp://nope.example/feed")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "MASTODON_ACCESS_TOKEN" in message and "ftp://nope.example/feed" in message


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_SOURCE_CHANNELS", "C1, C2,,C3")
    assert load_settings().SLACK_SOURCE_CHANNELS == ("C1", "C2", "C3")
