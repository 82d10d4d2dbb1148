"""Size limits that keep the code readable: every module of the product is at most
MAX_MODULE_LINES lines and every function (methods and nested functions included) at most
MAX_FUNCTION_LINES, decorators and docstring counted. The layers themselves are checked by
`lint-imports` (pyproject.toml, [tool.importlinter])."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rasad", "producers", "stream", "indexers", "bench")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# Not product code: third-party packages a build may leave inside a package folder.
SKIPPED_PARTS = {"node_modules", "__pycache__"}


def product_modules() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not SKIPPED_PARTS.intersection(path.relative_to(ROOT).parts):
                found.append(path)
    return found


def oversized_modules(paths: list[Path]) -> list[str]:
    offenders = []
    for path in paths:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            offenders.append(f"{path.relative_to(ROOT)}:1 {lines} lines")
    return offenders


def oversized_functions(paths: list[Path]) -> list[str]:
    offenders = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > MAX_FUNCTION_LINES:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                offenders.append(f"{where} {node.name}() {lines} lines")
    return offenders


def test_the_size_check_sees_the_product() -> None:
    paths = product_modules()
    assert any(p.match("rasad/cli/__init__.py") for p in paths)
    assert all(any(p.relative_to(ROOT).parts[0] == pkg for p in paths) for pkg in PACKAGES)


def test_modules_are_at_most_400_lines() -> None:
    offenders = oversized_modules(product_modules())
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(offenders)


def test_functions_are_at_most_80_lines() -> None:
    offenders = oversized_functions(product_modules())
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(offenders)
