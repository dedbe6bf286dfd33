"""Split runs, continued (issue 20), as a user runs them (installed ``benchctl``, fresh
directory, default ``runs/``, the user's own target profiles in ./benchctl.d/): arms in
``compare``, each arm's server telemetry, ``--remote-workers`` and ``--slo`` with
``--split``. Two real KServe servers launched once for the module on 127.0.0.1: ``fast``
(1 ms of CPU a request) and ``slow`` (10 ms)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from benchctl.splits import arms_of_users
from benchctl.targets.launch import LaunchedServer, free_port, launch_kserve
from benchctl.targets.refmodel import RefModelConfig
from tests.e2e.helpers import BENCHCTL, benchctl

FAST_MS, SLOW_MS = 1.0, 10.0  # CPU each server keeps busy per request


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LaunchedServer]]:
    started: dict[str, LaunchedServer] = {}
    try:
        for name, cost in (("fast", FAST_MS), ("slow", SLOW_MS)):
            started[name] = launch_kserve(
                log_dir=tmp_path_factory.mktemp(name),
                model=RefModelConfig(cost_ms=cost),
                log=lambda _: None,
            )
        yield started
    finally:
        for server in started.values():
            server.stop()


def _profiles(cwd: Path, servers: dict[str, LaunchedServer], **arms: str) -> None:
    """./benchctl.d/targets/<arm>.yaml for each ``arm=server`` (a module server's URLs)."""
    folder = cwd / "benchctl.d" / "targets"
    folder.mkdir(parents=True, exist_ok=True)
    for arm, name in arms.items():
        server = servers[name]
        (folder / f"{arm}.yaml").write_text(
            f"kind: kserve\nprotocol: rest-v2\nurl: {server.http_url}\n"
            f"metrics_url: {server.metrics_url}\n"
        )


def _worker(cwd: Path, port: int, index: int) -> subprocess.Popen[bytes]:
    """``benchctl worker --master 127.0.0.1:PORT``, its output in worker-INDEX.out."""
    with (cwd / f"worker-{index}.out").open("wb") as out:
        return subprocess.Popen(
            [str(BENCHCTL), "worker", "--master", f"127.0.0.1:{port}"],
            cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


def test_split_with_remote_workers(tmp_path: Path, servers: dict[str, LaunchedServer]) -> None:
    """A master (``--workers 0 --remote-workers 2``) and two ``benchctl worker`` processes
    on loopback: the workers get both arms from the master, every request reaches its arm
    (each user on the arm its id hashes to), records from both workers arrive, and the
    canary verdict is in summary.json."""
    _profiles(tmp_path, servers, stable="fast", canary="slow")
    port = free_port()
    master = subprocess.Popen(
        [
            str(BENCHCTL), "run", "steady", "--target", "stable",
            "--split", "stable=50,canary=50", "--users", "20",
            "--workers", "0", "--remote-workers", "2", "--master-port", str(port),
            "--rate", "20", "--duration", "5s", "--set", "warmup=1s",
        ],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    workers = [_worker(tmp_path, port, i) for i in range(2)]
    try:
        out, err = master.communicate(timeout=180)
        for i, worker in enumerate(workers):
            code = worker.wait(30)
            assert code == 0, (tmp_path / f"worker-{i}.out").read_text()[-3000:] + out + err
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                process.wait(10)
    assert master.returncode == 0, f"{out}\n{err}"
    (run_dir,) = (tmp_path / "runs").iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "completed" and info["engine"]["remote_workers"] == 2
    rows = pq.read_table(run_dir / "requests.parquet").to_pandas()
    assert len(rows) == info["counts"]["rows"] == info["counts"]["sent"] + info["counts"]["dropped"]
    sent = rows[rows.error.astype(str) != "dropped"]
    assert set(sent.worker) == {0, 1} and set(sent.arm.astype(str)) == {"stable", "canary"}
    pinned = arms_of_users(20, [50.0, 50.0])
    for user, group in sent.groupby(sent.user.astype(int)):
        assert set(group.arm.astype(str)) == {("stable", "canary")[pinned[user]]}
    assert sent.ok.all()
    split = json.loads((run_dir / "summary.json").read_text())["split"]
    assert split["arms"]["canary"]["latency_ms"]["p50"] >= SLOW_MS
    assert "canary verdicts vs stable" in out


def test_shadow_with_remote_workers_is_one_line(tmp_path: Path) -> None:
    done = benchctl(
        "run", "steady", "--target", "kserve", "--shadow", "triton", "--remote-workers", "1",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.run_dir is None
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "--shadow" in done.stderr and "--remote-workers" in done.stderr


def test_each_arms_server_is_sampled_and_compare_shows_arms(
    tmp_path: Path, servers: dict[str, LaunchedServer]
) -> None:
    """An 80/20 split between two servers (``stable`` on the fast KServe, ``canary`` on
    the slow one). Telemetry: each arm's own server is scraped; the canary's server counts
    the canary's requests only (about 20% of all, so a count of every request or of the
    control's would disagree), and its server-side compute time per request is at least
    its 10 ms cost while the fast server's is below it. compare: ``RUN@ARM`` columns with
    the arm's own numbers (the same p50 as summary.json's split section), an arm against
    another run, and an unknown arm in one line naming the arms (exit 2)."""
    _profiles(tmp_path, servers, stable="fast", canary="slow")
    done = benchctl(
        "run", "steady", "--target", "stable", "--split", "stable=80,canary=20",
        "--rate", "25", "--duration", "6s", "--set", "warmup=1s", cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    info = done.run_json()
    rows = done.requests()
    sent = rows[rows.error.astype(str) != "dropped"]
    canary_rows = int((sent.arm.astype(str) == "canary").sum())
    assert 0 < canary_rows < 0.5 * len(sent)
    telemetry = info["telemetry"]
    assert telemetry["self_check"]["arms"] == ["stable"] and telemetry["self_check"]["agree"]
    canary = telemetry["arms"]["canary"]
    assert canary["sampled"] == "own server" and canary["server_kind"] == "kserve"
    check = canary["self_check"]
    assert check["agree"] and check["rows"] == canary_rows, check
    assert abs(check["server_requests"] - canary_rows) <= check["tolerance"]
    windows = pq.read_table(done.run_dir / canary["windows"]).to_pandas()
    assert windows.server_requests.sum() == pytest.approx(check["server_requests"], abs=0.5)
    weights = windows.server_requests.fillna(0)
    slow_ms = (windows.server_compute_ms.fillna(0) * weights).sum() / weights.sum()
    control = pq.read_table(done.run_dir / "telemetry_windows.parquet").to_pandas()
    weights = control.server_requests.fillna(0)
    fast_ms = (control.server_compute_ms.fillna(0) * weights).sum() / weights.sum()
    assert slow_ms >= SLOW_MS > fast_ms, (slow_ms, fast_ms)
    assert "server telemetry per arm" in done.stdout
    report = benchctl("report", str(done.run_dir), cwd=tmp_path, timeout=120)
    assert report.returncode == 0, report.output()
    html = (done.run_dir / "report.html").read_text()
    assert "Server telemetry of the other arms" in html
    assert f"<tr><td>canary</td><td>own server</td>\n<td>{check['server_requests']:,}</td>" in html

    run = done.run_dir
    compared = benchctl("compare", f"{run}@stable", f"{run}@canary", cwd=tmp_path, timeout=60)
    assert compared.returncode == 0, compared.output()
    assert f"{run.name}@stable" in compared.stdout and f"{run.name}@canary" in compared.stdout
    split = json.loads((run / "summary.json").read_text())["split"]["arms"]
    p50 = [line for line in compared.stdout.splitlines() if line.startswith("│ p50 ms")]
    shown = [float(cell) for cell in p50[0].strip("│ ").split("│")[1:]]
    for value, arm in zip(shown, ("stable", "canary"), strict=True):
        assert value == pytest.approx(split[arm]["latency_ms"]["p50"], rel=0.01, abs=0.01)
    page = (run / f"compare-{run.name}@stable_vs_{run.name}@canary.html").read_text()
    assert f"{run.name}@canary" in page and "<svg" in page
    # --slo per arm (what the one-line refusal of run --split --slo points to): the canary's
    # p50 is at least its 10 ms cost, so it misses p50<=10ms; the control meets it iff its
    # own p50 (summary.json) does
    judged = benchctl(
        "compare", f"{run}@stable", f"{run}@canary", "--slo", "p50<=10ms", cwd=tmp_path, timeout=60
    )
    assert judged.returncode == 0, judged.output()
    meets = [line for line in judged.stdout.splitlines() if line.startswith("│ meets")]
    cells = [cell.strip() for cell in meets[0].strip("│ ").split("│")[1:]]
    verdicts = [cell.removesuffix(" (unsure)") for cell in cells]
    assert verdicts == ["yes" if split["stable"]["latency_ms"]["p50"] <= 10.0 else "no", "no"]
    # a verdict not established (busy host, send lag, an interval holding 10 ms) says why
    said = " ".join(judged.stdout.split())
    for label, cell, verdict in zip("AB", cells, verdicts, strict=True):
        unsure = f"{label} meets p50<=10ms: {verdict}, not established: " in said
        assert unsure == cell.endswith("(unsure)"), judged.output()

    other = benchctl(
        "run", "steady", "--target", "stable", "--rate", "20", "--duration", "3s",
        "--set", "warmup=1s", "--no-telemetry", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert other.returncode == 0, other.output()
    compared = benchctl("compare", f"{run}@canary", str(other.run_dir), cwd=tmp_path, timeout=60)
    assert compared.returncode == 0, compared.output()
    assert f"{run.name}@canary" in compared.stdout and other.run_dir.name in compared.stdout

    missing = benchctl("compare", f"{run}@stable", f"{run}@nope", cwd=tmp_path, timeout=60)
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0
    assert "no arm 'nope'" in missing.stderr and "(arms: stable, canary)" in missing.stderr
    plain = benchctl("compare", f"{other.run_dir}@stable", str(run), cwd=tmp_path, timeout=60)
    assert plain.returncode == 2 and "not a split run" in plain.stderr


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["steady", "--slo", "p99<=50ms"], "--split: --slo 'p99<=50ms' sizes one target"),
        (["capacity", "--slo", "p99<=50ms"], "--split: a capacity search sizes one target"),
        (["gated"], "--split: the scenario's slo: 'p99<=50ms' sizes one target"),
    ],
)
def test_slo_with_split_is_one_line_before_anything_runs(
    tmp_path: Path, extra: list[str], words: str
) -> None:
    """``run --split ... --slo`` (or a scenario with ``slo:``, or the capacity scenario)
    with ``--launch``: exit 2, one line naming the flag and where per-arm SLO checks are
    (compare RUN@ARM --slo), no run directory, nothing launched."""
    scenarios = tmp_path / "benchctl.d" / "scenarios"
    scenarios.mkdir(parents=True)
    (scenarios / "gated.yaml").write_text("kind: steady\nrate: 5\nduration: 2s\nslo: p99<=50ms\n")
    done = benchctl(
        "run", *extra, "--target", "kserve", "--split", "kserve=50,triton=50", "--launch",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.run_dir is None, done.output()
    assert done.stderr.strip().count("\n") == 0 and words in done.stderr, done.stderr
    assert "benchctl compare RUN@ARM_A RUN@ARM_B --slo" in done.stderr
    assert done.stdout == ""  # refused before any launch (which prints its progress)


@pytest.mark.parametrize("arms", [["--split", "kserve=50,triton=50"], ["--shadow", "triton"]])
def test_a_batch_with_arms_is_one_line_before_anything_is_launched(
    tmp_path: Path, arms: list[str]
) -> None:
    """``run batch --split/--shadow ... --launch``: exit 2, one line naming the flag, no run
    directory and no launch progress (it used to launch KServe, then fail the run)."""
    done = benchctl(
        "run", "batch", "--target", "kserve", *arms, "--launch", cwd=tmp_path, timeout=60
    )  # fmt: skip
    assert done.returncode == 2 and done.run_dir is None, done.output()
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert f"{arms[0]}: a batch scenario sends a finite input set once" in done.stderr
    assert done.stdout == ""


def test_shadow_servers_each_count_every_request(
    tmp_path: Path, servers: dict[str, LaunchedServer]
) -> None:
    """``--shadow``: every request goes to both servers, so the served server (the run's
    own telemetry) and the shadow's (sampled as an arm) each count all of them: both
    server-side counts within the self-check's tolerance of the requests sent. compare
    refuses the shadow arm in one line (its requests are pairs in shadow.parquet)."""
    _profiles(tmp_path, servers, served="fast", copy="slow")
    done = benchctl(
        "run", "steady", "--target", "served", "--shadow", "copy", "--rate", "15",
        "--duration", "4s", "--set", "warmup=1s", cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    telemetry = done.run_json()["telemetry"]
    rows = done.requests()
    sent = int((rows.error.astype(str) != "dropped").sum())
    check = telemetry["self_check"]  # the served server, checked as in any run
    assert check["agree"] and check["rows"] == sent, check
    shadow = telemetry["arms"]["copy"]
    assert shadow["sampled"] == "own server" and "self_check" not in shadow
    assert abs(shadow["server_requests"] - sent) <= check["tolerance"], (shadow, sent)
    # The pair from one send: the shadow computes 10 ms, the served server 1 ms, so the
    # paired difference is about +9 ms and its sign-test interval lies above 0.
    paired = json.loads((done.run_dir / "summary.json").read_text())["shadow"]["latency_ms"]
    paired = paired["paired"]
    assert paired["verdict"] == "shadow slower" and paired["ci95_ms"][0] > 0, paired
    assert paired["median_ms"] >= 4.5, paired  # half the known 9 ms: queueing only adds
    assert "paired latency: shadow slower" in done.stdout
    run = done.run_dir  # compare: the shadow arm has no rows of its own; one line, exit 2
    refused = benchctl("compare", f"{run}@served", f"{run}@copy", cwd=tmp_path, timeout=60)
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert "'copy' is the shadow of this run" in refused.stderr
