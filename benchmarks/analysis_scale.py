"""Analysis at production scale: wall time and peak memory of each command on big runs.

For each size (1 million and 10 million requests by default) two synthetic step runs of an
M/M/1 server (``benchmarks/synthetic_run.py``: 6 levels, Poisson arrivals, every column of
the requests schema, a known capacity) are written into one folder of runs, with the
summary.json a finished run gets (the run's own finalize: ``summarize_file``, two passes in
batches; ``--frame-summary``: the whole-frame summary of before issue 16).
Then the installed ``benchctl`` runs, as a user runs it, in a child process each:

    analyze A --slo "p99<=20ms"      report A      gate --baseline B --candidate A
    compare A B                      history RUNS

and the benchmark prints per command the wall time and the child's peak resident memory
(``os.wait4``'s ``ru_maxrss``: the largest RSS of the child, the way ``/usr/bin/time -v``
reports it), the capacity error of ``analyze`` against the known answer
``mu + ln(1 - q) / T``, and side by side a reference: one DuckDB query that computes the same
per-window (5 s of completion time after the warm-up) throughput and nearest-rank p99 over the
same file (``quantile_disc``), with the ratio benchctl analyze / reference, in wall time and
in CPU time (user + system: on a machine shared with other work the wall time of a child
stretches with the load, its CPU time much less; the load average is printed).

A watchdog kills a command whose memory (the process and its children) passes
``--max-rss-gb`` (default 8) and reports it as killed at that size, so measuring an old
version does not take a shared machine down.

    python benchmarks/analysis_scale.py                    # 1M and 10M rows
    python benchmarks/analysis_scale.py --rows 1000000     # one size
    python benchmarks/analysis_scale.py --json results.json
    python benchmarks/analysis_scale.py --rows 10000000 --repeat 3   # medians of 3 runs each

The reference needs ``duckdb`` (``pip install -e '.[bench]'``); without it, it is skipped.

Before timing, the timed checkout's ``benchctl`` modules are byte-compiled (``compileall``, as
``pip install`` does): a child that finds no ``.pyc`` compiles each module it imports from
source (about 0.1 s of CPU for ``analyze``'s 92 modules), and where ``PYTHONDONTWRITEBYTECODE``
is set (this project's shared machine) it would do so in every run, which no installed
``benchctl`` does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.synthetic_run import MU, known_capacity, write_step_run  # noqa: E402

SLO = "p99<=20ms"
QUANTILE, THRESHOLD_MS = 0.99, 20.0
WIDTH_S = 5.0
COMMANDS = ("analyze", "report", "gate", "compare", "history")


SOURCE: Path | None = None  # --source: run another checkout's benchctl (before/after)


def benchctl() -> list[str]:
    if SOURCE is not None:
        return [sys.executable, "-c", _FROM_SOURCE, str(SOURCE / "src")]
    installed = Path(sys.executable).with_name("benchctl")
    return [str(installed)] if installed.is_file() else [sys.executable, "-m", "benchctl"]


_FROM_SOURCE = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from benchctl.cli import main; "
    "sys.exit(main(sys.argv[1:]))"
)


def compile_benchctl() -> Path:
    """Byte-compile the timed ``benchctl`` (``--source``'s, else the installed one) into its
    ``__pycache__`` folders, as ``pip install`` does; returns its package folder. Writes
    even under ``PYTHONDONTWRITEBYTECODE`` (``compileall`` writes what it is asked to)."""
    import compileall
    import importlib.util

    if SOURCE is not None:
        folder = SOURCE / "src" / "benchctl"
    else:
        spec = importlib.util.find_spec("benchctl")
        folder = Path(spec.origin).parent if spec and spec.origin else HERE.parent / "src"
    compileall.compile_dir(str(folder), quiet=1)
    return folder


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def measure(argv: list[str], cwd: Path, max_rss: int) -> dict:
    """Run ``argv``; wall seconds, peak RSS (MB), exit code, killed flag, stderr tail.

    The peak is ``/usr/bin/time``'s %M (the command's own ru_maxrss): Linux carries the
    high-water RSS of the forking process over exec, so the ru_maxrss of a child forked from
    this (numpy-loaded) Python would start at this process's size; GNU time forks it from a
    2 MB process. Without /usr/bin/time, os.wait4's figure is used (an overestimate)."""
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").is_file() else None)
    report = Path(tempfile.mkstemp(prefix="rss-", suffix=".txt")[1])
    if timer:
        argv = [timer, "-f", "%U %S %M", "-o", str(report), *argv]
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    killed = threading.Event()
    done = threading.Event()

    def watch() -> None:
        try:
            process = psutil.Process(child.pid)
            while not done.wait(0.2):
                if _tree_rss(process) > max_rss:
                    killed.set()
                    for p in [*process.children(recursive=True), process]:
                        with contextlib.suppress(psutil.Error):
                            p.kill()
                    return
        except psutil.Error:
            return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(child.stderr or []), daemon=True)
    reader.start()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    done.set()
    reader.join(5)
    peak_kib = usage.ru_maxrss  # Linux: KiB
    cpu = usage.ru_utime + usage.ru_stime
    lines = report.read_text().split() if report.is_file() else []
    if timer and len(lines) >= 3 and lines[-1].isdigit():
        peak_kib = int(lines[-1])
        cpu = float(lines[-3]) + float(lines[-2])
    report.unlink(missing_ok=True)
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "exit": child.returncode,
        "killed_over_mb": round(max_rss / 2**20) if killed.is_set() else None,
        "stderr": "".join(err_lines[-3:]).strip(),
    }


