"""Recover a run whose ``benchctl run`` died without finishing it (``kill -9``, OOM killer,
power loss of the CLI only).

A run is orphaned when run.json still says ``running`` and neither its owner (the CLI, by PID
and start time, see ``benchctl.lifetime.owner_alive``) nor its watchdog runs any more. Then
``recover``: merges ``requests.parts`` into ``requests.parquet`` and ``telemetry.parts`` into
``telemetry.parquet`` (as far as the disk allows: parts that cannot be merged stay readable
where they are), writes summary.json, and marks run.json ``interrupted`` with reason
``benchctl was killed`` and the number of rows recovered. Called by the watchdog right after
the CLI dies, and by ``benchctl runs`` and every command that opens a run (store hook), so
whichever comes first does it; a lock file (``.recovery.lock``, removed when done) keeps two
from doing it at once. When the watchdog was killed too, the server the run launched is
stopped here (``stop_left_server``), never a process that merely reuses its pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchctl.lifetime import owner_alive
from benchctl.rundir.names import (
    INTERRUPTED,
    PARTS,
    REQUESTS,
    RUN_JSON,
    RUNNING,
    SCHEMA_VERSION,
    SUMMARY,
    TELEMETRY,
    TELEMETRY_PARTS,
)
from benchctl.rundir.reader import parquet_rows, read_document
from benchctl.rundir.writer import write_text_fallback

# run.py imports the fallback writer by this name
write_json_fallback = write_text_fallback

KILLED = "benchctl was killed"
STALE_S = 600.0
_LOCK = ".recovery.lock"


@dataclass(frozen=True)
class Recovery:
    """What ``recover`` did: rows now in requests.parquet, and what could not be done."""

    rows: int
    reason: str
    problems: tuple[str, ...] = ()
    leftovers: bool = False  # a finished run's parts merged later (the disk was full)
    server: str = ""  # what became of the server the killed run launched ("": nothing left)

    def message(self, run_dir: Path) -> str:
        """One line for the user."""
        extra = "".join(f"; {text}" for text in (*self.problems, self.server) if text)
        if self.leftovers and self.problems:
            return f"run {Path(run_dir).name}: {'; '.join(self.problems)}"
        if self.leftovers:
            return (
                f"merged the requests.parts left in run {Path(run_dir).name} ({self.reason}): "
                f"{self.rows:,} requests in requests.parquet{extra}"
            )
        return (
            f"recovered run {Path(run_dir).name} ({self.reason}): {self.rows:,} requests "
            f"recovered from requests.parts, marked interrupted{extra}"
        )


def orphaned(info: dict[str, Any], path: Path | None = None) -> bool:
    """True when run.json says running but nothing that could finish it is alive.

    A run made before owners were recorded counts as orphaned once no file in its directory
    changed for ``STALE_S`` (a live run writes a part every 5 s)."""
    if info.get("status") != RUNNING:
        return False
    owner = info.get("owner")
    if not owner:
        return path is not None and time.time() - _newest_change(path) > STALE_S
    if owner_alive(owner) is not False:  # alive, or unknowable (another host)
        return False
    return owner_alive(owner.get("watchdog")) is not True


def _newest_change(path: Path) -> float:
    """The newest modification time of the run's files (not this module's lock file)."""
    times = [0.0]
    for child in path.rglob("*"):
        if child.name != _LOCK and child.is_file():
            with contextlib.suppress(OSError):
                times.append(child.stat().st_mtime)
    return max(times)


def recover(run_dir: Path | str, *, reason: str = KILLED, force: bool = False) -> Recovery | None:
    """Finish an orphaned run directory; None if it is not orphaned (or being recovered).

    ``force`` skips the liveness check (the watchdog, once it stopped everything). Raises
    nothing for a disk that is still full: the run is marked and what could not be merged
    is named in ``Recovery.problems``.
    """
    path = Path(run_dir)
    first = _read(path)
    live = first is not None and first.get("status") == RUNNING and not orphaned(first, path)
    if first is None or (not force and live):
        return None  # cheap answer for a live run: no lock file made in it
    with _locked(path / _LOCK) as got:
        if not got:
            return None
        info = _read(path)
        if info is None:
            return None
        if info.get("status") != RUNNING:
            if (path / PARTS).is_dir() and not _anyone_alive(info):
                return _finish(path, info, info.get("reason") or "", leftovers=True)
            return None
        if not force and not orphaned(info, path):
            return None
        return _finish(path, info, reason)


def _anyone_alive(info: dict[str, Any]) -> bool:
    owner = info.get("owner") or {}
    return owner_alive(owner) is True or owner_alive(owner.get("watchdog")) is True


def _finish(path: Path, info: dict[str, Any], reason: str, *, leftovers: bool = False) -> Recovery:
    from benchctl.analysis.summary import read_requests, summarize
    from benchctl.rundir.parts import merge_parts

    problems: list[str] = []
    rows = 0
    if (path / PARTS).is_dir() or not (path / REQUESTS).exists():
        try:
            rows = merge_parts(path / PARTS, path / REQUESTS)
        except OSError as exc:
            with contextlib.suppress(OSError):
                (path / REQUESTS).with_suffix(".tmp").unlink()
            problems.append(f"requests.parts not merged ({exc.strerror}): free space and run "
                            "`benchctl runs` again")  # fmt: skip
    else:
        rows = parquet_rows(path / REQUESTS)
    engine = dict(info.get("engine") or {})
    if (path / REQUESTS).exists():
        try:
            frame = read_requests(path / REQUESTS)
            end = float(frame["t_intended"].max()) if len(frame) else 0.0
            phases = (info.get("plan") or {}).get("phases") or []
            summary = summarize(frame, phases, end=end)
            _write_json(path / SUMMARY, {"schema_version": SCHEMA_VERSION, **summary})
        except OSError as exc:
            problems.append(f"summary.json not written ({exc.strerror})")
    problems += _merge_telemetry(path, engine.get("t0"))
    counts = dict(info.get("counts") or {})
    if leftovers:  # status and reason stay what the run said; only the rows are new
        if not problems:
            counts.update(rows=rows, merged_later=True)
            info["counts"] = counts
            _write_json(path / RUN_JSON, info)
        return Recovery(rows, reason, tuple(problems), leftovers=True)
    engine["ended_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    counts.update(rows=rows, recovered_rows=rows)
    info.update(
        status=INTERRUPTED,
        reason=f"{reason}; {rows} requests recovered from requests.parts",
        engine=engine,
        counts=counts,
        recovered=True,
    )
    _write_json(path / RUN_JSON, info)
    return Recovery(rows, reason, tuple(problems), server=stop_left_server(path, info))


def stop_left_server(path: Path, info: dict[str, Any]) -> str:
    """Stop the servers a killed run launched when its watchdog could not (killed too): the
    process group of run.json's ``target.launched.pid``, and with ``--split --launch`` each
    arm's server (found by its stdout, ``arm-NAME/*.log``: run.json keeps no arm pid), once
    ``lifetime.same_server`` tells it is still that server (its own group, started after the
    run's CLI, stdout on the run's server log), so a recycled pid is never signalled.
    Returns what to add to the recovery line: "stopped launched server pid N left by the
    killed run RUN", "launched server pid N may still be running (...)", several joined by
    "; ", or "" when nothing the run launched is left."""
    from benchctl.lifetime import writers_of

    launched = (info.get("target") or {}).get("launched") or {}
    pid = launched.get("pid")
    log = Path(launched["log"]) if launched.get("log") else None
    if log is not None and not log.is_absolute():
        log = path / log.name  # the server's log lies in the run directory
    servers = [(pid, log)] if isinstance(pid, int) and not isinstance(pid, bool) else []
    for arm_log in sorted(path.glob("arm-*/*.log")):
        servers += [(found, arm_log) for found in writers_of(arm_log) if found != pid]
    started = (info.get("owner") or {}).get("started")
    after = float(started) if isinstance(started, int | float) else 0.0
    lines = [_stop_one(pid, log, after, path.name) for pid, log in servers if pid > 1]
    return "; ".join(line for line in lines if line)


def _stop_one(pid: int, log: Path | None, after: float, name: str) -> str:
    from benchctl.lifetime import same_server, stop_group

    same = same_server(pid, log, after)
    if same is False:
        return ""
    if same is None:
        return (
            f"launched server pid {pid} may still be running (cannot tell it is the one "
            f"run {name} started); stop it yourself"
        )
    if stop_group(pid):
        return f"stopped launched server pid {pid} left by the killed run {name}"
    return f"launched server pid {pid} may still be running (it did not stop on SIGTERM/SIGKILL)"


def _merge_telemetry(path: Path, t0: float | None) -> list[str]:
    from benchctl.telemetry.monitor import merge_telemetry

    parts = path / TELEMETRY_PARTS
    if not parts.is_dir():
        return []
    try:
        merge_telemetry(parts, path / TELEMETRY, t0)
    except OSError as exc:
        return [f"telemetry.parts not merged ({exc.strerror})"]
    except Exception as exc:  # a damaged part must not stop the requests' recovery
        return [f"telemetry.parts not merged ({type(exc).__name__})"]
    return []


def _read(path: Path) -> dict[str, Any] | None:
    return read_document(path / RUN_JSON).data


def _write_json(path: Path, data: Any) -> None:
    """Atomic when the disk allows; in place when it is too full for a second copy."""
    import json

    text = json.dumps(data, indent=2, default=str) + "\n"
    write_text_fallback(path, text)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held = os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
    except OSError:  # locked by another, or already removed by the one that held it
        held = False
    if not held:
        os.close(fd)
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # removed while still held: the run's folder keeps no lock file
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
