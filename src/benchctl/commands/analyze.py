"""``benchctl analyze``: size replicas and autoscaling for an SLO from measured runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from benchctl import arguments
from benchctl.commands import flag_values
from benchctl.commands.options import (
    RUN_HELP,
    add_config_dir,
    add_price,
    currency_option,
    duration_option,
    price_option,
)
from benchctl.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from benchctl.analysis.capacity import AnalyzeOptions
    from benchctl.rundir import RunDir

NAME = "analyze"
HELP = "size replicas and autoscaling for an SLO from measured runs"
EPILOG = """\
examples:
  benchctl analyze runs/<step run> --slo "p99<=200ms" --peak-rps 500 --price 2.48/h
  benchctl analyze runs/<spike run> --slo "p95<=100ms" --cold-start 60s
  benchctl analyze runs/<triton run> runs/<kserve run> --slo "p99<=50ms"   # compare servers

Quote the SLO: unquoted, the shell reads < as a redirection.

Writes capacity.json and manifests/ (HPA, KEDA, KServe) into each run directory.
"""

MIN_WINDOW_S = 1.0  # analysis windows shorter than a second hold too few requests


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Runs, the SLO, the traffic to size for, price, cluster timings, headroom, window."""
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUN", help=RUN_HELP)
    parser.add_argument("--slo", required=True, type=flag_values.slo, help=flag_values.SLO_HELP)
    parser.add_argument(
        "--peak-rps",
        type=arguments.positive,
        help="the traffic peak to size for (default: the peak of the run's scenario)",
    )
    parser.add_argument(
        "--traffic",
        help="scenario (name or YAML) whose real-time traffic the "
        "autoscalers are simulated against (default: the run's own)",
    )
    add_price(parser, "price of one replica, e.g. 2.48/h, 1800/month")
    _cluster_arguments(parser)
    parser.add_argument(
        "--window",
        type=arguments.duration(MIN_WINDOW_S),
        default="5s",
        help="analysis window (default 5s, at least 1s)",
    )
    add_config_dir(
        parser,
        "folder with scenarios/ (and targets/) that override the built-ins, for --traffic",
    )


