"""Distributed load across hosts: a Locust master on one host, `benchctl worker`s on another.

Two network namespaces stand in for two hosts, joined by a veth pair (10.201.0.1/24 and
10.201.0.2/24). The master (`benchctl run --workers 0 --remote-workers 2 --master-bind
10.201.0.1`) runs in namespace A; two `benchctl worker --master 10.201.0.1:5557` and a real
KServe with the reference model run in namespace B. The KServe listens on 0.0.0.0 through
docker/servers/kserve_entry.py (the container entry point), so the master's preflight reaches
it over the veth and the workers reach it on their own host. Nothing is shared between the
two sides but the network: the workers get the plan and the request from the master and
stream their records back.

Where namespaces cannot be made (no root / CAP_NET_ADMIN), that test skips with the reason;
the loopback variant (master and two remote workers on 127.0.0.1) always runs.
Both runs are short (6 s at 40 req/s) and every process is stopped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from benchctl.targets.launch import (
    KSERVE_REQUIREMENTS,
    free_port,
    launch_kserve,
    server_venv,
    venv_python,
)

REPO = Path(__file__).resolve().parents[2]
KSERVE_ENTRY = REPO / "docker" / "servers" / "kserve_entry.py"
ADDR_A, ADDR_B = "10.201.0.1", "10.201.0.2"
MASTER_PORT = 5557
RATE, DURATION = 40, "6s"
RUN_TIMEOUT_S = 150


@dataclass
class Processes:
    """Processes a test started; stopped (whole trees, by pid) when the test ends."""

    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, command: list[str], log: Path, **kwargs) -> subprocess.Popen:
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                stdout=kwargs.pop("stdout", out),
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **kwargs,
            )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            tree: list[psutil.Process] = []
            with contextlib.suppress(psutil.Error):
                tree = psutil.Process(process.pid).children(recursive=True)
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            _, alive = psutil.wait_procs([p for p in tree if p.is_running()], timeout=5)
            for child in alive:
                with contextlib.suppress(psutil.Error):
                    child.kill()


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop_all()


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class TwoHosts:
    a: str  # network namespace names
    b: str

    def on(self, host: str, command: list[str]) -> list[str]:
        return ["ip", "netns", "exec", host, *command]


@pytest.fixture
def two_hosts(processes: Processes) -> Iterator[TwoHosts]:
    """Namespaces A and B joined by a veth pair; deleted (after their processes) at the end."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 (`ip`) is not installed: cannot make network namespaces")
    tag = secrets.token_hex(3)
    hosts = TwoHosts(a=f"benchctl-a-{tag}", b=f"benchctl-b-{tag}")
    made = _ip("netns", "add", hosts.a)
    if made.returncode != 0:
        pytest.skip(f"cannot create network namespaces here: {made.stderr.strip()}")
    try:
        _ip("netns", "add", hosts.b).check_returncode()
        veth_a, veth_b = f"bca{tag}", f"bcb{tag}"  # interface names: 15 characters at most
        steps = [
            ("link", "add", veth_a, "netns", hosts.a, "type", "veth", "peer", "name", veth_b,
             "netns", hosts.b),
            ("-n", hosts.a, "addr", "add", f"{ADDR_A}/24", "dev", veth_a),
            ("-n", hosts.b, "addr", "add", f"{ADDR_B}/24", "dev", veth_b),
            ("-n", hosts.a, "link", "set", veth_a, "up"),
            ("-n", hosts.b, "link", "set", veth_b, "up"),
            ("-n", hosts.a, "link", "set", "lo", "up"),
            ("-n", hosts.b, "link", "set", "lo", "up"),
        ]  # fmt: skip
        for step in steps:
            done = _ip(*step)
            assert done.returncode == 0, f"ip {' '.join(step)}: {done.stderr.strip()}"
        yield hosts
    finally:
        processes.stop_all()  # a namespace outlives `ip netns delete` while a process is in it
        for name in (hosts.b, hosts.a):
            _ip("netns", "delete", name)
        assert hosts.a not in _ip("netns", "list").stdout


def _benchctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchctl", *args]


def _wait_http_ok(prefix: list[str], url: str, timeout: float) -> None:
    """Poll `url` from inside `prefix` (a namespace) until it answers 200."""
    probe = (
        "import sys, time, urllib.request\n"
        "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
        f"deadline = time.monotonic() + {timeout}\n"
        "while time.monotonic() < deadline:\n"
        "    try:\n"
        f"        if opener.open({url!r}, timeout=1).status == 200: sys.exit(0)\n"
        "    except OSError: pass\n"
        "    time.sleep(0.2)\n"
        "sys.exit(1)\n"
    )
    done = subprocess.run([*prefix, sys.executable, "-c", probe], check=False, timeout=timeout + 10)
    assert done.returncode == 0, f"{url} not ready after {timeout:g}s"


