"""Whether ``benchctl analyze`` can work on a run, before the report suggests it.

A capacity analysis fits points, and a point needs successful requests after the warm-up:
at least ``min_samples(q)`` of them in one level or window for the SLO's percentile q
(analysis/points.py: ceil(2 / (1 - q)), 200 for p99). A run with fewer in all (e.g. one
stopped by Ctrl-C during its warm-up) makes ``analyze`` fail ("no successful requests
after the warm-up"), so the report says why there is nothing to analyze instead of
suggesting a command that cannot work (trial 5, finding 9).
"""

from __future__ import annotations

from pathlib import Path

from benchctl.analysis.points import min_samples
from benchctl.analysis.slo import parse_slo
from benchctl.errors import BenchctlError
from benchctl.rundir import REQUESTS
from benchctl.rundir.reader import read_table
from benchctl.rundir.requests import WARMUP


def measured_successes(run_dir: Path) -> tuple[int, int] | None:
    """(successful requests after the warm-up, requests sent during the warm-up) of
    ``run_dir``'s requests.parquet; None when it cannot be read (absent or damaged)."""
    try:
        table = read_table(run_dir / REQUESTS, ["ok", "phase", "error"])
    except (OSError, BenchctlError):
        return None
    import pyarrow.compute as pc

    warm = pc.fill_null(pc.equal(table["phase"].cast("string"), WARMUP), False)
    good = pc.fill_null(table["ok"], False)
    sent = pc.fill_null(pc.not_equal(table["error"], "dropped"), True)
    ok = int(pc.sum(pc.and_(good, pc.invert(warm))).as_py() or 0)
    warmup = int(pc.sum(pc.and_(warm, sent)).as_py() or 0)
    return ok, warmup


def nothing_to_analyze(run_dir: Path, slo: str) -> str | None:
    """Why ``benchctl analyze run_dir --slo slo`` cannot give a capacity (a sentence), or
    None when it may. ``slo``: the objective the report would suggest ("p99<=200ms").
    None as well when the SLO cannot be read (analyze says why)."""
    if (why := _not_one_target(run_dir, slo)) is not None:
        return why
    counts = measured_successes(run_dir)
    try:
        quantile = parse_slo(slo).quantile
    except BenchctlError:
        return None
    if counts is None or quantile >= 1:
        return None
    ok, warmup = counts
    during = f" ({warmup:,} were sent during the warm-up, which analysis leaves out)"
    if ok == 0:
        return (
            "Nothing to analyze: no request succeeded after the warm-up"
            + (during if warmup else "")
            + ". Run the scenario again, past its warm-up."
        )
    need = min_samples(quantile)
    if ok < need:
        return (
            f"Nothing to analyze for {slo}: {ok:,} requests succeeded after the warm-up, and "
            f"a level or window needs at least {need:,} for that percentile "
            f"(2 / (1 - {quantile:g})). Run longer, or use a lower percentile."
        )
    return None


def _not_one_target(run_dir: Path, slo: str) -> str | None:
    """Why analyze refuses the run before reading a request (a sentence naming what works),
    or None: a missing or damaged requests.parquet (``rundir.recorded``), or a split run,
    whose arms analyze does not size (commands/analyze.py ``refuse_split_run``; trial 7,
    F5 and F15)."""
    import shlex

    from benchctl.reports.split_labels import split_arm_names
    from benchctl.rundir import RUN_JSON
    from benchctl.rundir.reader import read_document
    from benchctl.rundir.recorded import requests_problem

    info = read_document(run_dir / RUN_JSON).get()
    info = info if isinstance(info, dict) else {}
    if (problem := requests_problem(run_dir, info)) is not None:
        return f"Nothing to analyze: {problem}, and the analysis reads every request."
    arms = split_arm_names(info)
    if len(arms) < 2:
        return None
    first, second = (shlex.quote(f"{run_dir}@{arm}") for arm in arms[:2])
    return (
        f"`benchctl analyze` sizes one target, and this is a split run (arms "
        f"{', '.join(arms)}): check each arm against the SLO with `benchctl compare {first} "
        f"{second} --slo {shlex.quote(slo)}`, or compare them with `benchctl gate --baseline "
        f"{first} --candidate {second} --rules ...`."
    )
