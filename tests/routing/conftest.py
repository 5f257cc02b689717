"""Fixtures for the pure routing core: a mention factory and the example rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.models import Mention
from bot.platforms import source_platforms
from bot.routing.rules import RuleSet, load_rules

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def mention() -> Callable[..., Mention]:
    """A factory: ``mention("text", source="bluesky", lang="fr")``."""

    def make(text: str = "", **fields: Any) -> Mention:
        values: dict[str, Any] = {
            "source": "mastodon",
            "external_id": "1",
            "text": text,
            "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        }
        values.update(fields)
        return Mention(**values)

    return make


@pytest.fixture(scope="session")
def example_rules() -> RuleSet:
    """examples/rules.toml, loaded."""
    return load_rules((EXAMPLES / "rules.toml").read_text(encoding="utf-8"), platforms=source_platforms())
