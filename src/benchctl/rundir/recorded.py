"""Whether a run's requests can be read: a run still in progress, and a requests.parquet
that is missing or damaged although the run recorded requests (trial 7, F5 and F19).

Every finished run writes requests.parquet (zero rows when nothing was sent), so a missing
file is damage, not "the run recorded nothing"; its numbers then survive only in
summary.json and run.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchctl.errors import InputError
from benchctl.rundir.names import REQUESTS, RUNNING, SUMMARY


def recorded_requests(run_dir: Path, info: dict[str, Any]) -> int | None:
    """Rows the run recorded: run.json ``counts.rows`` (every request, warm-up included),
    else summary.json ``overall.requests``; None when neither says."""
    counts = info.get("counts")
    rows = counts.get("rows") if isinstance(counts, dict) else None
    if isinstance(rows, int) and not isinstance(rows, bool):
        return rows
    from benchctl.rundir.reader import read_summary

    summary = read_summary(run_dir).data
    overall = summary.get("overall") if isinstance(summary, dict) else None
    found = overall.get("requests") if isinstance(overall, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def requests_problem(run_dir: Path, info: dict[str, Any]) -> str | None:
    """Why requests.parquet cannot be read, e.g. "runs/x/requests.parquet is missing (the
    run recorded 415 requests)" or "runs/x/requests.parquet: damaged: not a readable Parquet
    file (...); the run recorded 415 requests"; None when it opens, when it is missing from a
    run that recorded no request (a run that failed before its load), or while the run is
    running (its rows are still in requests.parts)."""
    from benchctl.errors import DamagedFileError
    from benchctl.rundir.reader import open_parquet

    if info.get("status") == RUNNING:
        return None
    path = run_dir / REQUESTS
    rows = recorded_requests(run_dir, info)
    recorded = f"the run recorded {rows:,} requests" if rows else ""
    if not path.is_file():
        return f"{path} is missing ({recorded})" if recorded else None
    try:
        open_parquet(path)
    except DamagedFileError as exc:  # "PATH: damaged: not a readable Parquet file (...)"
        return str(exc) + (f"; {recorded}" if recorded else "")
    return None


def in_progress(info: dict[str, Any]) -> str | None:
    """ "still in progress (pid N)" when run.json says running (a run whose owner is gone
    was recovered when it was opened, ``RunDir.open``); None otherwise."""
    if info.get("status") != RUNNING:
        return None
    owner = info.get("owner")
    pid = owner.get("pid") if isinstance(owner, dict) else None
    return "still in progress" + (f" (pid {pid})" if isinstance(pid, int) else "")


def refuse_in_progress(run_dir: Path, info: dict[str, Any], command: str) -> None:
    """InputError (exit 2, one line) when run.json says the run is still running, e.g.
    "runs/x: still in progress (pid 4242); wait for it to finish (`benchctl runs` shows
    when), then run `benchctl report` again"."""
    if (running := in_progress(info)) is not None:
        raise InputError(
            f"{run_dir}: {running}; wait for it to finish (`benchctl runs` shows when), "
            f"then run `benchctl {command}` again"
        )


def refuse_unreadable(run_dir: Path, info: dict[str, Any], command: str) -> None:
    """InputError (exit 2, one line) when ``command`` cannot use the run's requests: the
    run is still in progress, or its requests.parquet is missing or damaged."""
    refuse_in_progress(run_dir, info, command)
    if (problem := requests_problem(run_dir, info)) is not None:
        raise InputError(
            f"{problem}: per-request analysis is impossible; its totals are in "
            f"{SUMMARY} (`benchctl report {run_dir}` shows them)"
        )
