"""No ``asyncio.wait_for`` in bot/: on Python 3.11 it returns the inner result when a cancellation arrives
just as the inner await finishes, so the cancellation is lost and a part asked to stop keeps running
(seen as a test pump that never stopped under load). ``async with asyncio.timeout(...)`` does not."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"


def wait_for_calls(source: str) -> list[int]:
    tree = ast.parse(source)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "wait_for"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "asyncio"
    ]


def test_bot_never_calls_asyncio_wait_for() -> None:
    found = {
        str(path.relative_to(BOT.parent)): lines
        for path in sorted(BOT.rglob("*.py"))
        if (lines := wait_for_calls(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "use `async with asyncio.timeout(...)`: wait_for can swallow a cancellation"


def test_the_check_sees_a_wait_for() -> None:
    assert wait_for_calls(
        "import asyncio\nasync def f(q):\n    return await asyncio.wait_for(q.get(), 1)\n"
    ) == [3]
