"""``benchctl run … --repeat N``: N runs of one configuration, one after another.

The nightly gate's largest noise is between runs (process placement, other jobs on the
machine, caches), and one candidate run cannot show it: N candidate runs give the gate's
run-level interval a spread on the candidate side too (docs/nightly-ci.md). Each run is a
whole ``benchctl run`` (with ``--launch``, its own freshly launched server, as every
baseline night had) with the next arrival seed: the scenario's seed, then seed + 1, …
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchctl.errors import InputError
from benchctl.rundir.names import RUN_JSON

if TYPE_CHECKING:
    from rich.console import Console

# exit codes of one run that mean "stop here": the user (or a closed stdout) stopped it
STOPPING_EXITS = (3, 141)


def check_repeat(args: argparse.Namespace) -> None:
    """Refuse ``--repeat`` where it has no meaning. Raises InputError (exit 2)."""
    if args.repeat < 2:
        return
    for flag, given in (("--slo", args.slo), ("--dry-run", args.dry_run)):
        if given:
            raise InputError(
                f"--repeat {args.repeat}: cannot be combined with {flag}: repeat plain runs "
                "(for `benchctl gate --candidate`), one --slo job at a time"
            )


def run_repeated(
    args: argparse.Namespace, console: Console, run_once: Callable[[argparse.Namespace], int]
) -> int:
    """Make ``args.repeat`` runs with consecutive seeds via ``run_once`` (one ``benchctl
    run``, returning its exit code); stops early when a run was stopped by the user (exit 3
    or 141). Prints the runs made and the gate command that uses them (with the example
    rules' absolute path where it exists: ``--rules examples/gate.yaml`` is no file outside
    the source checkout). Returns 0 when all
    completed, else the first run's non-zero exit code. Raises InputError (exit 2) for a
    scenario that does not load."""
    from benchctl.commands.gate import gate_example_path
    from benchctl.reports.terminal.repeat import print_repeat_made, print_repeat_run
    from benchctl.run import RunOptions

    first_seed = _scenario_seed(args, RunOptions)
    runs_dir = Path(args.runs_dir)
    made: list[Path] = []
    codes: list[int] = []
    for index in range(args.repeat):
        seed = first_seed + index
        print_repeat_run(console, index, args.repeat, seed)
        before = _run_dirs(runs_dir)
        one = argparse.Namespace(**{**vars(args), "overrides": [*args.overrides, f"seed={seed}"]})
        codes.append(run_once(one))
        made += sorted(_run_dirs(runs_dir) - before)
        if codes[-1] in STOPPING_EXITS:
            break
    completed = [path for path in made if _completed(path)]
    print_repeat_made(console, made, completed, args.repeat, rules=gate_example_path())
    return next((code for code in codes if code != 0), 0)


def _scenario_seed(args: argparse.Namespace, options_type: type) -> int:
    """The arrival seed the first run uses: the scenario's, after --set."""
    options = options_type(
        scenario=args.scenario,
        target=args.target,
        config_dir=args.config_dir,
        rate=args.rate,
        duration=args.duration,
        overrides=tuple(args.overrides),
    )
    scenario, _ = options.load_scenario()
    return int(getattr(scenario, "seed", 1))


def _run_dirs(runs_dir: Path) -> set[Path]:
    if not runs_dir.is_dir():
        return set()
    return {p for p in runs_dir.iterdir() if p.is_dir() and (p / RUN_JSON).is_file()}


def _completed(run_dir: Path) -> bool:
    from benchctl.rundir.reader import read_run_json

    try:
        return read_run_json(run_dir).get("status") == "completed"
    except InputError:  # a damaged run.json: not a candidate
        return False
