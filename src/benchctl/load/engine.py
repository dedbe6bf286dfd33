"""The engine process: ``python -m benchctl.load.engine --role local|master|worker``.

The only entry point that imports Locust, and it does so first (gevent monkey-patches the
process). One module per role, as Locust's runners are:

* ``local`` (load/engine_local.py): one process drives the plan and writes records.
* ``master`` (load/engine_master.py): a Locust master; waits for workers, sends each the plan
  and its share, and writes the records the workers stream to it (custom messages).
* ``worker`` (load/engine_worker.py): a Locust worker (``benchctl worker --master
  HOST:PORT``); gets everything it needs from the master, so it needs no files.

Local and master share the collecting loop (load/engine_collect.py); every role shares the
process context, the Locust user and the driver building (load/engine_base.py).
Progress goes to stdout as JSON lines for the CLI; logs go to stderr.
"""

# isort: skip_file
import locust  # noqa: F401  (first: gevent monkey-patches the whole process)

import argparse
import logging
import sys
from pathlib import Path

from benchctl.load.engine_local import run_local
from benchctl.load.engine_master import run_master
from benchctl.load.engine_worker import run_worker
from benchctl.rundir.reader import read_json_file
from benchctl.splits import restore_arm_headers
from benchctl.targets.secrets import restore_request_headers


def main(argv: list[str] | None = None) -> int:
    """Parse the engine's arguments (``argv``, default sys.argv) and run one role. Returns the
    process exit code: 0 completed, 1 failed to start (master: workers or clocks), 2 bad
    arguments (argparse exits), 3 interrupted."""
    parser = argparse.ArgumentParser(prog="benchctl-engine")
    parser.add_argument("--role", choices=["local", "master", "worker"], required=True)
    parser.add_argument("--spec", type=Path, help="engine spec JSON (local, master)")
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--bind-host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5557)
    parser.add_argument("--expect-workers", type=int, default=1)
    parser.add_argument("--worker-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.role == "worker":
        return run_worker(args)
    spec = restore_request_headers(read_json_file(args.spec))  # headers: from env
    spec = restore_arm_headers(spec)  # a split run's arms' headers, likewise (splits.py)
    if args.role == "local":
        return run_local(spec, args.run_dir)
    return run_master(spec, args.run_dir, args)


if __name__ == "__main__":
    sys.exit(main())
