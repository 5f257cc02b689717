"""The pure packages (routing, rota, commands, domain) and the card renderers stay pure: no I/O
libraries, no clock reads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_MODULES = frozenset({"asyncio", "sqlalchemy", "httpx", "slack_bolt", "slack_sdk", "nio", "aiohttp"})
CLOCK_ATTRIBUTES = frozenset({"now", "utcnow", "today"})  # datetime.now(), date.today(), ...
TIME_FUNCTIONS = frozenset(
    {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "localtime", "gmtime"}
)


# The pure packages of the layout (DESIGN.md §2); each is checked module by module and as a whole.
PURE_PACKAGES = ("routing", "rota", "commands")


def routing_modules() -> list[Path]:
    return sorted(p for pkg in PURE_PACKAGES for p in (ROOT / "bot" / pkg).glob("*.py"))


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def card_modules() -> list[Path]:
    core = ROOT / "bot" / "core"
    return [p for p in [core / "cards.py", *sorted(core.glob("*_cards.py"))] if p.exists()]


def domain_modules() -> list[Path]:
    return sorted((ROOT / "bot" / "domain").glob("*.py"))


# Slack cards are built with slack_sdk's Block Kit models (the Slack issue asks for them): a pure
# data model. Its package __init__ happens to import the web client, so this is checked by name.
CARD_ALLOWED = ("slack_sdk.models",)


def _forbidden(module: str, allowed: tuple[str, ...] = ()) -> bool:
    if any(module == a or module.startswith(a + ".") for a in allowed):
        return False
    return module.split(".")[0] in FORBIDDEN_MODULES


def impurities(source: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Every forbidden import or clock read in ``source``, as 'line N: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"line {line}: import {a.name}" for a in node.names if _forbidden(a.name, allowed)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _forbidden(node.module, allowed):
                found.append(f"line {line}: from {node.module} import ...")
            if node.module == "time" and any(a.name in TIME_FUNCTIONS for a in node.names):
                found.append(f"line {line}: from time import a clock")
        elif isinstance(node, ast.Attribute):
            if node.attr in CLOCK_ATTRIBUTES:
                found.append(f"line {line}: .{node.attr} reads the clock")
            elif node.attr in TIME_FUNCTIONS and isinstance(node.value, ast.Name) and node.value.id == "time":
                found.append(f"line {line}: time.{node.attr} reads the clock")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            first = node.args[0] if node.args else None
            target = first.value if isinstance(first, ast.Constant) else None
            if name in ("__import__", "import_module") and isinstance(target, str) and _forbidden(target):
                found.append(f"line {line}: dynamic import of {target}")
    return found


def test_there_are_modules_to_check() -> None:
    names = {dotted(p) for p in routing_modules()}
    assert {"bot.routing.rules", "bot.rota.rota", "bot.routing.router", "bot.commands.commands"} <= names
    assert {p.parent.name for p in routing_modules()} == set(PURE_PACKAGES)
    assert [p.name for p in card_modules()][:1] == ["cards.py"]


@pytest.mark.parametrize("path", routing_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_routing_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", card_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_card_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8"), CARD_ALLOWED) == []


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_domain_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == []


def test_domain_imports_nothing_impure_even_indirectly() -> None:
    assert any(p.name == "sanitize.py" for p in domain_modules())
    modules = ", ".join(f"bot.domain.{p.stem}" for p in domain_modules() if p.stem != "__init__")
    code = (
        f"import sys, {modules}\n"
        # a None entry blocks an import (bot/__init__.py blocks httpx's CLI): it is not an import
        f"print(sorted(m for m, mod in sys.modules.items()"
        f" if mod is not None and m.split('.')[0] in {sorted(FORBIDDEN_MODULES)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_card_allowance_is_narrow() -> None:
    assert impurities("from slack_sdk.models.blocks import SectionBlock", CARD_ALLOWED) == []
    assert impurities("from slack_sdk.web.async_client import AsyncWebClient", CARD_ALLOWED) != []


def test_routing_imports_nothing_impure_even_indirectly() -> None:
    modules = ", ".join(dotted(p) for p in routing_modules() if p.stem != "__init__")
    code = (
        f"import sys, {modules}\n"
        # a None entry blocks an import (bot/__init__.py blocks httpx's CLI): it is not an import
        f"print(sorted(m for m, mod in sys.modules.items()"
        f" if mod is not None and m.split('.')[0] in {sorted(FORBIDDEN_MODULES)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import asyncio", "line 1: import asyncio"),
        ("import sqlalchemy.orm as orm", "line 1: import sqlalchemy.orm"),
        ("from slack_sdk.web import WebClient", "line 1: from slack_sdk.web import ..."),
        ("from nio import AsyncClient", "line 1: from nio import ..."),
        ("import os\nimport httpx, aiohttp", "line 2: import httpx"),
        ("from slack_bolt import App", "line 1: from slack_bolt import ..."),
        ("from datetime import datetime\nx = datetime.now()", "line 2: .now reads the clock"),
        ("import datetime\nx = datetime.datetime.utcnow()", "line 2: .utcnow reads the clock"),
        ("from datetime import date\nd = date.today", "line 2: .today reads the clock"),
        ("import time\nt = time.time()", "line 2: time.time reads the clock"),
        ("import time\nt = time.monotonic()", "line 2: time.monotonic reads the clock"),
        ("from time import time as now", "line 1: from time import a clock"),
        ("m = __import__('asyncio')", "line 1: dynamic import of asyncio"),
        ("import importlib\nm = importlib.import_module('httpx')", "line 2: dynamic import of httpx"),
    ],
)
def test_the_checker_catches_impurities(source: str, expected: str) -> None:
    assert expected in impurities(source)


def test_the_checker_allows_pure_code() -> None:
    source = (
        "from datetime import datetime, time, timedelta\n"
        "import re, tomllib, csv, io\n"
        "from zoneinfo import ZoneInfo\n"
        "from pydantic import BaseModel\n"
        "def f(now: datetime) -> time:\n"
        "    return (now + timedelta(hours=1)).time()\n"
        "x = time(9)\n"
        "import asyncio_helpers_not_asyncio\n"
    )
    assert impurities(source) == []
