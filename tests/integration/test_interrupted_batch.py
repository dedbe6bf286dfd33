"""An interrupted batch counts its answers over their own time, against a real KServe
ModelServer on 127.0.0.1 with the installed ``benchctl`` run as a user runs it.

Fresh-user trial: a Ctrl-C'd `benchctl run batch` setting showed 36,873 rps: the requests in
flight at the stop were still answered and counted, but the interval ended at the stop
(1.7 ms after the start), not at their answers.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from benchctl.targets.launch import LaunchedServer

from .conftest import start_kserve
from .faults import Cli, kserve_args

COST_MS = 200.0  # CPU per answer on one worker: at most 5 answers a second


@pytest.fixture(scope="module")
def slow_kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedServer]:
    server = start_kserve(tmp_path_factory.mktemp("slow-kserve"), cost_ms=COST_MS)
    try:
        yield server
    finally:
        server.stop()


def test_a_ctrl_c_batch_is_measured_until_its_last_answer(
    slow_kserve: LaunchedServer, tmp_path: Path
):
    """A set of 40 single-row requests, 4 in flight, on one worker at 200 ms each (8 s for
    the set); Ctrl-C 2.5 s after the first progress line. The 4 requests then in flight are still
    answered (within 4 x 0.2 = 0.8 s, inside the engine's 2 s grace) and counted, so by hand
    the measurement interval (summary.json ``overall.seconds``, from 0) ends at the last
    answer, max(t_intended + latency), and throughput = ok / that interval, as the batch
    section's own time (first send to last answer) says."""
    args = ["run", "batch", *kserve_args(slow_kserve), "--no-telemetry"]
    load = ["--set", "inputs=40", "--set", "batch_sizes=[1]", "--set", "concurrency=[4]"]
    cli = Cli([*args, *load], tmp_path)
    cli.wait_for("achieved")
    time.sleep(2.5)  # at least 10 answers: a throughput needs them (MIN_RATE_REQUESTS)
    os.kill(cli.pid, signal.SIGINT)
    assert cli.wait() == 3, cli.text()
    run = cli.run_dir()
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    summary = json.loads((run / "summary.json").read_text())
    rows = pd.read_parquet(run / "requests.parquet")
    sent = rows[rows["t_start"].notna()]
    last = float((sent["t_intended"] + sent["latency_ms"] / 1000.0).max())
    overall = summary["overall"]
    assert 10 <= overall["ok"] < 40, cli.text()
    assert overall["seconds"] == pytest.approx(last, abs=1e-6)
    assert overall["throughput_rps"] == pytest.approx(overall["ok"] / last)
    batch = summary["batch"]
    first = float(sent["t_start"].min())
    assert batch["requests_per_s"] == pytest.approx(batch["requests_ok"] / (last - first))
    assert overall["throughput_rps"] <= 1000 / COST_MS * 1.1  # one worker: 5 answers/s
