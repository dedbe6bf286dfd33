"""Command-line value types for the flags whose check lives in another package (the SLO,
the currency, the cluster, the arms of a split, gate's runs and rules).

argparse calls each with the raw text while it parses, so a bad value is refused before
anything runs, in argparse's own form and with exit code 2, like ``--rate``:
``benchctl run: error: argument --slo: 'p99<200ms': write <= ... (see `benchctl run
--help`)``. Each returns the text as given (the command converts it later, with the other
flags it depends on) and raises ``argparse.ArgumentTypeError`` with what is allowed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from benchctl.errors import InputError


def _checked(flag: str, check: Callable[[str], object]) -> Callable[[str], str]:
    """A value type for ``flag``: ``check(text)`` raising InputError means a bad value; its
    message, without the leading ``flag`` (argparse names the flag), is the refusal."""

    def parse(text: str) -> str:
        """``text`` unchanged when ``check`` accepts it; ArgumentTypeError otherwise."""
        try:
            check(text)
        except InputError as exc:
            message = str(exc).removeprefix(flag).removeprefix(":").strip()
            raise argparse.ArgumentTypeError(message or f"not allowed: {text!r}") from None
        return text

    parse.__name__ = flag.removeprefix("--")  # argparse says "invalid <name> value" if asked
    return parse


def _slo(text: str) -> None:
    from benchctl.analysis.slo import parse_slo

    parse_slo(text)


def _currency(text: str) -> None:
    from benchctl.commands.options import currency_option

    currency_option(text)


def _cluster(text: str) -> None:
    from benchctl.analysis.cluster import load_cluster

    load_cluster(text)


def _split(text: str) -> None:
    """``parse_split`` with the first arm as control: the form, weights and names are
    checked here; that ``--target`` is one of the arms is checked once both are known."""
    from benchctl.splits import parse_split

    parse_split(text, text.split(",")[0].partition("=")[0].strip())


SLO_HELP = 'latency objective, quoted: e.g. --slo "p99<=200ms"'
# ``--slo``: a latency objective such as p99<=200ms (analysis.slo.parse_slo's rules)
slo = _checked("--slo", _slo)
# ``--currency``: a code or symbol, 1-8 characters, no space or digit (options.currency_option)
currency = _checked("--currency", _currency)
# ``--cluster``: a YAML file or key=value pairs, each key known (analysis.cluster.load_cluster)
cluster = _checked("--cluster", _cluster)
# ``--split``: NAME=WEIGHT pairs, two arms or more, weights > 0 (splits.parse_split)
split = _checked("--split", _split)


def run_or_folder(text: str) -> Path:
    """``--baseline``/``--candidate``: a run directory, ``RUN@ARM`` (one arm of a split
    run) or a folder of runs, that exists (what is in it is judged once it is read)."""
    from benchctl.arguments import existing_dir

    base = text if Path(text).exists() or "@" not in text else text.rpartition("@")[0]
    try:
        existing_dir(base)
    except argparse.ArgumentTypeError as exc:
        what = str(exc).removeprefix(f"{base}: ")
        allowed = "give a run directory, RUN@ARM or a folder of runs"
        raise argparse.ArgumentTypeError(f"{text}: {what}; {allowed}") from None
    return Path(text)


def existing_file(text: str) -> Path:
    """A YAML file that exists (``gate --rules``; what is in it is checked when read)."""
    path = Path(text)
    if path.is_file():
        return path
    what = "is a folder, not a YAML file" if path.is_dir() else "no such file"
    raise argparse.ArgumentTypeError(f"{text}: {what}")
