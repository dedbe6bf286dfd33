"""The measurement interval of an interrupted run ends when the stop arrived, against a real
KServe ModelServer on 127.0.0.1 with the installed ``benchctl`` run as a user runs it.

Before: the interval of a Ctrl-C'd run ended at the engine's last progress line (one a
second), up to 1 s before the stop, so requests sent after that line were divided by too
few seconds (case 09 of the reproductions: 40 req/s constant, offered_rps 42.3 in one
process and 50.1 with ``--workers 2``).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from benchctl.targets.launch import LaunchedServer

from .faults import Cli, kserve_args

RATE = 20.0  # req/s, constant arrivals


@pytest.mark.parametrize("workers", [0, 2])
def test_ctrl_c_rate_is_counted_over_the_time_until_the_stop(
    kserve: LaunchedServer, tmp_path: Path, workers: int
):
    """Ctrl-C 2.5 s after the first progress line (about half a second after a progress
    tick). Known answers, by hand: constant arrivals at 20 req/s from t = 0 put
    n = floor(20·T) or floor(20·T) + 1 arrivals before a stop at T s, so offered_rps =
    n / T lies within 20 ± 1/T (± 2/T with two workers, each sending every 0.1 s on its own
    offset); and the interval (``overall.seconds``) covers every request sent, so it is at
    least the last intended send time (0.1 s allowed for the stop to reach the workers)."""
    load = ["--rate", str(RATE), "--duration", "30s", "--set", "warmup=0"]
    args = ["run", "steady", *kserve_args(kserve), *load, "--set", "arrivals=constant"]
    cli = Cli([*args, "--workers", str(workers), "--no-telemetry"], tmp_path)
    cli.wait_for("achieved")
    time.sleep(2.5)
    os.kill(cli.pid, signal.SIGINT)
    assert cli.wait() == 3, cli.text()
    run = cli.run_dir()
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    overall = json.loads((run / "summary.json").read_text())["overall"]
    rows = pd.read_parquet(run / "requests.parquet")
    rows = rows[(rows["phase"] != "warmup") & (rows["error"] != "dropped")]
    seconds = overall["seconds"]
    assert len(rows) == overall["sent"] > 2 * RATE, cli.text()
    assert seconds >= float(rows["t_intended"].max()) - 0.1, (seconds, rows["t_intended"].max())
    slack = (2.0 if workers else 1.0) / seconds
    assert abs(overall["offered_rps"] - RATE) <= slack, (overall["offered_rps"], seconds)
