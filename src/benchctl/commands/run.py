"""``benchctl run``: drive a scenario against a target (with ``--slo``: the whole job)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING

from benchctl import arguments
from benchctl.commands import flag_values, worker_values
from benchctl.commands.options import (
    add_config_dir,
    add_price,
    add_runs_dir,
    currency_option,
    duration_option,
    price_option,
    write_report,
)

if TYPE_CHECKING:
    from rich.console import Console

    from benchctl.run import RunOptions, RunResult
    from benchctl.telemetry.session import TelemetryOptions

NAME = "run"
HELP = "drive a scenario against a target"
EPILOG = """\
examples:
  benchctl run spike --target kserve --launch --time-scale 0.1
      the every-10-minutes burst pattern, compressed 10x, against a local KServe
  benchctl run steady --target kserve --rate 200 --duration 5m
  benchctl run step --target kserve --set 'rates=[50,100,200,400]' --set step_duration=30s
  benchctl run sweep --target kserve-grpc --set max_concurrency=64
  benchctl run spike --target kserve --dry-run        # print the planned rate curve only
  benchctl run steady --target kserve --workers 2      # Locust master + 2 local workers
  benchctl run step --target kserve --launch --repeat 3 --runs-dir candidates
      three runs, seeds 1-3, each on a fresh server: candidates for `benchctl gate`

Arrival-rate scenarios are open loop: requests start at their scheduled time whatever the
server does, and latency counts from that time (a stall shows up in p99, not hidden).
"""

EXIT_INTERRUPTED = 3
# stdout closed early (`benchctl run ... | head`) stopped the run: 128 + SIGPIPE, what a shell
# reports for a program a closed pipe stopped; a run that had finished exits 0 as usual
EXIT_STDOUT_CLOSED = 141
MIN_TELEMETRY_INTERVAL_S = 0.1  # faster sampling measures the sampler, not the server
MIN_SCRAPE_INTERVAL_S = 0.5  # Prometheus servers update counters about once a second


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``benchctl run``, in the groups its ``--help`` shows."""
    parser.add_argument("scenario", help="scenario name (see `benchctl scenarios`) or YAML path")
    parser.add_argument(
        "-t",
        "--target",
        default="kserve",
        help="target profile name (see `benchctl targets`) or YAML path (default: kserve)",
    )
    parser.add_argument(
        "--launch",
        action="store_true",
        help="start a real local server with the reference model, stop it after",
    )
    _scenario_overrides(parser.add_argument_group("scenario overrides"))
    _scale_out(parser.add_argument_group("scale out (Locust distributed mode)"))
    _arms(parser.add_argument_group("A/B and canary (arms in one run)"))
    where = parser.add_argument_group("where things go")
    _where(where)
    _answer(parser.add_argument_group("the answer (capacity search, analysis, report)"))
    _reaching_the_target(where)
    _telemetry(parser.add_argument_group("telemetry (host, server processes, GPU, server metrics)"))


def _scenario_overrides(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--rate",
        type=arguments.rate,
        help="main rate in req/s (steady, soak: rate; spike: base_rate; ramp: end_rate)",
    )
    group.add_argument(
        "--duration",
        type=arguments.length,
        help="e.g. 90s, 10m (steady, soak: duration; step: step_duration; sweep: hold; ramp: hold)",
    )
    for flag, dest, example in (
        ("--set", "overrides", "any scenario field, e.g. burst_multiplier=4"),
        ("--target-set", "target_overrides", "any target field, e.g. payload.batch_size=8"),
    ):
        group.add_argument(
            flag, dest=dest, action="append", default=[], metavar="KEY=VALUE", help=example
        )
    group.add_argument(
        "--time-scale",
        type=arguments.time_scale,
        default=1.0,
        help="multiply every duration (0.1 turns a 10-minute period into 1 minute;"
        " rates are unchanged)",
    )
    group.add_argument(
        "--dry-run",
        action="store_true",
        help="print the planned rate-vs-time curve and exit without sending",
    )


