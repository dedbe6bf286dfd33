"""Terminal output lives in one package, ``benchctl.reports.terminal``.

The packages that compute (analysis, telemetry, rundir, plan) and the rest of reports return
data and never write to the terminal: no rich import, no ``print(...)``, no
``console.print``/``console.rule`` call, no ``sys.stdout``/``sys.stderr``, and no import of
the terminal package (which would print on their behalf). Checked on the source (AST).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.unit.source_imports import node_imports

SRC = Path(__file__).resolve().parents[2] / "src" / "benchctl"
TERMINAL = SRC / "reports" / "terminal"
COMPUTING = ("analysis", "telemetry", "rundir", "plan", "reports")
CONSOLE_METHODS = {"print", "rule", "print_json"}  # rich Console methods that write
# (file, line text) that may still write to the terminal, and why: none (rundir hands its
# recovery notice to the caller, ``rundir.directory.recovery_notices``, and the CLI prints it)
ALLOWED: set[tuple[str, str]] = set()


def terminal_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for each way ``source`` writes to the terminal or reaches rich or the
    terminal package; [] for a module that only computes."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for module in node_imports(node):
            if module.split(".")[0] == "rich" or module.startswith("benchctl.reports.terminal"):
                found.append((node.lineno, f"imports {module}"))
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "print":
                found.append((node.lineno, "print()"))
            elif isinstance(func, ast.Attribute) and func.attr in CONSOLE_METHODS:
                found.append((node.lineno, f".{func.attr}()"))
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr")
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append((node.lineno, f"sys.{node.attr}"))
    return found


def test_the_check_finds_each_way_of_writing_to_the_terminal():
    """Known answer: each of these five lines is one way to write to the terminal."""
    source = "\n".join(
        [
            "from rich.table import Table",
            "import rich",
            "print('x')",
            "console.print('x')",
            "sys.stdout.write('x')",
            "from benchctl.reports.terminal.answer import print_answer",
            "spread = np.log(ratio)  # arithmetic, not the terminal",
            "text = f'{value:,.1f} rps'  # computing a string is fine",
        ]
    )
    assert sorted(line for line, _ in terminal_writes(source)) == [1, 2, 3, 4, 5, 6]


def test_only_the_terminal_package_writes_to_the_terminal():
    """No module of analysis, telemetry, rundir, plan or reports (but reports/terminal)
    prints, imports rich, touches sys.stdout/stderr or imports the terminal package;
    the one stderr line left is listed in ALLOWED with its reason."""
    offenders = []
    allowed_seen = set()
    for package in COMPUTING:
        for path in sorted((SRC / package).rglob("*.py")):
            if TERMINAL in path.parents:
                continue
            name = path.relative_to(SRC).as_posix()
            lines = path.read_text(encoding="utf-8").splitlines()
            for line, what in terminal_writes("\n".join(lines)):
                text = lines[line - 1].strip()
                if (name, text) in ALLOWED:
                    allowed_seen.add((name, text))
                else:
                    offenders.append(f"{name}:{line} {what}: {text}")
    assert offenders == []
    assert allowed_seen == ALLOWED  # an exception no longer needed is removed from ALLOWED


def test_the_terminal_package_is_where_rich_tables_are_built():
    """Outside reports/terminal, rich is imported at most for the ``Console`` type a
    command or a run hands down; tables, panels, text and markup are built only in
    reports/terminal."""
    builders = []
    for path in sorted(SRC.rglob("*.py")):
        if TERMINAL in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rich":
                names = {alias.name for alias in node.names}
                if node.module != "rich.console" or names - {"Console"}:
                    builders.append(f"{path.relative_to(SRC)}:{node.lineno} {node.module}")
            elif isinstance(node, ast.Import) and any(
                alias.name.split(".")[0] == "rich" for alias in node.names
            ):
                builders.append(f"{path.relative_to(SRC)}:{node.lineno} import rich")
    assert builders == []


# The run orchestration (relative to src/benchctl; a folder: every module in it): it passes
# the console down and calls reports/terminal for every line it shows.
ORCHESTRATION = (
    "run.py",
    "run_setup.py",
    "run_drive.py",
    "run_finish.py",
    "batch.py",
    "slo_run.py",
    "split_run.py",
    "split_telemetry.py",
    "search",
    "commands/run_repeat.py",
    "commands/worker.py",
)


def test_the_run_orchestration_words_nothing_itself():
    """Run, its setup, driving and finishing, the batch sweep, ``run --slo``, split runs, the
    capacity search, ``--repeat`` and ``worker`` call a function of reports/terminal for each
    line they show: no ``print()``, no ``console.print``/``console.rule`` and no
    sys.stdout/stderr of their own (importing the terminal package and rich's ``Console``
    type is how they do it)."""
    offenders = []
    for name in ORCHESTRATION:
        path = SRC / name
        for module in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            lines = module.read_text(encoding="utf-8").splitlines()
            for line, what in terminal_writes("\n".join(lines)):
                if not what.startswith("imports "):
                    where = module.relative_to(SRC).as_posix()
                    offenders.append(f"{where}:{line} {what}: {lines[line - 1].strip()}")
    assert offenders == []
