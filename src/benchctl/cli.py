"""The ``benchctl`` command line: parse, call one function, map its result to an exit code.

Exit codes: 0 ok; 1 failed (or the gate found a regression); 2 bad input; 3 run interrupted
(its directory is still complete and readable).
"""

from __future__ import annotations

import argparse
import difflib
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from benchctl import __version__, arguments
from benchctl.config import available, load_scenario, load_target
from benchctl.durations import format_duration, parse_duration
from benchctl.errors import BenchctlError, InputError, one_line
from benchctl.store import DEFAULT_RUNS_DIR, RunDir, list_runs
from benchctl.telemetry.session import TelemetryOptions

if TYPE_CHECKING:
    from benchctl.analysis.cluster import ClusterSpec

EXIT_INTERRUPTED = 3
MIN_TELEMETRY_INTERVAL_S = 0.1  # faster sampling measures the sampler, not the server
MIN_SCRAPE_INTERVAL_S = 0.5  # Prometheus servers update counters about once a second
MIN_WINDOW_S = 1.0  # analysis windows shorter than a second hold too few requests

RUN_EXAMPLES = """\
examples:
  benchctl run spike --target kserve --launch --time-scale 0.1
      the every-10-minutes burst pattern, compressed 10x, against a local KServe
  benchctl run steady --target kserve --rate 200 --duration 5m
  benchctl run step --target kserve --set 'rates=[50,100,200,400]' --set step_duration=30s
  benchctl run sweep --target kserve-grpc --set max_concurrency=64
  benchctl run spike --target kserve --dry-run        # print the planned rate curve only
  benchctl run steady --target kserve --workers 2      # Locust master + 2 local workers

Arrival-rate scenarios are open loop: requests start at their scheduled time whatever the
server does, and latency counts from that time (a stall shows up in p99, not hidden).
"""


ANALYZE_EXAMPLES = """\
examples:
  benchctl analyze runs/<step run> --slo "p99<=200ms" --peak-rps 500 --price 2.48/h
  benchctl analyze runs/<spike run> --slo "p95<=100ms" --cold-start 60s
  benchctl analyze runs/<triton run> runs/<kserve run> --slo "p99<=50ms"   # compare servers

Quote the SLO: unquoted, the shell reads < as a redirection.

Writes capacity.json and manifests/ (HPA, KEDA, KServe) into each run directory.
"""


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code. Bad input is one stderr line and exit 2."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line argparse error
        return exc.code if isinstance(exc.code, int) else 2
    if extra:
        sys.stderr.write(unrecognized(parser, getattr(args, "command", None), extra) + "\n")
        return 2
    # CI logs are no terminal: give tables room instead of wrapping them at 80 columns.
    console = PipeConsole() if sys.stdout.isatty() else PipeConsole(width=max(120, _columns()))
    try:
        return args.handler(args, console)
    except BenchctlError as exc:
        sys.stderr.write(f"benchctl: error: {one_line(str(exc))}\n")  # never wrapped
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `benchctl ... | head -1`: the reader left, which is fine
        _quiet_stdout()
        return 0
    except OSError as exc:  # a path the user gave that cannot be used (last resort)
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"benchctl: error: {where}{one_line(exc.strerror or str(exc))}\n")
        return 2 if exc.errno in _BAD_PATH_ERRNOS else 1
    except Exception as exc:  # last resort: still one line, never a traceback
        if os.environ.get("BENCHCTL_DEBUG"):
            raise
        sys.stderr.write(
            f"benchctl: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(a bug: please report it; BENCHCTL_DEBUG=1 shows the traceback)\n"
        )
        return 1


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


class PipeConsole(Console):
    """A Console whose closed stdout (``| head -1``) ends the command quietly with exit 0
    (rich's own handling exits 1): the reader leaving is not an error."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _quiet_stdout()
        raise BrokenPipeError


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> str:
    """One line for arguments no parser took: the closest option of the command when an
    option looks mistyped (``--targt`` -> ``--target``), and where its help is."""
    sub = parser
    for action in parser._actions:  # the chosen command's own parser knows its options
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            sub = action.choices[command]
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


def _columns() -> int:
    try:
        return int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        return 0


RUN_HELP = "a run directory, e.g. runs/<id> (`benchctl runs` lists them)"


def gate_example() -> str:
    """Where the example gate rules are: the installed package's data, else the source
    checkout's examples/ folder."""
    here = Path(__file__).resolve().parent
    for path in (here / "_data" / "examples" / "gate.yaml", here.parents[1] / "examples"):
        if path.exists():
            return str(path / "gate.yaml" if path.is_dir() else path)
    return "examples/gate.yaml in the benchctl source"


