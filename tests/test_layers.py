"""The layout the code keeps, read from its imports with `ast` (nothing is imported here).

- `bot/services` is domain logic: it never imports discord.py, the Discord layer or a cog;
- `bot/layer` is the Discord layer under the cogs: it never imports a cog;
- a cog never imports another cog (they share what they need through the layer);
- nothing under `bot/` or `cogs/` imports simcord or the rehearsal (its own package);
- an import inside a function body says why it cannot be at the top, in a comment just above.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Import:
    file: str
    line: int
    module: str
    in_function: bool
    reason: bool


def _modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [node.module or ""]


def _imports(path: Path, root: Path = ROOT) -> list[Import]:
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    inside.add(id(sub))
    found = []
    name = path.relative_to(root).as_posix()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
        reason = above.startswith("#") or "#" in lines[node.lineno - 1]
        for module in _modules(node):
            found.append(Import(name, node.lineno, module, id(node) in inside, reason))
    return found


def _all(*folders: str) -> list[Import]:
    return [
        imp
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        for imp in _imports(path)
    ]


def _is(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _cog_of(file: str) -> str:
    """`cogs/circles/rounds.py` -> `cogs.circles`; `cogs/about.py` -> `cogs.about`."""
    parts = file.removesuffix(".py").split("/")
    return ".".join(parts[:2])


def test_the_tree_is_where_this_test_looks() -> None:
    # Guards the tests below against passing because they read nothing.
    files = {imp.file for imp in _all("bot", "cogs")}
    assert {"bot/client.py", "bot/layer/posting.py", "cogs/anonymous.py"} <= files
    assert any(f.startswith("bot/services/") for f in files)


def test_services_never_import_discord_the_layer_or_a_cog() -> None:
    bad = [
        imp
        for imp in _all("bot/services")
        if any(_is(imp.module, p) for p in ("discord", "bot.layer", "bot.client", "cogs"))
    ]
    assert bad == []


def test_the_discord_layer_never_imports_a_cog() -> None:
    assert [imp for imp in _all("bot/layer") if _is(imp.module, "cogs")] == []


def test_no_cog_imports_another_cog() -> None:
    bad = [
        imp
        for imp in _all("cogs")
        if _is(imp.module, "cogs")
        and imp.module != "cogs"
        and not _is(imp.module, _cog_of(imp.file))
    ]
    assert bad == []


def test_nothing_in_the_bot_imports_simcord() -> None:
    bad = [imp for imp in _all("bot", "cogs") if _is(imp.module, "simcord")]
    assert bad == []


def test_the_bot_imports_the_rehearsal_only_on_use() -> None:
    # `python -m bot` starts it without a token; importing it at the top would load simcord.
    uses = [imp for imp in _all("bot", "cogs") if _is(imp.module, "rehearsal")]
    assert uses and all(imp.file == "bot/__main__.py" and imp.in_function for imp in uses)


def test_imports_inside_functions_say_why() -> None:
    bad = [imp for imp in _all("bot", "cogs") if imp.in_function and not imp.reason]
    assert bad == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    # A bare function-body import is caught; one with a comment above it is let through.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from cogs.about import setup\n    return setup\n\n\n"
        "def g():\n    # Imported on use: it needs simcord.\n    import simcord\n"
    )
    bare, explained = _imports(sample, tmp_path)
    assert bare.in_function and not bare.reason
    assert explained.in_function and explained.reason
    assert not _is(bare.module, _cog_of("cogs/circles/rounds.py"))
    assert _is("cogs.circles.views", _cog_of("cogs/circles/rounds.py"))
