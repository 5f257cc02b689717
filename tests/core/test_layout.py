"""The layout's invariants, read from the code (AST): platform names live under bot/platforms/<name>/
only, and bot/ has no import cycle, not even one hidden behind ``if TYPE_CHECKING:``. Each check names
the module and line it objects to."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.config import Settings
from bot.platforms import REGISTRY

BOT = Path(__file__).resolve().parents[2] / "bot"

# Modules that may name platforms, and why. Keep this short: every entry is a reason, not a convenience.
ALLOWED = {
    "bot.platforms": "the registry itself: one line per platform",
    "bot.config": "settings are named per platform (SLACK_BOT_TOKEN, ...) and stay as they are",
}
# Core modules that still name a platform, and why. Empty since staff ids, role channels, rota `@who`
# tokens, notice labels and the `route` default come from each platform's spec; it may only stay empty.
KNOWN: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(BOT.rglob("*.py")) if "migrations" not in p.parts}


def platform_of(module: str) -> str | None:
    """The platform package a module belongs to (``bot.platforms.slack.desk`` -> ``slack``)."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["bot", "platforms"] and parts[2] in REGISTRY:
        return parts[2]
    return None


def docstrings(tree: ast.Module) -> set[int]:
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, kinds) and node.body and isinstance(node.body[0], ast.Expr):
            found.add(id(node.body[0].value))
    return found


def imported(node: ast.Import | ast.ImportFrom, here: str, package: bool) -> list[str]:
    """Every module an import statement may load (``from a import b`` may load ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = here.split(".") if package else here.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def platform_names() -> set[str]:
    names = set(REGISTRY)
    names |= {spec.display.casefold() for spec in REGISTRY.values()}
    return names


def mentions_of_platforms(module: str, path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs, names = docstrings(tree), platform_names()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            value = node.value.strip()
            named = value.casefold() in names and not value.isupper()  # FEEDS is a setting, not a name
            if named or platform_of(value):
                yield f"{module}:{node.lineno} names {value!r}"
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for target in imported(node, module, path.name == "__init__.py"):
                if platform_of(target):
                    yield f"{module}:{node.lineno} imports {target}"


def outside_platforms() -> list[str]:
    found = []
    for module, path in modules().items():
        if platform_of(module) or module in ALLOWED or module in KNOWN:
            continue
        found.extend(mentions_of_platforms(module, path))
    return found


def test_no_module_outside_its_platform_package_names_a_platform() -> None:
    assert outside_platforms() == []


def test_the_known_list_only_holds_modules_that_still_need_it() -> None:
    stale = [m for m in KNOWN if not list(mentions_of_platforms(m, modules()[m]))]
    assert stale == [], "these no longer name a platform: drop them from KNOWN"


def test_the_platform_check_sees_a_name_and_an_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text('"""Docstrings may say Slack."""\nfrom bot.platforms.slack import cards\nX = "matrix"\n')
    assert list(mentions_of_platforms("bot.core.probe", probe)) == [
        "bot.core.probe:2 imports bot.platforms.slack",
        "bot.core.probe:2 imports bot.platforms.slack.cards",
        "bot.core.probe:3 names 'matrix'",
    ]


# --- import cycles ----------------------------------------------------------------------------------


def module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports at module level, those under ``if TYPE_CHECKING:`` included: a cycle hidden there is
    still a cycle between the modules (only imports inside functions, which load late, are left out)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            yield from module_level_imports(node.body)
            yield from module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from module_level_imports(block)


def import_graph(known: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module -> the modules of ``known`` (default: every module of bot/) it imports at module level."""
    known = modules() if known is None else known
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in module_level_imports(tree.body):
            targets |= {t for t in imported(node, module, path.name == "__init__.py") if t in known}
        graph[module] = targets - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_bot_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_cycle_check_sees_an_import_under_type_checking(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text("from pkg import actions\n")
    (tmp_path / "actions.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.service import Service\n"
    )
    (tmp_path / "late.py").write_text("def f():\n    from pkg import service\n")
    known = {f"pkg.{name}": tmp_path / f"{name}.py" for name in ("service", "actions", "late")}
    graph = import_graph(known)
    assert graph == {"pkg.service": {"pkg.actions"}, "pkg.actions": {"pkg.service"}, "pkg.late": set()}
    assert cycles(graph) == [["pkg.actions", "pkg.service"]]


PURE = ("bot.routing", "bot.rota", "bot.commands", "bot.domain")


def test_the_pure_packages_import_only_pure_modules() -> None:
    """Routing, rota, commands and domain may use the plain types and errors, never the platforms, the
    store or the core (they would bring I/O with them)."""
    plain = {"bot.models", "bot.errors"}
    found = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module.startswith(PURE)
        for target in targets
        if not target.startswith(PURE) and target not in plain
    )
    assert found == []


def test_every_registry_entry_is_consistent_with_the_settings() -> None:
    for name, spec in REGISTRY.items():
        assert spec.name == name
        assert spec.build_source is not None or spec.build_desk is not None
        assert spec.settings_keys, name
        assert set(spec.settings_keys) <= set(Settings.names()), name


def test_starting_the_app_loads_no_platform_sdk_until_configured() -> None:
    code = "import sys, bot.app, bot.runner; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert not {"slack_bolt", "slack_sdk", "nio"} & set(ast.literal_eval(loaded))
