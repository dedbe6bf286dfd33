"""Shared pieces of the unit tests that write synthetic run folders and run the installed
CLI on them: run.json's fixed fields, the spike scenario the analyze tests give a run, the
bursty traffic the autoscaler tests simulate, requests.parquet columns, a target file
beside its payload file, and ``benchctl`` started from a folder as a user starts it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.analysis.autoscaler_simulation import Traffic

BENCHCTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "benchctl"

# Bursts to 5 x 40 rps for 60 s every 10 minutes, twice (at time_scale 0.1 in the tests).
SPIKE_SPEC: dict[str, Any] = {
    "kind": "spike",
    "base_rate": 40,
    "burst_multiplier": 5,
    "period": "10m",
    "burst_at": "5m",
    "rise_time": "5s",
    "burst_length": "60s",
    "periods": 2,
}


def completed_run_info(
    run_id: str,
    scenario: dict[str, Any],
    plan: dict[str, Any],
    target: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """run.json of a completed open-loop run on a 2-CPU host whose generator kept up.

    Inputs: the run's id, its scenario and plan blocks, and its target block (default: a
    synthetic KServe target). Output: the dict to write as run.json.
    """
    return {
        "schema_version": 1,
        "id": run_id,
        "status": "completed",
        "reason": "",
        "scenario": scenario,
        "target": target or {"name": "synthetic", "spec": {"kind": "kserve"}},
        "plan": plan,
        "host": {"cpus": 2},
        "generator": {"saturated": False},
    }


def step_scenario(rates: list[float], step_s: float) -> dict[str, Any]:
    """The scenario block of a step run: ``rates`` in rps, each held ``step_s`` seconds."""
    return {
        "name": "step",
        "time_scale": 1.0,
        "spec": {"kind": "step", "rates": rates, "step_duration": step_s},
    }


def open_loop_plan(duration: float, phases: list[dict[str, Any]], curve: list) -> dict:
    """The plan block of an open-loop run: duration in seconds, phases, rate curve."""
    return {"duration": duration, "open_loop": True, "phases": phases, "curve": curve}


def set_scenario(run_dir: Path, scenario: dict[str, Any], **blocks: Any) -> None:
    """Rewrite run.json in ``run_dir`` with another scenario block (and any other top-level
    blocks given by name, e.g. ``target=``)."""
    info = json.loads((run_dir / "run.json").read_text())
    info["scenario"] = scenario
    info.update(blocks)
    (run_dir / "run.json").write_text(json.dumps(info))


def installed_benchctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``benchctl`` (this checkout's .venv, else the one on PATH) run with
    ``args`` from ``cwd``: output captured as text, 300 s limit, 200 columns, no check."""
    command = [str(BENCHCTL)] if BENCHCTL.exists() else [shutil.which("benchctl") or "benchctl"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def burst_traffic() -> Traffic:
    """100 rps with a 60 s burst to 640 rps every 10 minutes, the first at 300 s, for
    3,000 s (five bursts)."""
    times, rates = [0.0], [100.0]
    for start in range(300, 3000, 600):
        times += [start, start + 60]
        rates += [640, 100]
    times.append(3000)
    rates.append(100)
    return Traffic.from_arrays(times, rates)


def this_python_benchctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The ``benchctl`` installed beside the Python running the tests, run with ``args`` from
    ``cwd``: output captured as text, 120 s limit, the tests' environment, no check."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("benchctl")), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def request_columns(
    t: np.ndarray, latency_ms: np.ndarray, error: np.ndarray
) -> dict[str, np.ndarray | list]:
    """The columns of one requests.parquet row group, for ``records.to_table``: intended
    times ``t`` (s), ``latency_ms`` (also the service time), ``error`` ("" for a success,
    "dropped" for a request never sent: no start, no send lag). Sends lag 0.1 ms; no bytes;
    one worker."""
    n = len(t)
    dropped = error == "dropped"
    return {
        "t_intended": t,
        "t_start": np.where(dropped, np.nan, t),
        "latency_ms": latency_ms,
        "service_ms": latency_ms,
        "send_lag_ms": np.where(dropped, np.nan, 0.1),
        "status": np.where(error == "", 200, 0),
        "ok": error == "",
        "error": error.tolist(),
        "bytes_sent": np.zeros(n),
        "bytes_received": np.zeros(n),
        "worker": np.zeros(n),
    }


def target_beside_payload(cwd: Path, target: str, payload: str, text: str) -> None:
    """Write the target file ``cwd/target`` (relative path, its folder created) holding
    ``text``, and a payload file named ``payload`` ('{"inputs": []}') both beside it and in
    ``cwd``, so a test can tell which of the two a relative ``payload.file`` resolves to."""
    (cwd / target).parent.mkdir()
    for folder in (cwd, (cwd / target).parent):
        (folder / payload).write_text('{"inputs": []}\n')
    (cwd / target).write_text(text)