def _distributed_run(
    processes: Processes,
    tmp_path: Path,
    *,
    master_prefix: list[str],
    worker_prefix: list[str],
    master_bind: str,
    port: int,
    url: str,
) -> tuple[Path, dict]:
    """`benchctl run` as a master expecting 2 remote workers, and 2 `benchctl worker`s."""
    runs = tmp_path / "runs"
    run = _benchctl(
        "run", "steady", "--target", "kserve", "--target-set", f"url={url}",
        "--rate", str(RATE), "--duration", DURATION, "--set", "warmup=1s",
        "--workers", "0", "--remote-workers", "2",
        "--master-bind", master_bind, "--master-port", str(port),
        "--runs-dir", str(runs),
    )  # fmt: skip
    master = processes.start(
        [*master_prefix, *run],
        tmp_path / "master.out",
        cwd=tmp_path,  # no ./benchctl.d of the checkout: built-in profiles only
        env={**os.environ, "COLUMNS": "120"},
    )
    workers = [
        processes.start(
            [*worker_prefix, *_benchctl("worker", "--master", f"{master_bind}:{port}")],
            tmp_path / f"worker-{i}.out",
            cwd=tmp_path,
        )
        for i in range(2)
    ]
    try:
        master.wait(RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"master did not finish in {RUN_TIMEOUT_S}s: {_tail(tmp_path / 'master.out')}")
    assert master.returncode == 0, _tail(tmp_path / "master.out")
    for i, worker in enumerate(workers):  # the master's quit ends them
        worker.wait(30)
        assert worker.returncode == 0, _tail(tmp_path / f"worker-{i}.out")
    (run_dir,) = runs.iterdir()
    return run_dir, json.loads((run_dir / "run.json").read_text())


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path.name})"


def _check_every_record_arrived(run_dir: Path, info: dict) -> None:
    assert info["status"] == "completed", info["reason"]
    assert info["engine"]["remote_workers"] == 2 and info["engine"]["workers"] == 0
    frame = pq.read_table(run_dir / "requests.parquet").to_pandas()
    counts = info["counts"]
    # every request sent (or dropped) by a remote worker is one row on the master's side
    assert len(frame) == counts["rows"] == counts["sent"] + counts["dropped"]
    expected = info["plan"]["expected_requests"]
    assert 0.6 * expected <= len(frame) <= 1.4 * expected, (len(frame), expected)
    per_worker = frame["worker"].value_counts().to_dict()
    assert set(per_worker) == {0, 1}, per_worker  # records from both workers
    assert abs(per_worker[0] - per_worker[1]) <= 1  # one seeded schedule, dealt out in turn
    assert frame["ok"].all(), frame["error"].value_counts().to_dict()


def test_master_and_remote_workers_on_two_hosts(tmp_path, two_hosts, processes):
    venv = server_venv("kserve", KSERVE_REQUIREMENTS, log=lambda _: None)
    on_a, on_b = two_hosts.on(two_hosts.a, []), two_hosts.on(two_hosts.b, [])
    serve = [
        str(venv_python(venv)), str(KSERVE_ENTRY),
        "--host", "0.0.0.0", "--http-port", "8080", "--grpc-port", "8081",
    ]  # fmt: skip
    processes.start(
        [*on_b, *serve],
        tmp_path / "kserve.log",
        cwd=tmp_path,
    )
    url = f"http://{ADDR_B}:8080"
    _wait_http_ok(on_a, f"{url}/v2/models/mlp/ready", timeout=90)  # across the veth

    run_dir, info = _distributed_run(
        processes,
        tmp_path,
        master_prefix=on_a,
        worker_prefix=on_b,
        master_bind=ADDR_A,
        port=MASTER_PORT,
        url=url,
    )
    _check_every_record_arrived(run_dir, info)
    assert info["host"]  # the master's host facts; the workers' hosts wrote nothing


def test_master_and_remote_workers_on_loopback(tmp_path, processes):
    server = launch_kserve(log_dir=tmp_path / "kserve", log=lambda _: None)
    try:
        run_dir, info = _distributed_run(
            processes,
            tmp_path,
            master_prefix=[],
            worker_prefix=[],
            master_bind="127.0.0.1",
            port=free_port(),
            url=server.http_url,
        )
    finally:
        server.stop()
    _check_every_record_arrived(run_dir, info)
