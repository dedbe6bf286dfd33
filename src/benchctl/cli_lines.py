"""Lines the command line writes about bad input, beside ``benchctl.cli`` (which holds only
``main``, ``unrecognized`` and ``build_parser``): a refusal of one of a command's own flags
made after parsing, written as argparse writes a value it refuses while parsing."""

from __future__ import annotations

import argparse
import re

# a refusal that starts with a flag: "--flag: ...", "--flag VALUE: ...", "--flag needs ..."
_FLAG_MESSAGE = re.compile(r"^(--[a-z][a-z0-9-]*)(?::\s*|\s+)(\S.*)$")


def flag_error(parser: argparse.ArgumentParser, command: str | None, message: str) -> str | None:
    """A bad-input ``message`` about one of ``command``'s own flags, refused after parsing
    because it needs another flag, the scenario or a file (``--split`` whose arms lack the
    ``--target``, ``--traffic`` in ``--config-dir``, ``--rate`` for a sweep), in the form
    argparse gives a value refused while parsing: ``benchctl run: error: argument
    --split: ... (see `benchctl run --help`)``.

    ``message`` is such a refusal when it starts with ``--FLAG`` (then ``:``, a value or
    words) and FLAG is an option of ``command``. Returns the line, or None for any other
    message (which keeps its ``benchctl: error:`` form)."""
    match = _FLAG_MESSAGE.match(message)
    sub = command_parser(parser, command)
    if match is None or sub is None or match.group(1) not in sub._option_string_actions:
        return None
    flag, rest = match.groups()
    return f"{sub.prog}: error: argument {flag}: {rest} (see `{sub.prog} --help`)"


def command_parser(
    parser: argparse.ArgumentParser, command: str | None
) -> argparse.ArgumentParser | None:
    """The parser of ``command`` made by ``cli.build_parser`` from ``parser`` (its own
    options and prog, e.g. ``benchctl run``); None for no such command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return None
