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
    None as well when requests.parquet or the SLO cannot be read (analyze says why)."""
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
