"""The ``benchctl`` command line: parse, call one function, map its result to an exit code.

Each command is one module of ``benchctl.commands`` (its options and its function); this
module only assembles the parser and dispatches.

Exit codes: 0 ok; 1 failed (or the gate found a regression); 2 bad input; 3 run interrupted
(its directory is still complete and readable).
"""

from __future__ import annotations

import argparse
import difflib
import errno
import os

from benchctl import __version__, arguments
from benchctl.cli_lines import command_parser, flag_error
from benchctl.commands import COMMANDS
from benchctl.errors import BenchctlError, one_line

_BAD_PATH_ERRNOS = {
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ELOOP,
    errno.ENAMETOOLONG,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code. Bad input is one stderr line and exit 2.

    ``argv``: the arguments after ``benchctl`` (default: ``sys.argv[1:]``). Never raises
    (but for ``BENCHCTL_DEBUG=1``, which lets an internal error's traceback through)."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line argparse error
        return exc.code if isinstance(exc.code, int) else 2
    # rich (the console) is imported once a command runs, not for --help or --version
    from benchctl.reports.terminal.console import (
        command_console,
        error_line,
        quiet_stdout,
        recovery_notices_on_stderr,
    )

    if extra:
        error_line(unrecognized(parser, getattr(args, "command", None), extra))
        return 2
    try:
        with recovery_notices_on_stderr():  # a run recovered on first sight: one stderr line
            return args.handler(args, command_console())
    except BenchctlError as exc:
        text = one_line(str(exc))
        flagged = flag_error(parser, args.command, text) if exc.exit_code == 2 else None
        error_line(flagged or f"benchctl: error: {text}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `benchctl ... | head -1`: the reader left, which is fine
        quiet_stdout()
        return 0
    except OSError as exc:  # a path the user gave that cannot be used (last resort)
        where = f"{exc.filename}: " if exc.filename else ""
        error_line(f"benchctl: error: {where}{one_line(exc.strerror or str(exc))}")
        return 2 if exc.errno in _BAD_PATH_ERRNOS else 1
    except Exception as exc:  # last resort: still one line, never a traceback
        if os.environ.get("BENCHCTL_DEBUG"):
            raise
        error_line(
            f"benchctl: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(a bug: please report it; BENCHCTL_DEBUG=1 shows the traceback)"
        )
        return 1


def unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> str:
    """One line for arguments no parser took: the closest option of the command when an
    option looks mistyped (``--targt`` -> ``--target``), and where its help is.

    ``parser``: the parser ``build_parser`` made; ``command``: the command word given (or
    None); ``extra``: the arguments left over. Returns the line without its newline."""
    sub = command_parser(parser, command) or parser  # the command's own parser knows its options
    prog = sub.prog
    text = f"{prog}: error: unrecognized argument{'s' if len(extra) > 1 else ''}: "
    text += " ".join(extra)
    options = [o for o in sub._option_string_actions if o.startswith("--")]
    for token in extra:
        if token.startswith("-"):
            close = difflib.get_close_matches(token.split("=", 1)[0], options, n=1, cutoff=0.6)
            if close:
                text += f"; did you mean {close[0]}?"
                break
    return text + f" (see `{prog} --help`)"


def build_parser() -> argparse.ArgumentParser:
    """The ``benchctl`` parser: one subparser per module of ``benchctl.commands``, each
    with its options and its ``run_from_args`` as ``handler``."""
    parser = arguments.OneLineParser(
        prog="benchctl",
        description="Load testing and capacity planning for ML model servers.",
        epilog="Start with: benchctl run spike --target kserve --launch --time-scale 0.1",
    )
    parser.add_argument("--version", action="version", version=f"benchctl {__version__}")
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True, dest="command"
    )
    for command in COMMANDS:
        sub = commands.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            epilog=command.EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run_from_args)
    return parser
