"""Command-line value types: each checks one flag's value and says what is allowed.

argparse calls them with the raw text; an ``argparse.ArgumentTypeError`` becomes the one line
``benchctl run: error: argument --rate: ... (see `benchctl run --help`)`` and exit code 2.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from benchctl.durations import parse_duration

# Above this an open-loop schedule measures the generator, not the server: one generator
# process sends at most a few thousand requests per second (README, generator efficiency).
MAX_RATE = 1_000_000.0


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one stderr line with a pointer to ``--help``.

    A value that starts with a minus and a digit (``-3s``, ``-1/h``, ``-5``) is read as a
    value, not as a flag, so its type says "cannot be negative" (argparse alone reads only
    plain numbers such as ``-5`` that way)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message: str) -> NoReturn:
        """Exit 2 with ``<prog>: error: <message> (see `<prog> --help`)`` on stderr."""
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see `{self.prog} --help`)\n")


def _require(ok: bool, message: str) -> None:
    """ArgumentTypeError ``message`` unless ``ok``."""
    if not ok:
        raise argparse.ArgumentTypeError(message)


def finite(text: str) -> float:
    """A finite number (no inf, nan or overflow such as 1e309)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    _require(math.isfinite(value), f"must be a finite number, got {text!r}")
    return value


def rate(text: str) -> float:
    """Requests per second: finite, > 0 (0 would plan no request), at most MAX_RATE."""
    value = finite(text)
    _require(value > 0, f"a rate is > 0 req/s (e.g. 50), got {text!r}")
    _require(
        value <= MAX_RATE,
        f"{text!r} req/s is above the {MAX_RATE:,.0f} req/s cap: one generator process "
        "sends a few thousand req/s, so such a schedule would measure the generator",
    )
    return value


def positive(text: str) -> float:
    """A finite number > 0."""
    value = finite(text)
    _require(value > 0, f"must be > 0, got {text!r}")
    return value


def time_scale(text: str) -> float:
    """A finite factor in (0, 1000]."""
    value = positive(text)
    _require(value <= 1000, f"must be at most 1000, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A finite number in [0, 1)."""
    value = finite(text)
    _require(0 <= value < 1, f"must be in [0, 1), e.g. 0.2; got {text!r}")
    return value


def p_value(text: str) -> float:
    """A significance level: a finite number in (0, 1)."""
    value = finite(text)
    _require(0 < value < 1, f"must be in (0, 1), e.g. 0.001; got {text!r}")
    return value


def price(text: str) -> str:
    """``--price``: AMOUNT/UNIT (``analysis.cost.parse_price``) with a finite amount > 0 (a
    zero price would print a zero cost), kept as given (``price_option`` converts it)."""
    from benchctl.analysis.cost import parse_price

    _require(
        not text.strip().startswith("-"),
        f"a price cannot be negative (e.g. 2.48/h), got {text!r}",
    )
    try:
        per_hour = parse_price(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    _require(math.isfinite(per_hour), f"must be a finite price, got {text!r}")
    _require(per_hour > 0, f"must be > 0 (e.g. 2.48/h), got {text!r}")
    return text


def length(text: str) -> str:
    """A duration > 0 (``90s``, ``10m``; at most 366d), kept as given: the scenario field it
    sets (``--duration``) reads it."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    _require(seconds > 0, f"must be > 0 (e.g. 90s, 10m), got {text!r}")
    return text


def _whole(text: str, what: str) -> int:
    """``text`` as an int; ArgumentTypeError "expected <what>, got '<text>'" otherwise."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A whole number in [low, high]; the error names the bound crossed: ``must be >= 1,
    got '0'`` or ``must be <= 1,024, got '5000'`` (argparse prefixes ``argument --FLAG:``)."""

    def parse(text: str) -> int:
        """``text`` as an int in [low, high]; ArgumentTypeError saying which bound it crossed."""
        value = _whole(text, "a whole number")
        _require(value >= low, f"must be >= {low:,}, got {text!r}")
        _require(value <= high, f"must be <= {high:,}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


MAX_PROCESSES = 1024  # load processes (or runs one after another) one command makes


def count(text: str) -> int:
    """A whole number from 0 to MAX_PROCESSES (1024: processes on one machine)."""
    return whole_number(0, MAX_PROCESSES)(text)


def positive_count(text: str) -> int:
    """A whole number from 1 to MAX_PROCESSES (1024)."""
    return whole_number(1, MAX_PROCESSES)(text)


def users(text: str) -> int:
    """``--users``: simulated users, a whole number from 1 to ``splits.MAX_USERS`` (the
    bound a scenario's ``users:`` field has)."""
    from benchctl.splits import MAX_USERS

    return whole_number(1, MAX_USERS)(text)


def port(text: str) -> int:
    """A TCP port, 1..65535."""
    value = _whole(text, "a TCP port number")
    _require(1 <= value <= 65535, f"a TCP port is 1..65535, got {text!r}")
    return value


def pid(text: str) -> int:
    """The id of a process that exists now."""
    value = _whole(text, "a process id")
    import psutil  # only for --server-pid: not imported by every command's parser

    _require(value > 0 and psutil.pid_exists(value), f"no process with id {value} is running")
    return value


def regex(text: str) -> str:
    """A valid Python regular expression (kept as text)."""
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"invalid regular expression {text!r}: {exc}") from None
    return text


def existing_dir(text: str) -> Path:
    """A folder that exists."""
    path = Path(text)
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "no such folder"
        raise argparse.ArgumentTypeError(f"{text}: {what}")
    return path


def output_dir(text: str) -> Path:
    """A folder to write into: it may not exist yet, but no part of it may be a file."""
    path = Path(text)
    _no_file_on_the_way(path, text, final_is_dir=True)
    return path


def output_file(text: str) -> Path:
    """A file to write: not a folder, and its folder exists (it is not made: a typo in it
    would otherwise leave the file somewhere unexpected)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder; give a file name")
    _no_file_on_the_way(path.parent, text, final_is_dir=True)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text}: no such folder {path.parent}; make it first or give another path"
        )
    return path


def _no_file_on_the_way(path: Path, text: str, *, final_is_dir: bool) -> None:
    for part in [*reversed(path.parents), path] if final_is_dir else path.parents:
        if part.exists() and not part.is_dir():
            raise argparse.ArgumentTypeError(f"{text}: {part} is a file, not a folder")


def duration(minimum: float, *, allow_zero: bool = False) -> Callable[[str], float]:
    """A duration (``2s``, ``250ms``) in seconds, at least ``minimum`` (or 0 when allowed)."""

    def parse(text: str) -> float:
        """Seconds in ``text``; ArgumentTypeError when it is no duration or too short."""
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if allow_zero and seconds == 0:
            return seconds
        if seconds < minimum or seconds <= 0:
            floor = f"{minimum * 1000:g}ms" if minimum < 1 else f"{minimum:g}s"
            raise argparse.ArgumentTypeError(f"must be at least {floor}, got {text!r}")
        return seconds

    parse.__name__ = "duration"
    return parse


def fail(prog: str, message: str) -> NoReturn:
    """Exit 2 with one line, as argparse would."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    raise SystemExit(2)
