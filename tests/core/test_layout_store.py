"""The store is the only place that writes SQL: no module outside bot/store/ and bot/migrations/
imports SQLAlchemy at run time (an import under ``if TYPE_CHECKING:`` is a type hint only)."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
ALLOWED = ("store", "migrations")
# Modules still importing SQLAlchemy at run time; shrinking this list is the follow-up. Empty today.
KNOWN: frozenset[str] = frozenset()


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Every module imported outside ``if TYPE_CHECKING:`` blocks, at any depth (functions too)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def sql_importers(root: Path) -> set[str]:
    """Modules under ``root`` (outside the allowed packages) that import sqlalchemy at run time."""
    out = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in ALLOWED:
            continue
        imports = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        if any(name == "sqlalchemy" or name.startswith("sqlalchemy.") for name in imports):
            out.add(rel.as_posix())
    return out


def test_no_sqlalchemy_outside_the_store() -> None:
    assert sql_importers(BOT) == KNOWN


def test_the_walk_sees_runtime_imports_and_skips_type_hints(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "ok.py").write_text("import sqlalchemy\n")
    (tmp_path / "hints.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from sqlalchemy.ext.asyncio import AsyncSession\n"
    )
    (tmp_path / "top.py").write_text("from sqlalchemy import select\n")
    (tmp_path / "inner.py").write_text("def f():\n    import sqlalchemy.orm\n")
    (tmp_path / "other.py").write_text(
        "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    import sqlalchemy\n"
    )
    assert sql_importers(tmp_path) == {"top.py", "inner.py", "other.py"}
