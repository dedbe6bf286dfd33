"""What the three datatype e2e modules (KServe, Triton, MLServer) share: start a real server
on 127.0.0.1 and wait until it is ready, and one short ``benchctl run steady`` against a
target file written for the test."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .helpers import Finished, benchctl


@contextlib.contextmanager
def serving(
    command: list[str],
    log: Path,
    *,
    http: int,
    grpc: int,
    ready_path: str,
    ready_within_s: float,
    poll_s: float,
    stop_within_s: float,
    log_tail: int,
    **popen: Any,
) -> Iterator[tuple[str, str]]:
    """Start ``command`` (output to ``log``), wait until GET ``ready_path`` on the HTTP port
    answers (fails with the log's last ``log_tail`` characters if the server exits or is not
    ready within ``ready_within_s``), yield (HTTP URL, gRPC address); terminate it at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen
        )
    try:
        url = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + ready_within_s
        while True:
            assert proc.poll() is None, log.read_text()[-log_tail:]
            try:
                with urllib.request.urlopen(f"{url}{ready_path}", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-log_tail:]
                time.sleep(poll_s)
        yield url, f"127.0.0.1:{grpc}"
    finally:
        proc.terminate()
        proc.wait(stop_within_s)


def run_steady(tmp_path: Path, target_yaml: str, *sets: str) -> Finished:
    """``benchctl run steady`` at 10 req/s for 2 s (no warm-up, no telemetry) against the
    target file ``target_yaml`` (written to ``tmp_path/t.yaml``), each of ``sets`` passed as
    ``--target-set``."""
    target = tmp_path / "t.yaml"
    target.write_text(target_yaml)
    args = [a for s in sets for a in ("--target-set", s)]
    return benchctl(
        "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
        "--set", "warmup=0s", "--no-telemetry", *args, cwd=tmp_path,
    )  # fmt: skip