def reference(run_dir: Path) -> dict | None:
    """Per-window throughput and nearest-rank p50/p99 in one DuckDB query (None: no duckdb)."""
    try:
        import duckdb
    except ImportError:
        return None
    path = str(run_dir / "requests.parquet").replace("'", "''")
    query = f"""
        SELECT floor((t_intended + latency_ms / 1000) / {WIDTH_S}) AS w,
               count(*) / {WIDTH_S} AS throughput_rps,
               quantile_disc(latency_ms, 0.5) AS p50,
               quantile_disc(latency_ms, {QUANTILE}) AS p99
        FROM read_parquet('{path}')
        WHERE ok AND phase != 'warmup'
        GROUP BY w ORDER BY w
    """
    tries = []
    for _ in range(REPEAT):
        start, cpu = time.perf_counter(), time.process_time()
        connection = duckdb.connect()
        connection.execute("SET threads TO 2")
        rows = connection.execute(query).fetchall()
        connection.close()
        tries.append((time.perf_counter() - start, time.process_time() - cpu))
    return {
        "seconds": round(statistics.median(t[0] for t in tries), 2),
        "cpu_seconds": round(statistics.median(t[1] for t in tries), 2),
        "windows": len(rows),
    }


def make_runs(folder: Path, rows: int, reuse: bool, max_rss: int) -> tuple[Path, Path, dict]:
    """Runs A and B (seeds 1, 2) with summary.json; seconds to write and to summarize.
    ``reuse``: keep a run already in ``folder`` (its summary is still recomputed)."""
    timing: dict = {}
    runs = []
    for name, seed in (("a", 1), ("b", 2)):
        run_dir = folder / f"2026-01-0{seed}T000000-step-{name}"
        if not (reuse and (run_dir / "requests.parquet").is_file()):
            shutil.rmtree(run_dir, ignore_errors=True)
            start = time.perf_counter()
            write_step_run(run_dir, rows=rows, seed=seed)
            timing[f"generate_{name}_s"] = round(time.perf_counter() - start, 1)
        runs.append(run_dir)
    source = str(SOURCE / "src") if SOURCE else ""
    how = "frame" if FRAME_SUMMARY else "file"
    for run_dir, name in ((runs[0], "a"), (runs[1], "b")):
        argv = [sys.executable, "-c", _SUMMARIZE, str(run_dir), how, source]
        timing[f"summarize_{name}_{how}"] = result = measure(argv, folder, max_rss)
        _line(rows, f"summary.json ({how}) {name}", result)
    return runs[0], runs[1], timing


FRAME_SUMMARY = False  # --frame-summary: summary.json as run finalize made it before issue 16

# The run's own finalize (run_finish._write_summary): summary.json from requests.parquet read
# in two passes (benchctl.analysis.summary_file.summarize_file); with "frame", from the whole
# frame in memory (summary.summarize(read_requests(..)), the finalize before issue 16).
_SUMMARIZE = """
import json, sys
from pathlib import Path
if sys.argv[3]:
    sys.path.insert(0, sys.argv[3])
run = Path(sys.argv[1])
info = json.loads((run / "run.json").read_text())
if sys.argv[2] == "file":
    from benchctl.analysis.summary_file import summarize_file
    summary = summarize_file(run / "requests.parquet", info["plan"]["phases"])
else:
    from benchctl.analysis.summary import read_requests, summarize
    summary = summarize(read_requests(run / "requests.parquet"), info["plan"]["phases"])
(run / "summary.json").write_text(json.dumps({"schema_version": 1, **summary}))
"""


