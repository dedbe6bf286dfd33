"""``benchctl.load`` (Locust, gevent: it monkey-patches the process that imports it) is
imported only by its own package and the run orchestration (issue 15, DESIGN.md).

The orchestration starts the engine as a child process by module path (``python -m
benchctl.load.engine``, engine_processes.py), which is no import; the requests schema and the
part writer it needs live in rundir. Checked on the source (AST), so nothing is imported here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.unit.source_imports import node_imports

SRC = Path(__file__).resolve().parents[2] / "src" / "benchctl"
# the run orchestration (relative to src/benchctl; a folder: every module in it): what may
# import the load package, beside the package itself
ORCHESTRATION = (
    "run.py",
    "run_setup.py",
    "run_drive.py",
    "run_finish.py",
    "engine_processes.py",
    "batch.py",
    "slo_run.py",
    "split_run.py",
    "search/",
    "commands/run.py",
    "commands/run_repeat.py",
    "commands/worker.py",
)


def load_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) for each import of ``benchctl.load`` or a module in it in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        modules = node_imports(node)
        found += [
            (node.lineno, m)
            for m in modules
            if m == "benchctl.load" or m.startswith("benchctl.load.")
        ]
    return found


def test_the_check_finds_each_way_of_importing_the_load_package():
    """Known answer: lines 1-4 import it; a module path in a string and a rundir import
    do not."""
    source = "\n".join(
        [
            "import benchctl.load.engine",
            "from benchctl.load.records import merge_parts",
            "from benchctl import load",
            "from benchctl.load import driver",
            'command = [sys.executable, "-m", "benchctl.load.engine"]',
            "from benchctl.rundir.parts import merge_parts",
            "from benchctl import loaders",
        ]
    )
    assert [line for line, _ in load_imports(source)] == [1, 2, 3, 4]


def test_only_the_load_package_and_the_run_orchestration_import_it():
    importers = {}
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name.startswith("load/"):
            continue
        found = load_imports(path.read_text(encoding="utf-8"))
        if found and not any(
            name == allowed or (allowed.endswith("/") and name.startswith(allowed))
            for allowed in ORCHESTRATION
        ):
            importers[name] = found
    assert importers == {}
