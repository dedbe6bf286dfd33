"""A rate over a near-zero interval is no number (fresh-user trial: an interrupted
`benchctl run batch` setting showed 36,873 rps: 63 answers over the 1.7 ms before its
Ctrl-C, while each took far longer). Known answers for the summary and a batch's interval."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from benchctl.analysis.summary import offered_over_plan, stats_of_counts, summarize
from benchctl.batch import batch_end, batch_summary
from benchctl.reports.terminal.rates import rate_notes

SLOW = np.full(63, 300.0)  # ms: each answer took 300 ms


def test_no_rate_over_an_interval_shorter_than_the_answers():
    """63 requests, all answered in 300 ms, counted over 0.0017 s: 63 / 0.0017 = 37,059
    req/s is what was shown. The interval is shorter than the answers' median latency
    (300 ms), so throughput and offered rate are None and the note says why; over 0.3 s
    (the median itself) the same counts are 63 / 0.3 = 210.0 req/s."""
    short = stats_of_counts(63, 0, 63, SLOW, np.array([]), 0.0017)
    assert short["throughput_rps"] is None and short["offered_rps"] is None
    assert short["throughput_note"] == (
        "too short to measure a rate: 63 of 63 sent answered in 1.7 ms, less than their "
        "median latency of 300.0 ms (a burst of what was in flight, not a sustained rate)"
    )
    assert short["latency_ms"]["p50"] == 300.0  # the latencies are still measured
    assert offered_over_plan(dict(short), 0.0017)["offered_rps"] is None
    enough = stats_of_counts(63, 0, 63, SLOW, np.array([]), 0.3)
    assert enough["throughput_rps"] == pytest.approx(210.0)
    assert enough["offered_rps"] == pytest.approx(210.0)
    assert "throughput_note" not in enough
    assert rate_notes({"overall": short}) == [f"no throughput: {short['throughput_note']}"]
    assert rate_notes({"overall": enough}) == []


def _interrupted_batch(run: Path) -> None:
    """An interrupted batch run of 63 requests of 32 rows, concurrency 1, each answered in
    20 ms: request k (k = 0..62) sent at 0.02 k s, done at 0.02 (k + 1) s, the last at
    1.26 s; the stop (Ctrl-C) came at 0.0017 s, while the engine still drained the set."""
    run.mkdir()
    sent = 0.02 * np.arange(63)
    frame = pd.DataFrame(
        {
            "t_intended": sent,
            "t_start": sent,
            "latency_ms": np.full(63, 20.0),
            "send_lag_ms": np.zeros(63),
            "ok": np.ones(63, dtype=bool),
            "error": pd.Categorical([""] * 63),
            "phase": pd.Categorical(["batch"] * 63),
        }
    )
    frame.to_parquet(run / "requests.parquet")
    spec = {"kind": "batch", "inputs": 2000, "batch_sizes": [32], "concurrency": [1]}
    info = {"status": "interrupted", "scenario": {"spec": spec}, "target": {"spec": {}}}
    (run / "run.json").write_text(json.dumps(info))


def test_an_interrupted_batch_is_measured_until_its_last_answer(tmp_path: Path):
    """By hand: the interval ends at the later of the stop (0.0017 s) and the last answer
    (0.02 x 63 = 1.26 s), so throughput = 63 / 1.26 = 50.0 req/s (not 63 / 0.0017 =
    37,059), as the batch section's inferences/s = 63 x 32 / (1.26 - 0) = 1,600 says."""
    run = tmp_path / "run"
    _interrupted_batch(run)
    end = batch_end(run / "requests.parquet", SimpleNamespace(kind="batch"), 0.0017)
    assert end == pytest.approx(1.26)
    frame = pd.read_parquet(run / "requests.parquet")
    summary = summarize(frame, [{"name": "batch", "start": 0.0, "end": 300.0}], end=end)
    assert summary["overall"]["throughput_rps"] == pytest.approx(50.0)
    batch = batch_summary(run)["batch"]
    assert batch["time_to_finish_s"] == pytest.approx(1.26)
    assert batch["inferences_per_s"] == pytest.approx(1600.0)
    # cut at the stop, as before: the same answers over 1.7 ms give no rate at all
    cut = summarize(frame, [{"name": "batch", "start": 0.0, "end": 300.0}], end=0.0017)
    assert cut["overall"]["throughput_rps"] is None
    # another kind of run keeps its stop as the end
    assert batch_end(run / "requests.parquet", SimpleNamespace(kind="steady"), 0.5) == 0.5