def build_parser() -> argparse.ArgumentParser:
    parser = arguments.OneLineParser(
        prog="benchctl",
        description="Load testing and capacity planning for ML model servers.",
        epilog="Start with: benchctl run spike --target kserve --launch --time-scale 0.1",
    )
    parser.add_argument("--version", action="version", version=f"benchctl {__version__}")
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True, dest="command"
    )

    run = _command(commands, "run", cmd_run, "drive a scenario against a target", RUN_EXAMPLES)
    run.add_argument("scenario", help="scenario name (see `benchctl scenarios`) or YAML path")
    run.add_argument(
        "-t",
        "--target",
        default="kserve",
        help="target profile name (see `benchctl targets`) or YAML path (default: kserve)",
    )
    run.add_argument(
        "--launch",
        action="store_true",
        help="start a real local server with the reference model, stop it after",
    )
    shape = run.add_argument_group("scenario overrides")
    shape.add_argument(
        "--rate",
        type=arguments.rate,
        help="main rate in req/s (steady, soak: rate; spike: base_rate; ramp: end_rate)",
    )
    shape.add_argument(
        "--duration",
        help="e.g. 90s, 10m (steady, soak: duration; step: step_duration; sweep: hold; ramp: hold)",
    )
    shape.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any scenario field, e.g. burst_multiplier=4",
    )
    shape.add_argument(
        "--target-set",
        dest="target_overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any target field, e.g. payload.batch_size=8",
    )
    shape.add_argument(
        "--time-scale",
        type=arguments.time_scale,
        default=1.0,
        help="multiply every duration (0.1 turns a 10-minute period into 1 minute;"
        " rates are unchanged)",
    )
    shape.add_argument(
        "--dry-run",
        action="store_true",
        help="print the planned rate-vs-time curve and exit without sending",
    )
    scale = run.add_argument_group("scale out (Locust distributed mode)")
    scale.add_argument(
        "--workers",
        type=arguments.count,
        default=0,
        help="local worker processes under a Locust master (default: 0 = one process)",
    )
    scale.add_argument(
        "--remote-workers",
        type=arguments.count,
        default=0,
        help="also wait for this many `benchctl worker --master` from elsewhere",
    )
    scale.add_argument(
        "--master-bind",
        default="127.0.0.1",
        help="address the master listens on (0.0.0.0 for remote workers)",
    )
    scale.add_argument(
        "--master-port", type=arguments.port, help="master port (default: a free one)"
    )
    arms = run.add_argument_group("A/B and canary (arms in one run)")
    arms.add_argument(
        "--split",
        metavar="A=W,B=W",
        help="send each request to one arm by weight (arms: target profile names, the "
        "--target one first: the control), e.g. --split kserve=95,kserve-canary=5",
    )
    arms.add_argument(
        "--users",
        type=arguments.count,
        help="with --split: N simulated users, each pinned to one arm by a hash of its id",
    )
    arms.add_argument(
        "--shadow",
        metavar="PROFILE",
        help="also send every request to this target profile (its answers are compared, "
        "never served): latency pairs and output agreement",
    )
    where = run.add_argument_group("where things go")
    where.add_argument(
        "--runs-dir",
        type=arguments.output_dir,
        default=DEFAULT_RUNS_DIR,
        metavar="DIR",
        help="folder the run directory is made in (default: runs/ here)",
    )
    where.add_argument(
        "--config-dir",
        type=arguments.existing_dir,
        help="folder with scenarios/ and targets/ that override the built-ins",
    )
    where.add_argument("--report", action="store_true", help="write report.html after the run")
    answer = run.add_argument_group("the answer (capacity search, analysis, report)")
    answer.add_argument(
        "--slo",
        help='latency objective, quoted, e.g. --slo "p99<=100ms": search the capacity of one '
        "replica first, then play the scenario, analyze and write the report",
    )
    answer.add_argument("--price", help="with --slo: price of one replica, e.g. 2.48/h")
    answer.add_argument("--currency", default="USD", help="currency of --price (default USD)")
    where.add_argument(
        "--no-preflight",
        action="store_true",
        help="skip the readiness check from this machine (a target only the "
        "remote workers can reach); needs a payload file",
    )
    where.add_argument(
        "--abort-after",
        type=arguments.duration(0.1, allow_zero=True),
        default="10s",
        help="stop if the target gives only connection errors this long (0 = never; default 10s)",
    )

    watch = run.add_argument_group("telemetry (host, server processes, GPU, server metrics)")
    watch.add_argument(
        "--server-pid",
        type=arguments.pid,
        action="append",
        default=[],
        help="sample this process and its children (repeatable; implied by --launch)",
    )
    watch.add_argument(
        "--server-process",
        type=arguments.regex,
        metavar="REGEX",
        help="sample processes whose name or command line matches",
    )
    watch.add_argument(
        "--telemetry-interval",
        type=arguments.duration(MIN_TELEMETRY_INTERVAL_S),
        default="1s",
        help="host/process/GPU sampling period (default 1s, at least 100ms)",
    )
    watch.add_argument(
        "--scrape-interval",
        type=arguments.duration(MIN_SCRAPE_INTERVAL_S),
        default="2s",
        help="period for the server's Prometheus metrics (default 2s, at least 500ms)",
    )
    watch.add_argument(
        "--no-telemetry", action="store_true", help="sample nothing but the generator's own CPU"
    )

    worker = _command(
        commands,
        "worker",
        cmd_worker,
        "join a master as a Locust worker",
        "example:\n  benchctl worker --master 10.0.0.5:5557",
    )
    worker.add_argument("--master", required=True, metavar="HOST:PORT")

    scenarios = _command(commands, "scenarios", cmd_scenarios, "list scenarios")
    scenarios.add_argument("--config-dir", type=arguments.existing_dir)
    targets = _command(commands, "targets", cmd_targets, "list target profiles")
    targets.add_argument("--config-dir", type=arguments.existing_dir)

    runs = _command(commands, "runs", cmd_runs, "list runs and their key numbers")
    runs.add_argument(
        "--runs-dir",
        type=arguments.output_dir,
        default=DEFAULT_RUNS_DIR,
        metavar="DIR",
        help="folder of run directories (default: runs/ here)",
    )

    analyze = _command(
        commands,
        "analyze",
        cmd_analyze,
        "size replicas and autoscaling for an SLO from measured runs",
        ANALYZE_EXAMPLES,
    )
    analyze.add_argument("runs", type=Path, nargs="+", metavar="RUN", help=RUN_HELP)
    analyze.add_argument(
        "--slo", required=True, help='latency objective, quoted: e.g. --slo "p99<=200ms"'
    )
    analyze.add_argument(
        "--peak-rps",
        type=arguments.positive,
        help="the traffic peak to size for (default: the peak of the run's scenario)",
    )
    analyze.add_argument(
        "--traffic",
        help="scenario (name or YAML) whose real-time traffic the "
        "autoscalers are simulated against (default: the run's own)",
    )
    analyze.add_argument("--price", help="price of one replica, e.g. 2.48/h, 1800/month")
    analyze.add_argument("--currency", default="USD", help="currency of --price (default USD)")
    analyze.add_argument(
        "--cold-start",
        type=arguments.duration(0, allow_zero=True),
        help="the whole pod start, a shortcut for --cluster's parts (default 45s: scheduling"
        " 2s + image_pull 20s + model_load 20s + readiness 3s)",
    )
    analyze.add_argument(
        "--cluster",
        metavar="YAML|K=V,...",
        help="what the cluster adds to a pod start and to the autoscaler's metric: a YAML file"
        " or pairs, e.g. image_pull=1m,model_load=30s,pool_pods=4,node_provision=3m; keys:"
        " scheduling, image_pull, model_load, readiness, node_provision (120s), pool_pods"
        " (default: room for any), scrape_interval (15s), rate_window (1m), hpa_sync_period"
        " (15s), namespace (default)",
    )
    analyze.add_argument(
        "--headroom",
        type=arguments.fraction,
        default=0.2,
        help="fraction of capacity kept free at peak (default 0.2)",
    )
    analyze.add_argument(
        "--window",
        type=arguments.duration(MIN_WINDOW_S),
        default="5s",
        help="analysis window (default 5s, at least 1s)",
    )
    analyze.add_argument("--config-dir", type=arguments.existing_dir)

    telemetry = _command(
        commands,
        "telemetry",
        cmd_telemetry,
        "summarize a run's telemetry (host, server, GPU, server metrics)",
    )
    telemetry.add_argument("run_dir", type=Path, metavar="RUN", help=RUN_HELP)

    report = _command(commands, "report", cmd_report, "write a self-contained HTML report")
    report.add_argument("run_dir", type=Path, metavar="RUN", help=RUN_HELP)
    report.add_argument(
        "-o", "--output", type=arguments.output_file, help="default: RUN/report.html"
    )
    report.add_argument("--open", action="store_true", help="open it in a browser")

    gate = _command(
        commands,
        "gate",
        cmd_gate,
        "pass/fail a candidate run against a baseline (exit 1 on a regression)",
        "example:\n  benchctl gate --baseline nightly-runs/ --candidate runs/<id> "
        "--rules examples/gate.yaml --junit gate.xml --markdown gate.md",
    )
    gate.add_argument(
        "--baseline",
        required=True,
        type=Path,
        metavar="RUN_OR_DIR",
        help="a run directory, or a folder of past runs (same scenario and target are used)",
    )
    gate.add_argument(
        "--candidate",
        required=True,
        type=Path,
        action="append",
        metavar="RUN",
        help="run to judge, or a folder of runs; repeat for several runs of the candidate",
    )
    gate.add_argument(
        "--rules",
        required=True,
        type=Path,
        metavar="YAML",
        help=f"the gate's rules; an annotated example: {gate_example()}",
    )
    gate.add_argument(
        "--junit", type=arguments.output_file, metavar="XML", help="JUnit XML, one test per rule"
    )
    gate.add_argument(
        "--markdown", type=arguments.output_file, metavar="MD", help="summary for a CI job page"
    )
    gate.add_argument(
        "--json", type=arguments.output_file, metavar="JSON", help="every number, as JSON"
    )
    gate.add_argument(
        "--last", type=arguments.positive_count, metavar="K", help="baseline: last K runs"
    )

    compare = _command(commands, "compare", cmd_compare, "compare runs side by side (HTML)")
    compare.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN", help=RUN_HELP)
    compare.add_argument("--slo", help='latency objective, quoted: e.g. --slo "p99<=200ms"')
    compare.add_argument("-o", "--output", type=arguments.output_file, default=Path("compare.html"))

    history = _command(commands, "history", cmd_history, "trend of key numbers over runs")
    history.add_argument(
        "runs_dir", type=Path, metavar="DIR", help="a folder of run directories, e.g. runs"
    )
    history.add_argument(
        "-o", "--output", type=arguments.output_file, help="default: DIR/history.html"
    )
    history.add_argument("--scenario", help="only runs of this scenario")
    history.add_argument("--target", help="only runs on this target")
    history.add_argument(
        "--max-pvalue",
        type=float,
        default=0.001,
        metavar="P",
        help="change points: significance, 0 < P < 1 (default 0.001, as Apache Otava)",
    )
    history.add_argument("--json", type=Path, metavar="JSON", help="runs and change points")
    return parser