def bench_size(
    rows: int, work: Path, max_rss: int, repo: Path, reuse: bool, chosen: list[str]
) -> dict:
    folder = work / f"runs-{rows}"
    if not reuse:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    a, b, timing = make_runs(folder, rows, reuse, max_rss)
    exact = known_capacity(MU, QUANTILE, THRESHOLD_MS)
    out = work / f"out-{rows}"
    out.mkdir(exist_ok=True)
    commands = {
        "analyze": ["analyze", str(a), "--slo", SLO],
        "report": ["report", str(a), "-o", str(out / "report.html")],
        "gate": [
            "gate",
            "--baseline",
            str(b),
            "--candidate",
            str(a),
            "--rules",
            str(repo / "examples" / "gate.yaml"),
        ],
        "compare": ["compare", str(a), str(b), "-o", str(out / "compare.html")],
        "history": ["history", str(folder), "-o", str(out / "history.html")],
    }
    results: dict = {"rows": rows, "bytes_per_request": None, **timing}
    size = (a / "requests.parquet").stat().st_size
    import pyarrow.parquet as pq

    actual = pq.ParquetFile(a / "requests.parquet").metadata.num_rows
    results["rows"] = actual
    results["bytes_per_request"] = round(size / actual, 1)
    (a / "capacity.json").unlink(missing_ok=True)  # the error is of this analyze, or none
    for name, args in commands.items():
        if name not in chosen:
            continue
        tries = [measure([*benchctl(), *args], out, max_rss) for _ in range(REPEAT)]
        results[name] = result = _median(tries)
        _line(rows, name, result)
    try:
        capacity = json.loads((a / "capacity.json").read_text())["single_replica"]["capacity_rps"]
        results["capacity_rps"] = capacity
        results["capacity_known_rps"] = round(exact, 2)
        results["capacity_error"] = round(abs(capacity - exact) / exact, 4)
    except (OSError, ValueError, KeyError, TypeError):
        results["capacity_error"] = None
    ref = reference(a)
    results["reference_duckdb"] = ref
    if ref and results.get("analyze", {}).get("exit") == 0:
        results["analyze_over_reference"] = round(results["analyze"]["seconds"] / ref["seconds"], 1)
        results["analyze_over_reference_cpu"] = round(
            results["analyze"]["cpu_seconds"] / max(ref["cpu_seconds"], 0.01), 1
        )
    return results


REPEAT = 1  # --repeat: times each command runs; the median of each figure is reported


def _median(tries: list[dict]) -> dict:
    """One result of several tries of a command: the median of its wall time, CPU time and
    peak RSS (each on its own), the worst exit; the tries' figures are kept under ``tries``."""
    if len(tries) == 1:
        return tries[0]
    result = dict(max(tries, key=lambda t: (t["exit"] != 0, t["killed_over_mb"] is not None)))
    for key in ("seconds", "cpu_seconds", "peak_rss_mb"):
        result[key] = round(statistics.median(t[key] for t in tries), 2)
    result["tries"] = [{k: t[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb")} for t in tries]
    return result


def _line(rows: int, name: str, r: dict) -> None:
    state = f"KILLED over {r['killed_over_mb']} MB" if r["killed_over_mb"] else f"exit {r['exit']}"
    print(
        f"{rows:>11,} rows  {name:<26} {r['seconds']:>7.1f} s ({r['cpu_seconds']:>6.1f} s CPU) "
        f"{r['peak_rss_mb']:>7.0f} MB  {state}",
        flush=True,
    )
    if r["exit"] not in (0, 1) and r["stderr"]:
        print(f"{'':>20}{r['stderr'][-300:]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--work", type=Path, help="folder for runs and outputs (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the generated runs")
    parser.add_argument(
        "--source", type=Path, help="a checkout whose src/benchctl to time (e.g. a git worktree)"
    )
    parser.add_argument(
        "--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS), help="default: all"
    )
    parser.add_argument("--reuse", action="store_true", help="keep runs already in --work")
    parser.add_argument("--max-rss-gb", type=float, default=8.0)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each command; medians are reported"
    )
    parser.add_argument(
        "--frame-summary",
        action="store_true",
        help="write summary.json from the whole frame (the run finalize before issue 16)",
    )
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    global SOURCE, REPEAT, FRAME_SUMMARY
    SOURCE = args.source.resolve() if args.source else None
    REPEAT, FRAME_SUMMARY = max(1, args.repeat), args.frame_summary
    work = args.work or Path(tempfile.mkdtemp(prefix="benchctl-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    repo = HERE.parent
    compiled = compile_benchctl()
    print(
        f"benchctl analysis at scale ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB), "
        f"SLO {SLO}, known capacity {known_capacity(MU, QUANTILE, THRESHOLD_MS):.2f} req/s, "
        f"load average {os.getloadavg()[0]:.1f}; timing {compiled} (byte-compiled first)",
        flush=True,
    )
    results = []
    try:
        for rows in args.rows:
            result = bench_size(
                rows, work, int(args.max_rss_gb * 2**30), repo, args.reuse, args.commands
            )
            results.append(result)
            ref = result["reference_duckdb"]
            print(
                f"{rows:>11,} rows  {result['bytes_per_request']} bytes/request on disk; "
                f"capacity error {result['capacity_error']}; "
                + (
                    f"DuckDB reference {ref['seconds']} s ({ref['cpu_seconds']} s CPU), "
                    f"analyze/reference {result.get('analyze_over_reference')} "
                    f"(CPU {result.get('analyze_over_reference_cpu')}); "
                    f"load average {os.getloadavg()[0]:.1f}"
                    if ref
                    else "no duckdb"
                ),
                flush=True,
            )
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
