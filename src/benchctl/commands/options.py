"""What several commands share: option checks made after parsing, and the report writer.

Each check raises ``InputError`` naming the flag (one stderr line, exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from benchctl import arguments
from benchctl.commands import flag_values
from benchctl.durations import parse_duration
from benchctl.errors import BenchctlError, InputError
from benchctl.rundir import DEFAULT_RUNS_DIR

RUN_HELP = "a run directory, e.g. runs/<id> (`benchctl runs` lists them)"
Options = argparse.ArgumentParser | argparse._ArgumentGroup


def add_runs_dir(parser: Options, text: str) -> None:
    """``--runs-dir DIR`` (default runs/), a folder to write into; ``text``: its help."""
    parser.add_argument(
        "--runs-dir", type=arguments.output_dir, default=DEFAULT_RUNS_DIR, metavar="DIR", help=text
    )


CONFIG_DIR_HELP = "folder with scenarios/ and targets/ that override the built-ins"


def add_config_dir(parser: Options, text: str = CONFIG_DIR_HELP) -> None:
    """``--config-dir``, a folder that exists (scenarios/ and targets/ in it override the
    built-ins); ``text``: its help."""
    parser.add_argument("--config-dir", type=arguments.existing_dir, metavar="DIR", help=text)


def add_price(parser: Options, text: str) -> None:
    """``--price`` (help ``text``) and ``--currency`` (default USD), each refused while
    parsing when bad; ``price_option`` and ``currency_option`` convert them."""
    parser.add_argument("--price", type=arguments.price, help=text)
    parser.add_argument(
        "--currency",
        type=flag_values.currency,
        default="USD",
        help="currency of --price: a code or symbol, e.g. USD, EUR, € (default USD)",
    )


def duration_option(flag: str, value: str | float) -> float:
    """Seconds in ``value`` (``2s``, ``250ms`` or a number of seconds).

    Raises InputError ``"<flag>: <what is allowed>"`` for anything else."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise InputError(f"{flag}: {exc}") from None


def currency_option(text: str) -> str:
    """A currency code or symbol (1-8 characters, no space or digit, e.g. USD or €),
    stripped. Raises InputError naming ``--currency`` otherwise."""
    value = text.strip()
    if not value or len(value) > 8 or any(c.isspace() or c.isdigit() for c in value):
        raise InputError(f"--currency {text!r}: give a code such as USD, EUR or GBP")
    return value


def price_option(text: str | None, currency: str = "USD") -> float | None:
    """``--price`` (``2.48/h``, ``1800/month``) as a price per hour, or None when not given.

    ``currency``: ``--currency`` as given. Raises InputError ``"--price: <what is allowed>"``
    for text that is not a price, or one with a ``$`` sign while ``--currency`` is not USD
    (the amount would be priced in another currency with its sign dropped)."""
    from benchctl.analysis.cost import parse_price

    if not text:
        return None
    if "$" in text and currency.strip().upper() not in ("USD", "$"):
        raise InputError(
            f"--price {text!r}: a $ amount with --currency {currency.strip()}; give the amount "
            f"without a sign and the currency with --currency (e.g. --price 2.48/h --currency "
            f"{currency.strip()})"
        )
    try:
        return parse_price(text)
    except ValueError as exc:
        raise InputError(f"--price: {exc}") from None


def write_report(run_dir: Path, output: Path | None) -> Path:
    """Write the run's HTML report to ``output`` (default ``RUN/report.html``); returns
    its path. Raises what ``RunDir.open`` raises for a folder that is not a run."""
    from benchctl.reports.html import write_report as write_html
    from benchctl.rundir import RunDir

    RunDir.open(run_dir)
    return write_html(run_dir, output=output)


def source_label(path: Path) -> str:
    """``built-in`` for a scenario or target file shipped with benchctl, else its path."""
    from benchctl.config import builtin_dir

    builtin = {builtin_dir("scenarios").resolve(), builtin_dir("targets").resolve()}
    return "built-in" if path.parent.resolve() in builtin else str(path)


def each_file(
    kind: Literal["scenarios", "targets"],
    config_dir: Path | None,
    describe: Callable[[Any], tuple],
) -> list[tuple[str, Path, tuple | None, str]]:
    """Every scenario or target visible (built-ins, overridden by ``config_dir``'s), by
    name: (name, file, ``describe(loaded spec)``, "") or, when loading or describing it
    raised BenchctlError, (name, file, None, the error's text)."""
    from benchctl.config import available, load_scenario, load_target

    load = load_scenario if kind == "scenarios" else load_target
    found: list[tuple[str, Path, tuple | None, str]] = []
    for name, path in sorted(available(kind, config_dir).items()):
        try:
            spec, _ = load(str(path))
            found.append((name, path, describe(spec), ""))
        except BenchctlError as exc:
            found.append((name, path, None, str(exc)))
    return found
