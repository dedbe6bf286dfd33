"""``python -m benchctl.watchdog --run-dir D --parent PID``: outlives a killed CLI and cleans up.

Reads lines from stdin, sent by ``benchctl.lifetime.Guard``: ``engine PGID``, ``server PGID``,
``forget PGID`` and ``done``. ``done`` means the CLI stopped everything itself: exit. End of
input without ``done`` means the CLI died (``kill -9``, OOM killer): wait up to
``ENGINE_GRACE_S`` for the engine groups (they got SIGTERM from their death signal and are
writing their last rows), then SIGKILL them; SIGTERM the server groups, SIGKILL after
``SERVER_GRACE_S``; then recover the run directory (merge the parts, summary.json, run.json
``interrupted`` with reason "benchctl was killed"). See benchctl.lifetime for the design.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchctl.lifetime import ENGINE_GRACE_S, SERVER_GRACE_S, group_alive, kill_group


def _wait_groups(groups: list[int], timeout: float) -> list[int]:
    """Groups still alive after up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    alive = [g for g in groups if group_alive(g)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [g for g in alive if group_alive(g)]
    return alive


def cleanup(groups: dict[int, str], log: Callable[[str], None] = print) -> None:
    """Engines first (they may still be flushing), then servers."""
    engines = [g for g, role in groups.items() if role == "engine"]
    servers = [g for g, role in groups.items() if role != "engine"]
    for pgid in engines:  # their death signal normally did this already
        kill_group(pgid, signal.SIGTERM)
    for pgid in _wait_groups(engines, ENGINE_GRACE_S):
        log(f"engine group {pgid} still running after {ENGINE_GRACE_S:g} s: SIGKILL")
        kill_group(pgid, signal.SIGKILL)
    for pgid in servers:
        kill_group(pgid, signal.SIGTERM)
    for pgid in _wait_groups(servers, SERVER_GRACE_S):
        log(f"server group {pgid} still running after {SERVER_GRACE_S:g} s: SIGKILL")
        kill_group(pgid, signal.SIGKILL)
    _wait_groups(engines + servers, 5.0)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchctl.watchdog --run-dir D --parent PID``.

    ``argv``: the arguments (None: sys.argv). Ignores SIGINT/SIGHUP/SIGPIPE, reads the Guard's lines
    from stdin until ``done`` (return 0) or end of input (the CLI died); then stops the registered
    groups (``cleanup``) and recovers the run directory as interrupted. Returns the exit status: 0,
    or 1 when recovery failed (one stderr line); argparse exits 2 on bad arguments.
    """
    parser = argparse.ArgumentParser(prog="benchctl-watchdog")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN)
    groups: dict[int, str] = {}
    for line in sys.stdin:
        word, _, value = line.strip().partition(" ")
        if word == "done":
            return 0
        if word == "forget" and value.isdigit():
            groups.pop(int(value), None)
        elif word in ("engine", "server") and value.isdigit():
            groups[int(value)] = word
    print(f"benchctl (pid {args.parent}) died; stopping {sorted(groups)}", file=sys.stderr)
    cleanup(groups, log=lambda message: print(message, file=sys.stderr))
    from benchctl.recovery import KILLED, recover

    try:
        recovered = recover(args.run_dir, reason=KILLED, force=True)
    except Exception as exc:  # the next `benchctl runs` tries again
        print(f"recovery failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if recovered is not None:
        print(recovered.message(args.run_dir), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
