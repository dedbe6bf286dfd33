"""Print a list-of-strings constant of a Python source file, one item a line, without importing it.

The server images install exactly the pins that ``benchctl run --launch`` uses, read from the
launcher's source at build time instead of being copied into the Dockerfiles:

    python pins.py src/benchctl/targets/launch.py KSERVE_REQUIREMENTS > requirements.txt

Standard library only (it runs before anything is installed).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def read_constant(path: Path, name: str) -> list[str]:
    """The value of ``NAME = [...]`` (or annotated) at the top level of ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            value = ast.literal_eval(node.value)
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise SystemExit(f"{path}: {name} is not a list of strings")
            return list(value)
    raise SystemExit(f"{path}: no top-level {name} = [...]")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: pins.py FILE.py CONSTANT_NAME\n")
        return 2
    for item in read_constant(Path(argv[0]), argv[1]):
        print(item)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
