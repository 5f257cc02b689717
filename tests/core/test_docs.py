"""The docs say what the code does: every setting documented and real, names in the docs exist, the
Slack manifest's comments match the manifest, links resolve, scopes agree between pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from bot.setting_names import unknown_settings

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
MANIFEST = ROOT / "examples" / "slack-manifest.yaml"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SETTING_LIKE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{4,}\b")
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def example_keys() -> list[str]:
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE)


def test_env_example_and_the_settings_class_name_the_same_settings() -> None:
    keys = example_keys()
    assert len(keys) == len(set(keys)), "a setting is listed twice in .env.example"
    assert set(keys) == set(Settings.names())


def test_every_setting_in_env_example_has_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            above = lines[n - 1]
            assert above.startswith("#") or re.match(r"^[A-Z][A-Z0-9_]*=", above), f"no comment above {line}"


@pytest.mark.parametrize("page", [*PAGES, ENV_EXAMPLE, *sorted((ROOT / "examples").glob("*.service"))])
def test_setting_names_in_the_docs_exist(page: Path) -> None:
    text = re.sub(r"unknown setting \w+", "", page.read_text(encoding="utf-8"))  # quoted typo messages
    names = set(SETTING_LIKE.findall(text))
    assert unknown_settings(names, f"in {page.name}") == []


def test_setting_assignments_in_the_docs_exist() -> None:
    """`NAME=value` in a page is a setting to copy: every such name must be one."""
    known = set(Settings.names())
    for page in PAGES:
        for name in re.findall(r"(?<![\w-])([A-Z][A-Z0-9_]{2,})=", page.read_text(encoding="utf-8")):
            assert name in known or name in {"TEST_DATABASE_URL", "PATRON_DESK_FULL"}, f"{page.name}: {name}"


def test_manifest_comment_counts_the_request_url_lines() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    said = re.search(r"uncomment the (\w+) request URL lines", text)
    assert said is not None, "the manifest no longer says how many request URL lines to uncomment"
    commented = re.findall(r"^\s*# (?:url|request_url): https://", text, re.MULTILINE)
    assert NUMBERS[said.group(1)] == len(commented) == 4


def test_manifest_commands_and_their_hints() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/rota", "/desk"}
    # `/desk` takes nothing or `stats` (bot/core/desk_queue.py queue); a role is not a filter
    assert commands["/desk"]["usage_hint"] == "[stats]"


def test_links_between_pages_resolve() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not target.startswith(("http://", "https://", "mailto:")):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_no_maintainer_notes_left_in_the_docs() -> None:
    for page in PAGES:
        assert "<!--" not in page.read_text(encoding="utf-8"), page.name


def test_matrix_page_names_the_direct_message_setting() -> None:
    text = (ROOT / "docs" / "matrix.md").read_text(encoding="utf-8")
    assert "MATRIX_DIRECT_MESSAGES=true" in text and "no setting" not in text


def test_mastodon_scopes_agree_between_env_example_and_the_guide() -> None:
    scope = re.compile(r"\b(?:read|write):[a-z]+\b")
    comment = next(
        line for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines() if "Access token with" in line
    )
    guide = (ROOT / "docs" / "social.md").read_text(encoding="utf-8").split("## Bluesky")[0]
    assert set(scope.findall(comment)) == set(scope.findall(guide)) >= {"read:accounts", "write:statuses"}


def test_install_guide_matches_the_unit_files() -> None:
    guide = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    single = (ROOT / "examples" / "patron-desk.service").read_text(encoding="utf-8")
    template = (ROOT / "examples" / "patron-desk@.service").read_text(encoding="utf-8")
    assert "examples/patron-desk.service" in guide and "examples/patron-desk@.service" in guide
    for unit in (single, template):
        assert "patron-desk --env-file /etc/patron-desk/patron-desk.env run" in unit
    assert "Environment=HTTP_PORT=%i" in template and "HTTP_PORT" not in single
    assert "[test]" in guide and "HTTP_PORT" in guide


def test_docs_point_only_at_files_in_the_repository() -> None:
    """The design notes the project grew from are not shipped: the pages must not send readers there."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for name in re.findall(r"(?<![/\w.@-])([A-Za-z][\w./@-]*\.(?:md|toml|csv|yaml|service|py))\b", text):
            if "/" in name or name in {"DESIGN.md", "STYLE.md"}:
                assert (ROOT / name).exists() or (page.parent / name).exists(), f"{page.name} names {name}"