def _command(
    commands: argparse._SubParsersAction,
    name: str,
    handler: Callable,
    help_text: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


# --------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from benchctl.run import RunOptions

    abort_after = _duration_option("--abort-after", args.abort_after)
    telemetry = TelemetryOptions(
        enabled=not args.no_telemetry,
        interval=_duration_option("--telemetry-interval", args.telemetry_interval),
        scrape_interval=_duration_option("--scrape-interval", args.scrape_interval),
        server_pids=tuple(args.server_pid),
        server_process=args.server_process,
    )
    from benchctl.analysis.cost import parse_price
    from benchctl.slo_run import AnswerOptions, run_with_answer

    try:
        price = parse_price(args.price) if args.price else None
    except ValueError as exc:
        raise InputError(f"--price: {exc}") from None
    currency = _currency_option(args.currency)
    answer = AnswerOptions(slo=args.slo, price_per_hour=price, currency=currency)
    result, report = run_with_answer(
        RunOptions(
            scenario=args.scenario,
            target=args.target,
            config_dir=args.config_dir,
            rate=args.rate,
            duration=args.duration,
            overrides=tuple(args.overrides),
            target_overrides=tuple(args.target_overrides),
            time_scale=args.time_scale,
            workers=args.workers,
            remote_workers=args.remote_workers,
            master_bind=args.master_bind,
            master_port=args.master_port,
            launch=args.launch,
            runs_dir=args.runs_dir,
            dry_run=args.dry_run,
            abort_after=abort_after,
            preflight=not args.no_preflight,
            telemetry=telemetry,
            command=tuple(["benchctl", *sys.argv[1:]]),
            split=args.split,
            users=args.users,
            shadow=args.shadow,
        ),
        answer,
        console=console,
    )
    if result.run_dir is not None and args.report and report is None:
        path = _write_report(result.run_dir, None)
        console.print(f"report: [bold]{path}[/]")
    if result.status in ("completed", "planned"):
        return 0
    return EXIT_INTERRUPTED if result.status == "interrupted" else 1


def _duration_option(flag: str, text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(f"{flag}: {exc}") from None


def _check_traffic(name: str, config_dir: Path | None) -> None:
    """``--traffic`` must name a scenario that loads; InputError saying which exist."""
    try:
        load_scenario(name, config_dir=config_dir)
    except InputError as exc:
        raise InputError(f"--traffic: {exc}") from None


def cmd_analyze(args: argparse.Namespace, console: Console) -> int:
    from benchctl.analysis.answer import print_answer
    from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
    from benchctl.analysis.cost import parse_price
    from benchctl.analysis.slo import parse_slo

    try:
        price = parse_price(args.price) if args.price else None
    except ValueError as exc:
        raise InputError(f"--price: {exc}") from None
    if args.traffic is not None:
        _check_traffic(args.traffic, args.config_dir)
    options = AnalyzeOptions(
        slo=parse_slo(args.slo),
        peak_rps=args.peak_rps,
        traffic=args.traffic,
        price_per_hour=price,
        cluster=_cluster_option(args.cluster, args.cold_start),
        window_s=_duration_option("--window", args.window),
        headroom=args.headroom,
        config_dir=args.config_dir,
        currency=_currency_option(args.currency),
    )
    runs = [RunDir.open(path) for path in args.runs]
    for run in runs:
        print_answer(console, run, analyze_run(run, options))
    return 0


def _cluster_option(value: str | None, cold_start: float | None) -> ClusterSpec:
    """``--cluster`` and ``--cold-start`` as one ClusterSpec; InputError on bad input."""
    from benchctl.analysis.cluster import load_cluster

    return load_cluster(value, cold_start_s=cold_start)


def _currency_option(text: str) -> str:
    """A currency code or symbol: 1-8 letters or a symbol such as €."""
    value = text.strip()
    if not value or len(value) > 8 or any(c.isspace() or c.isdigit() for c in value):
        raise InputError(f"--currency {text!r}: give a code such as USD, EUR or GBP")
    return value


def cmd_telemetry(args: argparse.Namespace, console: Console) -> int:
    from benchctl.telemetry.summary import telemetry_summary

    console.print(telemetry_summary(RunDir.open(args.run_dir)))
    return 0


def cmd_worker(args: argparse.Namespace, console: Console) -> int:
    host, _, port = args.master.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InputError(
            f"--master {args.master!r}: expected HOST:PORT with a TCP port 1..65535, "
            "e.g. 10.0.0.5:5557"
        )
    console.print(f"joining master {host}:{port} (Ctrl-C to leave)")
    command = [
        sys.executable,
        "-m",
        "benchctl.load.engine",
        "--role",
        "worker",
        "--master-host",
        host,
        "--port",
        port,
    ]
    os.execv(sys.executable, command)
    return 0  # not reached


def cmd_scenarios(args: argparse.Namespace, console: Console) -> int:
    table = Table(title="scenarios (run with: benchctl run NAME --target T)", title_justify="left")
    for column in ("name", "kind", "duration", "description", "source"):
        table.add_column(column)
    from benchctl.load.shapes import plan_scenario

    for name, path in sorted(available("scenarios", args.config_dir).items()):
        try:
            scenario, _ = load_scenario(str(path))
            duration = format_duration(plan_scenario(scenario).duration)
            summary = scenario.description.split(". ")[0].rstrip(".")
            table.add_row(name, scenario.kind, duration, summary, _source(path))
        except BenchctlError as exc:
            table.add_row(name, "[red]invalid[/]", "", str(exc), str(path))
    console.print(table)
    return 0


def cmd_targets(args: argparse.Namespace, console: Console) -> int:
    """Every target profile with the address it sends to (gRPC address for gRPC targets).
    Readable at 80 columns: long cells wrap, nothing is cut."""
    from rich import box

    table = Table(
        title="targets (use with: benchctl run SCENARIO --target NAME)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("name", "kind", "protocol", "address", "model", "source"):
        table.add_column(column, overflow="fold")
    for name, path in sorted(available("targets", args.config_dir).items()):
        try:
            target, _ = load_target(str(path))
            address = target.grpc_address if "grpc" in target.protocol else target.url
            table.add_row(name, target.kind, target.protocol, address, target.model, _source(path))
        except BenchctlError as exc:
            table.add_row(name, "[red]invalid[/]", "", "", str(exc), str(path))
    console.print(table)
    return 0


def cmd_runs(args: argparse.Namespace, console: Console) -> int:
    runs = list_runs(args.runs_dir)
    if not runs:
        console.print(
            f"no runs in {args.runs_dir}/ yet: try `benchctl run spike --target "
            "kserve --launch --time-scale 0.1`"
        )
        return 0
    from benchctl.display import runs_table

    rows = [(run_dir.name, info, _overall(run_dir)) for run_dir, info in runs]
    table, damaged = runs_table(rows, title=f"runs in {args.runs_dir}/")
    console.print(table)
    for line in damaged:
        console.print(f"[red]damaged:[/] {line}", highlight=False, soft_wrap=True)
    return 0


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    path = _write_report(args.run_dir, args.output)
    console.print(f"report: [bold]{path}[/]")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def cmd_gate(args: argparse.Namespace, console: Console) -> int:
    from benchctl.analysis.gate import gate
    from benchctl.analysis.gate_report import gate_table, write_gate_outputs

    result = gate(
        baseline=args.baseline, candidate=args.candidate, rules=args.rules, last=args.last
    )
    console.print(gate_table(result))
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    outputs = write_gate_outputs(
        result, junit=args.junit, markdown=args.markdown, json_path=args.json
    )
    for path in outputs:
        console.print(f"wrote [bold]{path}[/]")
    return 0 if result.passed else 1


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    from rich.markup import escape

    from benchctl.reports.compare import compare_table, ranking_lines, write_compare

    comparison = write_compare(args.run_dirs, slo=args.slo, output=args.output)
    console.print(compare_table(comparison))
    for line in ranking_lines(comparison):
        console.print(line, highlight=False)
    for text in [*comparison.notes, *(f"not comparable: {d}" for d in comparison.differences)]:
        console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)
    console.print(f"comparison: [bold]{comparison.output}[/]")
    return 0


def cmd_history(args: argparse.Namespace, console: Console) -> int:
    from benchctl.reports import history as h

    rows = h.load_history(args.runs_dir, scenario=args.scenario, target=args.target)
    shifts = h.history_shifts(rows, max_pvalue=args.max_pvalue)
    console.print(h.history_table(rows))
    console.print(h.shifts_table(shifts, args.max_pvalue))
    output = args.output or args.runs_dir / "history.html"
    console.print(f"history: [bold]{h.write_history(rows, output=output, shifts=shifts)}[/]")
    if args.json:
        console.print(f"wrote [bold]{h.write_history_json(rows, shifts, output=args.json)}[/]")
    return 0


def _write_report(run_dir: Path, output: Path | None) -> Path:
    from benchctl.reports.html import write_report

    RunDir.open(run_dir)
    return write_report(run_dir, output=output)


def _source(path: Path) -> str:
    from benchctl.config import builtin_dir

    builtin = {builtin_dir("scenarios").resolve(), builtin_dir("targets").resolve()}
    return "built-in" if path.parent.resolve() in builtin else str(path)


def _overall(run_dir: RunDir) -> dict:
    try:
        overall = run_dir.read_json("summary.json").get("overall", {})
    except BenchctlError:
        return {}
    return overall if isinstance(overall, dict) else {}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"
