"""``patron-desk check --connect`` with Facebook and Instagram on: names the Page and the account,
lists missing permissions, and says plainly when the token is refused; settings problems are listed."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.setup_check import check_setup
from tests.core.poison import settings as app_settings
from tests.fakes import graph as fake
from tests.fakes.graph import FakeGraph

from .test_meta_e2e import meta_settings


def config(tmp_path: Path, graph: FakeGraph, **more: object) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path}/check.db"
    return app_settings(url, tmp_path, **meta_settings(graph, webhooks=False, instagram=True, **more))


async def test_check_connect_names_the_page_and_the_account_and_missing_permissions(
    tmp_path: Path, graph: FakeGraph
) -> None:
    graph.scopes = ["pages_read_engagement", "pages_manage_engagement", "instagram_basic"]
    lines, ok = await check_setup(config(tmp_path, graph), connect=True)
    text = "\n".join(lines)
    assert ok, text
    assert (
        f"facebook: connected: Page {fake.PAGE_NAME} ({fake.PAGE_ID}); "
        "missing permissions: pages_manage_metadata, pages_messaging" in text
    )
    assert (
        f"instagram: connected: account @{fake.IG_USERNAME} ({fake.IG_ID}); "
        "missing permissions: instagram_manage_comments" in text
    )
    assert "facebook: on, Page 1234567890321 (polling only)" in text


async def test_check_connect_with_an_expired_token(tmp_path: Path, graph: FakeGraph) -> None:
    graph.token_expired = True
    lines, ok = await check_setup(config(tmp_path, graph), connect=True)
    text = "\n".join(lines)
    assert not ok
    assert "facebook: cannot connect:" in text and "code 190/463" in text
    assert "Session has expired" not in text  # Meta's message is never repeated


def test_half_filled_settings_are_problems(tmp_path: Path) -> None:
    half = Settings(FACEBOOK_PAGE_ID="1", FACEBOOK_APP_SECRET="s", INSTAGRAM_ACCOUNT_ID="2")
    assert sorted(half.problems()) == [
        "FACEBOOK_APP_SECRET and FACEBOOK_VERIFY_TOKEN go together (webhooks); set both or neither",
        "FACEBOOK_PAGE_ID is set but FACEBOOK_PAGE_TOKEN is not set",
        "INSTAGRAM_ACCOUNT_ID is set but neither INSTAGRAM_TOKEN nor FACEBOOK_PAGE_TOKEN is",
    ]
