"""Exact order statistics in two passes (issue 16): the same element a full sort puts at each
rank, for the gate's samples, summary.json and compare's percentile curves, whatever the
batching, with ties, NaN, zeros and negative values.

Known answers: numpy on the whole array (``np.sort``, ``np.median``, ``np.quantile`` with
``inverted_cdf``) and the in-memory gate samples (every latency held)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchctl.analysis.exact_ranks import RankCounter, Spread, order_keys
from benchctl.analysis.gate import (
    LATENCY,
    StatisticsSpec,
    change_interval,
    load_run,
    phase_sample,
    pool,
)
from benchctl.reports.compare_figures import inverted_cdf_ranks
from tests.unit.test_gate import make_run


def _values(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.concatenate(
        [
            rng.lognormal(2.0, 1.0, n),
            np.round(rng.exponential(10.0, n // 4), 1),  # many ties
            [0.0, -0.5, -3.0, np.inf, 1e-300],
        ]
    )
    return rng.permutation(values)


def _two_passes(values: np.ndarray, ranks: list[int], batch: int, bits: int) -> np.ndarray:
    counter = RankCounter(bits)
    for start in range(0, len(values), batch):
        counter.add(values[start : start + batch])
    picker = counter.picker(ranks)
    for start in range(0, len(values), batch):
        picker.add(values[start : start + batch])
    return picker.values()


def test_order_keys_sort_as_the_floats_do() -> None:
    values = np.array([3.5, -np.inf, -2.0, 0.0, 1e-310, np.inf, np.nan, -1e-310, 7.0])
    order = np.argsort(order_keys(values), kind="stable")
    np.testing.assert_array_equal(values[order], np.sort(values))


@pytest.mark.parametrize(("seed", "batch", "bits"), [(1, 1000, 16), (2, 7, 16), (3, 5000, 20)])
def test_ranks_are_the_elements_a_full_sort_puts_there(seed: int, batch: int, bits: int) -> None:
    values = _values(seed, 20_000)
    n = len(values)
    ranks = [0, 1, n // 2, (n - 1) // 2, int(0.99 * n), n - 2, n - 1, 12_345]
    np.testing.assert_array_equal(_two_passes(values, ranks, batch, bits), np.sort(values)[ranks])


def test_nan_sorts_last_as_numpy_puts_it() -> None:
    values = np.array([5.0, np.nan, 1.0, np.nan, 3.0])
    found = _two_passes(values, [0, 2, 3, 4], 2, 16)
    np.testing.assert_array_equal(found, np.sort(values)[[0, 2, 3, 4]])


def test_spread_answers_as_numpy_on_the_whole_array() -> None:
    values = _values(4, 5_001)
    percents = (50.0, 90.0, 99.0, 99.9)
    spread = Spread(percents)
    for start in range(0, len(values), 999):
        spread.add(values[start : start + 999])
    spread.want()
    for start in range(0, len(values), 1234):
        spread.pick(values[start : start + 1234])
    spread.done()
    finite = values[np.isfinite(values)]
    assert len(spread) == len(values)
    assert spread.median() == np.median(values)
    found = spread.percentiles({"p50": 50.0, "p99.9": 99.9})
    ordered = np.sort(values)
    n = len(values)
    assert found["p50"] == ordered[int(np.ceil(0.5 * n)) - 1]  # nearest rank: ceil(q n)-th
    assert found["p99.9"] == ordered[int(np.ceil(0.999 * n)) - 1]
    assert found["max"] == np.inf and np.isfinite(finite.mean())
    even = Spread(percents)
    even.add(np.array([4.0, 1.0, 3.0, 2.0]))
    even.want()
    even.pick(np.array([4.0, 1.0, 3.0, 2.0]))
    even.done()
    assert even.median() == 2.5  # numpy: the mean of the two middle values
    assert even.percentiles({"p50": 50.0}) == {"p50": 2.0, "max": 4.0, "mean": 2.5}


def test_inverted_cdf_ranks_are_numpys() -> None:
    for n in (2, 3, 10, 999, 12_345):
        top = min(1 - 1 / n, 0.9999)
        quantiles = 1 - np.logspace(np.log10(0.5), np.log10(1 - top), 120)
        values = np.arange(n, dtype=float)
        expected = np.quantile(values, quantiles, method="inverted_cdf")
        np.testing.assert_array_equal(inverted_cdf_ranks(n, quantiles), expected)


def test_gate_samples_read_again_equal_samples_held_in_memory(tmp_path: Path) -> None:
    """max_latencies 1000 on runs of about 12,000 requests: the samples keep only counts and
    read the runs again; every percentile, the seeded subsample and the interval equal those
    of the same samples with every latency in memory (the gate before issue 16)."""
    runs = [
        load_run(make_run(tmp_path, "a", seed=1)),
        load_run(make_run(tmp_path, "b", seed=2, scale=1.2)),
        load_run(make_run(tmp_path, "c", seed=3)),
    ]
    settings = StatisticsSpec(max_latencies=1000, resamples=200)
    for phase in ("overall", "steady"):
        held = [phase_sample(run, phase, 5.0) for run in runs]
        read = [phase_sample(run, phase, 5.0, hold=1000) for run in runs]
        assert all(s.held for s in held) and not any(s.held for s in read)
        base_held, base_read = pool(held[:2]), pool(read[:2])
        assert base_read.n_latency == len(base_held.latency) > 1000
        for metric in [*LATENCY, "throughput_rps", "error_rate", "drop_rate"]:
            assert base_read.value(metric) == base_held.value(metric), metric
            assert read[2].value(metric) == held[2].value(metric), metric
        for metric in ("p50_ms", "p99_ms", "throughput_rps"):
            expected = change_interval(base_held, held[2], metric, settings, (1, 2))
            assert change_interval(base_read, read[2], metric, settings, (1, 2)) == expected


@pytest.mark.parametrize("lag_ms", [0.05, 4.0])
def test_generator_accuracy_read_in_two_passes_equals_the_frames(tmp_path: Path, lag_ms: float):
    """The run finalize's generator accuracy from requests.parquet in batches equals
    ``generator_accuracy`` of the whole frame: three load processes (one sends only in the
    warm-up), phases named b, warmup, a (neither sorted nor in plan order), drops (no lag),
    errors, slot waits on some requests, NaN lags: the same keys in the same order and the
    same numbers; lags of 4 ms against ~10 ms latencies give the warning, 0.05 ms none."""
    import pyarrow.parquet as pq

    from benchctl.analysis.accuracy import COLUMNS, SLOT_WAIT, accuracy_of_run, generator_accuracy
    from benchctl.load.records import to_table
    from benchctl.rundir import read_parquet

    rng = np.random.default_rng(5)
    path = tmp_path / "requests.parquet"
    writer = None
    for chunk in range(3):
        n = 4000
        error = rng.choice(["", "", "", "http_5xx", "dropped"], n)
        dropped = error == "dropped"
        lag = np.where(dropped | (rng.random(n) < 0.01), np.nan, rng.exponential(lag_ms, n))
        worker = rng.integers(0, 2, n)
        phase = np.where(rng.random(n) < 0.5, 0, np.where(rng.random(n) < 0.5, 1, 2))
        worker[phase == 1] = np.where(rng.random(int((phase == 1).sum())) < 0.3, 2, 0)
        columns = {
            "t_intended": np.sort(rng.uniform(chunk * 30.0, (chunk + 1) * 30.0, n)),
            "t_start": np.zeros(n),
            "latency_ms": np.where(dropped, np.nan, rng.exponential(10.0, n)),
            "service_ms": np.zeros(n),
            "send_lag_ms": lag,
            "status": np.where(error == "", 200, 0),
            "ok": error == "",
            "error": error.tolist(),
            "bytes_sent": np.zeros(n),
            "bytes_received": np.zeros(n),
            "worker": worker,
            "slot_wait_ms": np.where(rng.random(n) < 0.2, rng.exponential(1.0, n), None),
        }
        table = to_table(columns, ["b", "warmup", "a"], phase.astype(np.int8))
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    pacing = {"worker-0": {"wake": "timerfd", "cpu_percent": 10.0}, "worker-3": {"wake": "sleep"}}
    expected = generator_accuracy(read_parquet(path, [*COLUMNS, SLOT_WAIT]), pacing)
    found = accuracy_of_run(path, pacing)
    assert json.dumps(found) == json.dumps(expected)
    assert (found["warning"] is not None) == (lag_ms > 1)
    assert sorted(found["phases"]) == ["a", "b", "warmup"] and found["slot_wait"]["requests"]
    assert sorted(found["processes"]) == ["worker-0", "worker-1", "worker-3"]  # 2: warm-up only