def _cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cold-start",
        type=arguments.duration(0, allow_zero=True),
        help="the whole pod start, a shortcut for --cluster's parts (default 45s: scheduling"
        " 2s + image_pull 20s + model_load 20s + readiness 3s)",
    )
    parser.add_argument(
        "--cluster",
        type=flag_values.cluster,
        metavar="YAML|K=V,...",
        help="what the cluster adds to a pod start and to the autoscaler's metric: a YAML file"
        " or pairs, e.g. image_pull=1m,model_load=30s,pool_pods=4,node_provision=3m; keys:"
        " scheduling, image_pull, model_load, readiness, node_provision (120s), pool_pods"
        " (default: room for any), scrape_interval (15s), rate_window (1m), hpa_sync_period"
        " (15s), namespace (default)",
    )
    parser.add_argument(
        "--headroom",
        type=arguments.fraction,
        default=0.2,
        help="fraction of capacity kept free at peak (default 0.2)",
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Analyze each run (writes capacity.json and manifests/ into it) and print its answer.

    Returns 0. Raises InputError for a bad SLO, price, currency, ``--traffic`` scenario,
    ``--cluster`` value or a folder that is not a run."""
    from benchctl.analysis.capacity import analyze_run
    from benchctl.reports.terminal.answer import print_answer
    from benchctl.reports.terminal.console import reader_may_leave
    from benchctl.rundir import RunDir

    options = analyze_options(args)
    runs = [RunDir.open(path) for path in args.runs]
    for run in runs:  # every run checked before any is analyzed: nothing half-written
        refuse_split_run(run)
    for run in runs:
        document = analyze_run(run, options)  # capacity.json and manifests/ written
        with reader_may_leave():  # `| head -1`: every run still analyzed, its report fresh
            print_answer(console, run, document, say_skipped=True)
        refresh_report(console, run.path)
    return 0


def refuse_split_run(run: RunDir) -> None:
    """InputError (one line, exit 2) for a split run (``run --split``): its requests went to
    several arms, often different servers, and analyze would size one replica from their
    pooled traffic. The same refusal as ``run --slo --split`` (split_run.py
    ``refuse_slo_with_arms``), naming what checks each arm instead (``compare RUN@ARM``,
    ``gate``). A ``--shadow`` run's requests are the control's only: analyzed as usual."""
    from benchctl.reports.split_labels import split_arm_names
    from benchctl.rundir import RUN_JSON

    arms = split_arm_names(run.read_json(RUN_JSON))
    if not arms:
        return
    path = run.path
    raise InputError(
        f"{path}: a split run (arms {', '.join(arms)}): --slo sizes one target, not the "
        f"arms of a split run; `benchctl compare {path}@{arms[0]} {path}@{arms[1]} "
        "--slo ...` checks each arm against it, `benchctl gate --baseline "
        f"{path}@{arms[0]} --candidate {path}@{arms[1]} --rules ...` compares them "
        "(or run --slo on each arm's profile)"
    )


def refresh_report(console: Console, run_dir: Path) -> None:
    """A run that already has its report.html gets it rewritten from the capacity.json the
    analysis just wrote (the report reads it; it never re-runs analysis), and its path
    printed. Where it cannot be rewritten, one line says the report is now stale and the
    command that refreshes it; a run without a report gets none."""
    from benchctl.rundir import REPORT

    report = Path(run_dir) / REPORT
    if not (report.exists() or report.is_symlink()):
        return  # (before importing the report's writer: matplotlib and jinja2, 0.35 s)
    from benchctl.errors import BenchctlError
    from benchctl.reports.html import write_report
    from benchctl.reports.terminal.console import error_line, print_path, reader_may_leave

    try:
        written = write_report(Path(run_dir))
    except (BenchctlError, OSError) as exc:
        error_line(
            f"{report}: stale: it still shows the previous analysis ({exc}); "
            f"refresh it with: benchctl report {run_dir}"
        )
        return
    with reader_may_leave():  # a closed stdout is no stale report (BrokenPipeError: OSError)
        print_path(console, "report", written)


def analyze_options(args: argparse.Namespace) -> AnalyzeOptions:
    """The parsed ``benchctl analyze`` options as ``AnalyzeOptions``; InputError for a
    value that does not parse (checked in the order price, traffic, SLO, cluster)."""
    from benchctl.analysis.capacity import AnalyzeOptions
    from benchctl.analysis.cluster import load_cluster
    from benchctl.analysis.slo import parse_slo

    price = price_option(args.price, args.currency)
    if args.traffic is not None:
        _check_traffic(args.traffic, args.config_dir)
    return AnalyzeOptions(
        slo=parse_slo(args.slo),
        peak_rps=args.peak_rps,
        traffic=args.traffic,
        price_per_hour=price,
        cluster=load_cluster(args.cluster, cold_start_s=args.cold_start),
        window_s=duration_option("--window", args.window),
        headroom=args.headroom,
        config_dir=args.config_dir,
        currency=currency_option(args.currency),
    )


# Scenario kinds with open-loop traffic of their own (an arrival-rate curve or a trace):
# the only ones an autoscaler can be simulated against and a peak read from.
OPEN_LOOP_TRAFFIC = ("steady", "ramp", "step", "spike", "soak", "replay")


def _check_traffic(name: str, config_dir: Path | None) -> None:
    """``--traffic`` must name a scenario that loads and has open-loop traffic of its own
    (``OPEN_LOOP_TRAFFIC``: a capacity search, a closed-loop sweep or a batch job has none
    to size for or simulate autoscalers against); InputError (exit 2) saying which exist or
    which kinds are allowed."""
    from benchctl.config import load_scenario

    try:
        spec, _ = load_scenario(name, config_dir=config_dir)
    except InputError as exc:
        raise InputError(f"--traffic: {exc}") from None
    kind = getattr(spec, "kind", None)
    if kind not in OPEN_LOOP_TRAFFIC:
        raise InputError(
            f"--traffic: scenario '{name}' is a {kind} scenario, with no open-loop traffic of "
            "its own to size for or simulate autoscalers against; give one of kind "
            f"{', '.join(OPEN_LOOP_TRAFFIC)} (e.g. --traffic spike)"
        )
