"""aios_core's rooms import only downward, in the order docs/architecture.md states, and no two
modules import each other (directly or around a circle)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aios_core"

# Lowest first: a room may import the rooms before it, never one after it. A room is a
# subpackage of aios_core or one of its top-level modules; "aios_core" is the package's own
# __init__ (the lazy ``from aios_core import AiOS``).
ROOM_ORDER = (
    "errors", "precision", "choices", "person", "cpu_allocator", "assets",
    "io", "results", "body", "rendering", "video", "tracking",
    "model", "device", "inference",
    "data", "export", "world", "feet",
    "evaluation", "training", "pipeline",
    "batch", "viewer", "doctor", "aios_core",
)
# Upward imports still to be removed; each entry must exist (a mended one is struck here).
KNOWN_UPWARD: dict[tuple[str, str], str] = {}
# Imports inside a function that call upward on purpose: (module, imported module).
FACADES = {
    ("aios_core.model.network", "aios_core.inference.predict"):
        "AiOS.predict, the one-line Python API, hands over to the inference API",
}


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (annotations only, never executed)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    return skipped


def import_edges(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the aios_core modules it imports, anywhere in its body but TYPE_CHECKING."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in package.rglob("*.py"):
        module = _module_name(path, package)
        tree = ast.parse(path.read_text(), filename=str(path))
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "aios_core":
                targets = [f"aios_core.{alias.name}" for alias in node.names]  # its modules
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            edges[module].update(t for t in targets if t.split(".")[0] == "aios_core")
    return edges


def _without_facades(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    return {a: {b for b in targets if (a, b) not in FACADES} for a, targets in edges.items()}


def test_every_room_has_a_place_in_the_order():
    rooms = {_room(module) for module in import_edges()}
    assert sorted(rooms - set(ROOM_ORDER)) == []


def test_rooms_import_only_downward():
    rank = {room: index for index, room in enumerate(ROOM_ORDER)}
    upward = defaultdict(list)
    for module, targets in _without_facades(import_edges()).items():
        for target in targets:
            pair = (_room(module), _room(target))
            if pair[0] != pair[1] and rank[pair[1]] > rank[pair[0]]:
                upward[pair].append(f"{module} -> {target}")
    unexpected = {pair: uses for pair, uses in upward.items() if pair not in KNOWN_UPWARD}
    assert unexpected == {}
    mended = set(KNOWN_UPWARD) - set(upward)
    assert mended == set(), "strike these from KNOWN_UPWARD"


def test_facades_still_exist():
    edges = import_edges()
    assert [pair for pair in FACADES if pair[1] not in edges.get(pair[0], set())] == []


def test_no_import_circles():
    edges = _without_facades(import_edges())
    # Tarjan's strongly connected components over the module graph.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in list(edges):
        if module not in index:
            visit(module)
    assert circles == []


def test_the_checker_sees_imports_inside_functions_but_not_annotations(tmp_path):
    package = tmp_path / "aios_core"
    (package / "body").mkdir(parents=True)
    (package / "body" / "mesh.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from aios_core.viewer import scene\n"
        "def f():\n    from aios_core.pipeline import run\n    import aios_core.world.stage\n"
    )
    assert import_edges(package) == {
        "aios_core.body.mesh": {"aios_core.pipeline", "aios_core.world.stage"}}
