"""The modules a Python source imports, read from its AST (nothing is imported): shared by
the tests that check which package may import which (test_load_boundary,
test_terminal_output)."""

from __future__ import annotations

import ast


def node_imports(node: ast.AST) -> list[str]:
    """The absolute modules one AST node imports: ``import a.b`` -> ["a.b"], ``from a.b
    import c`` -> ["a.b"], and ``from benchctl import load`` -> ["benchctl.load"] (a
    subpackage imported by name); [] for a relative import or a node that is no import."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        if node.module == "benchctl":
            return [f"benchctl.{alias.name}" for alias in node.names]
        return [node.module]
    return []