def _scale_out(group: argparse._ArgumentGroup) -> None:
    for flag, text in (
        ("--workers", "local worker processes under a Locust master (default: 0 = one process)"),
        ("--remote-workers", "also wait for this many `benchctl worker --master` from elsewhere"),
    ):
        group.add_argument(flag, type=arguments.count, default=0, help=text)
    group.add_argument(
        "--master-bind",
        type=worker_values.master_bind,
        default="127.0.0.1",
        help=worker_values.BIND_HELP,
    )
    group.add_argument(
        "--master-port", type=arguments.port, help="master port (default: a free one)"
    )
    group.add_argument(
        "--worker-wait",
        type=arguments.length,
        default="60s",
        metavar="DURATION",
        help="with --remote-workers: how long to wait for them to join; then the run fails "
        "(default 60s)",
    )


def _arms(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--split",
        type=flag_values.split,
        metavar="A=W,B=W",
        help="send each request to one arm by weight (arms: target profile names, the "
        "--target one first: the control), e.g. --split kserve=95,kserve-canary=5",
    )
    group.add_argument(
        "--users",
        type=arguments.users,
        help="with --split: N simulated users, each pinned to one arm by a hash of its id",
    )
    group.add_argument(
        "--shadow",
        metavar="PROFILE",
        help="also send every request to this target profile (its answers are compared, "
        "never served): latency pairs and output agreement",
    )


def _where(group: argparse._ArgumentGroup) -> None:
    add_runs_dir(group, "folder the run directory is made in (default: runs/ here)")
    add_config_dir(group, "folder with scenarios/ and targets/ that override the built-ins")
    group.add_argument("--report", action="store_true", help="write report.html after the run")


def _answer(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--slo",
        type=flag_values.slo,
        help='latency objective, quoted, e.g. --slo "p99<=100ms": search the capacity of one '
        "replica first, then play the scenario, analyze and write the report",
    )
    add_price(group, "with --slo: price of one replica, e.g. 2.48/h")


def _reaching_the_target(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--repeat",
        type=arguments.positive_count,
        default=1,
        metavar="N",
        help="make N runs one after another, seeds seed, seed+1, ... (with --launch each "
        "launches its own server): candidate runs for `benchctl gate` (default 1)",
    )
    group.add_argument(
        "--no-preflight",
        action="store_true",
        help="skip the readiness check from this machine (a target only the "
        "remote workers can reach); needs a payload file",
    )
    group.add_argument(
        "--abort-after",
        type=arguments.duration(0.1, allow_zero=True),
        default="10s",
        help="stop if the target gives only connection errors this long (0 = never; default 10s)",
    )


def _telemetry(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--server-pid",
        type=arguments.pid,
        action="append",
        default=[],
        help="sample this process and its children (repeatable; implied by --launch)",
    )
    group.add_argument(
        "--server-process",
        type=arguments.regex,
        metavar="REGEX",
        help="sample processes whose name or command line matches",
    )
    group.add_argument(
        "--telemetry-interval",
        type=arguments.duration(MIN_TELEMETRY_INTERVAL_S),
        default="1s",
        help="host/process/GPU sampling period (default 1s, at least 100ms)",
    )
    group.add_argument(
        "--scrape-interval",
        type=arguments.duration(MIN_SCRAPE_INTERVAL_S),
        default="2s",
        help="period for the server's Prometheus metrics (default 2s, at least 500ms)",
    )
    group.add_argument(
        "--no-telemetry", action="store_true", help="sample nothing but the generator's own CPU"
    )


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    """Run the scenario (with ``--slo``: search, traffic, analysis and report).

    Returns 0 when the run completed (or was only planned: ``--dry-run``), 3 when it was
    interrupted (its directory is complete and readable), 141 when a closed stdout (``|
    head``) stopped it (interrupted likewise; one line on stderr says so), 1 when it failed;
    with ``--repeat N``, N runs (``run_repeat.py``) and the first non-zero of their codes.
    Raises InputError (exit 2) for bad options, as ``run_with_answer`` does."""
    from benchctl.commands.run_repeat import check_repeat, run_repeated

    check_profile_names(args)
    check_repeat(args)
    if args.repeat > 1:
        return run_repeated(args, console, lambda each: _run_once(each, console))
    return _run_once(args, console)


