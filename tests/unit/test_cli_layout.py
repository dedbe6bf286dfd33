"""The command line's layout (asv's): one module per command in ``benchctl.commands``, each
with its parser setup and its function; ``benchctl.cli`` only assembles and dispatches.

Known answers: the eleven commands, in the order ``benchctl --help`` has always listed them.
"""

from __future__ import annotations

import argparse
import ast
import inspect

import pytest

from benchctl import cli
from benchctl.commands import COMMANDS

LISTED = [
    "run",
    "worker",
    "scenarios",
    "targets",
    "runs",
    "analyze",
    "telemetry",
    "report",
    "gate",
    "compare",
    "history",
]


def test_every_command_module_has_the_interface_and_is_listed_in_order() -> None:
    assert [module.NAME for module in COMMANDS] == LISTED
    for module in COMMANDS:
        assert isinstance(module.HELP, str) and module.HELP, module.__name__
        assert module.EPILOG is None or isinstance(module.EPILOG, str), module.__name__
        assert list(inspect.signature(module.add_arguments).parameters) == ["parser"]
        assert list(inspect.signature(module.run_from_args).parameters) == ["args", "console"]
        assert module.add_arguments.__doc__ and module.run_from_args.__doc__, module.__name__


def test_the_parser_dispatches_each_command_to_its_module() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == LISTED
    for module in COMMANDS:
        assert sub.choices[module.NAME].get_default("handler") is module.run_from_args
        assert sub.choices[module.NAME].description == module.HELP


@pytest.mark.parametrize("name", LISTED)
def test_each_command_help_exits_0(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: benchctl {name} ")


def test_cli_module_holds_no_command() -> None:
    """cli.py defines main, unrecognized and build_parser only (commands live elsewhere)."""
    tree = ast.parse(inspect.getsource(cli))
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert functions == ["main", "unrecognized", "build_parser"]