def check_profile_names(args: argparse.Namespace) -> None:
    """``--target`` and ``--shadow`` name a target profile that exists (in ``--config-dir``,
    ./benchctl.d/ or the built-ins; or a YAML path): InputError ``--target: unknown target
    'x': choose one of ...`` otherwise, which the CLI shows as argparse shows a bad value
    (``argument --target: ...``), before anything is loaded or launched."""
    from benchctl.config import find_spec_file
    from benchctl.errors import InputError

    for flag, name in (("--target", args.target), ("--shadow", args.shadow)):
        if name:
            try:
                find_spec_file(name, "targets", args.config_dir)
            except InputError as exc:
                raise InputError(f"{flag}: {exc}") from None


def _run_once(args: argparse.Namespace, console: Console) -> int:
    from benchctl.slo_run import AnswerOptions, run_with_answer

    options = run_options(args)
    answer = AnswerOptions(
        slo=args.slo,
        price_per_hour=price_option(args.price, args.currency),
        currency=currency_option(args.currency),
    )
    result, report = run_with_answer(options, answer, console=console)
    # a batch sweep a closed stdout cut between settings names its sweep file: no report
    if result.run_dir is not None and result.run_dir.is_dir() and args.report and report is None:
        from benchctl.reports.terminal.console import print_path

        print_path(console, "report", write_report(result.run_dir, None))
    if result.status in ("completed", "planned"):
        return 0
    if result.status == "interrupted" and stopped_by_closed_stdout(result):
        return EXIT_STDOUT_CLOSED
    return EXIT_INTERRUPTED if result.status == "interrupted" else 1


def stopped_by_closed_stdout(result: RunResult) -> bool:
    """Did a closed stdout stop the run (``result.reason``, as run.json keeps it)? If so,
    say so in one line on stderr (stdout is gone): the reason and the run directory."""
    from benchctl.reports.terminal.console import error_line
    from benchctl.stop_signals import CLOSED_STDOUT

    if not result.reason.startswith(CLOSED_STDOUT):
        return False
    error_line(f"benchctl: run {result.reason}; {result.run_dir} is complete, marked interrupted")
    return True


def run_options(args: argparse.Namespace) -> RunOptions:
    """The parsed ``benchctl run`` options as ``benchctl.run.RunOptions`` (the command line
    kept as ``command``). Raises InputError for a duration option that does not parse."""
    from benchctl.run import RunOptions

    given = vars(args)  # the options whose flag has the field's name, as parsed
    same = {f.name: given[f.name] for f in dataclasses.fields(RunOptions) if f.name in given}
    return RunOptions(
        **{
            **same,
            "overrides": tuple(args.overrides),
            "target_overrides": tuple(args.target_overrides),
            "abort_after": duration_option("--abort-after", args.abort_after),
            "worker_wait": duration_option("--worker-wait", args.worker_wait),
            "preflight": not args.no_preflight,
            "telemetry": _telemetry_options(args),
            "command": ("benchctl", *sys.argv[1:]),
        }
    )


def _telemetry_options(args: argparse.Namespace) -> TelemetryOptions:
    from benchctl.telemetry.session import TelemetryOptions

    return TelemetryOptions(
        enabled=not args.no_telemetry,
        interval=duration_option("--telemetry-interval", args.telemetry_interval),
        scrape_interval=duration_option("--scrape-interval", args.scrape_interval),
        server_pids=tuple(args.server_pid),
        server_process=args.server_process,
    )
