"""Analysis windows at scale: in flight in O(rows + windows), and the batched file reader
giving the same windows as the in-memory frame (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from benchmarks.synthetic_run import known_capacity, write_step_run

from benchctl.analysis.request_reader import iter_batches
from benchctl.analysis.summary import read_requests
from benchctl.analysis.windows import (
    COLUMNS,
    InFlight,
    _mean_in_flight,
    request_windows,
    requests_file_windows,
)
from benchctl.load.records import SCHEMA, to_table
from tests.unit.run_files import request_columns


def dense_in_flight(done: np.ndarray, intended: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The former method: a rows × windows matrix of clipped overlaps, summed per window."""
    lo, hi = edges[:-1], edges[1:]
    overlap = np.clip(np.minimum(done[:, None], hi) - np.maximum(intended[:, None], lo), 0, None)
    return overlap.sum(axis=0) / (edges[1] - edges[0])


def test_in_flight_of_four_requests_by_hand():
    """Windows [0,1) [1,2) [2,3). A: 0.5-2.5 s gives 0.5, 1, 0.5; B: 1.2-1.7 gives 0.5 to
    window 1; C: 2.0-3.0 gives 1 to window 2; D: 0.0-0.25 gives 0.25 to window 0.
    Mean in flight = seconds outstanding / 1 s = [0.75, 1.5, 1.5]."""
    intended = np.array([0.5, 1.2, 2.0, 0.0])
    done = np.array([2.5, 1.7, 3.0, 0.25])
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    assert _mean_in_flight(done, intended, edges) == pytest.approx([0.75, 1.5, 1.5])


def test_in_flight_clips_to_the_edges_and_skips_what_never_ran():
    """A request 2.5-9 s counts 0.5 s in [2,3) only (the rest is past the last edge); one
    without an end (NaN) and one of zero length count nothing: [0, 0, 0.5]."""
    intended = np.array([2.5, 1.0, 1.5])
    done = np.array([9.0, np.nan, 1.5])
    assert _mean_in_flight(done, intended, np.array([0.0, 1.0, 2.0, 3.0])) == pytest.approx(
        [0.0, 0.0, 0.5]
    )


def test_in_flight_equals_the_dense_method_on_random_requests_in_batches():
    rng = np.random.default_rng(7)
    intended = rng.uniform(3.0, 600.0, 20_000)
    done = intended + rng.exponential(4.0, len(intended))  # many span several windows
    edges = np.arange(0.0, 640.0, 5.0)
    accumulator = InFlight(edges)
    for part in np.array_split(np.arange(len(intended)), 7):  # batch by batch
        accumulator.add(intended[part], done[part])
    expected = dense_in_flight(done, intended, edges)
    assert accumulator.mean() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert expected.max() > 1  # the set really overlaps windows


def _mixed_run(path: Path) -> Path:
    """requests.parquet in 4 row groups with warm-up, errors and dropped requests."""
    rng = np.random.default_rng(11)
    names = ["warmup", "a", "b"]
    writer = pq.ParquetWriter(path, SCHEMA)
    for chunk in range(4):
        n = 3000
        t = np.sort(rng.uniform(chunk * 30.0, (chunk + 1) * 30.0, n))
        latency = rng.exponential(40.0, n)
        error = rng.choice(["", "", "", "http_5xx", "dropped"], n)
        columns = request_columns(t, np.where(error == "dropped", np.nan, latency), error)
        phase = np.where(t < 10, 0, np.where(t < 60, 1, 2)).astype(np.int8)
        writer.write_table(to_table(columns, names, phase))
    writer.close()
    return path


def test_windows_read_in_batches_equal_the_in_memory_windows(tmp_path: Path):
    path = _mixed_run(tmp_path / "requests.parquet")
    assert pq.ParquetFile(path).metadata.num_row_groups == 4
    frame = read_requests(path, COLUMNS)
    expected = request_windows(frame, 5.0, (0.5, 0.99))
    found = requests_file_windows(path, 5.0, (0.5, 0.99))
    assert list(found.columns) == list(expected.columns)
    for column in expected.columns:
        np.testing.assert_allclose(found[column], expected[column], rtol=1e-12, equal_nan=True)
    # Rebuilt by hand from the frame: window 3 (15-20 s) and its counts.
    measured = frame[frame["phase"] != "warmup"]
    start = measured["t_intended"].min() // 5 * 5
    sent = measured[measured["error"] != "dropped"]
    done = sent["t_intended"] + sent["latency_ms"] / 1000
    ok = sent[sent["ok"] & (done >= start + 15) & (done < start + 20)]
    row = found.iloc[3]
    assert row["throughput_rps"] * 5 == len(ok)
    values = np.sort(ok["latency_ms"].to_numpy())
    assert row["p99"] == values[int(np.ceil(0.99 * len(values))) - 1]  # nearest rank
    offered = measured[
        (measured["t_intended"] >= start + 15) & (measured["t_intended"] < start + 20)
    ]
    assert row["offered_rps"] * 5 == len(offered)
    assert row["dropped"] == int((offered["error"] == "dropped").sum())


def test_batches_read_only_the_columns_asked_and_flag_values(tmp_path: Path):
    path = _mixed_run(tmp_path / "requests.parquet")
    batches = list(iter_batches(path, ["ok"], equals={"error": "dropped"}, rows=5000))
    sizes = [len(b["ok"]) for b in batches]
    assert sum(sizes) == 12_000 and max(sizes) <= 5000
    assert set(batches[0]) == {"ok", "error==dropped"}
    table = pq.read_table(path, columns=["error"]).to_pandas()
    flags = np.concatenate([b["error==dropped"] for b in batches])
    assert np.array_equal(flags, (table["error"] == "dropped").to_numpy())


def test_synthetic_step_run_has_the_schema_and_its_levels(tmp_path: Path):
    """The benchmark's generator: every column, row groups, one phase per level; rates
    near the planned ones; its known capacity from P(R > T) = exp(-(mu - lambda) T)."""
    run = write_step_run(tmp_path / "run", rows=20_000, chunk_rows=4096, seed=5)
    parquet = pq.ParquetFile(run / "requests.parquet")
    assert parquet.schema_arrow.names == SCHEMA.names
    assert parquet.metadata.num_row_groups > 4
    frame = parquet.read().to_pandas()
    info = json.loads((run / "run.json").read_text())
    step = info["scenario"]["spec"]["step_duration"]
    counts = frame.groupby("phase", observed=True).size()
    first = info["plan"]["phases"][1]
    assert counts[first["name"]] / (first["end"] - first["start"]) == pytest.approx(250, rel=0.15)
    last = info["plan"]["phases"][-1]
    assert counts[last["name"]] / step == pytest.approx(950, rel=0.1)
    assert (frame["latency_ms"] >= frame["send_lag_ms"]).all()
    # mu=1000, p99 <= 20 ms: 1000 + ln(0.01)/0.020 = 1000 - 230.26 = 769.74 req/s.
    assert known_capacity(1000.0, 0.99, 20.0) == pytest.approx(769.74, abs=0.01)


def _same(found, expected, path="") -> None:
    """Equal documents; floats to 1e-12 relative (sums in another order)."""
    if isinstance(expected, dict):
        assert set(found) == set(expected), path
        for key in expected:
            _same(found[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, float):
        assert found == pytest.approx(expected, rel=1e-12, nan_ok=True), path
    else:
        assert found == expected, path


@pytest.mark.parametrize("end", [None, 70.0])
def test_summary_read_in_batches_equals_the_in_memory_summary(tmp_path: Path, end):
    """Phases as planned (warm-up, a, b) plus one the plan lacks; errors, dropped requests
    (null latency and lag); completed (overall extended to the last completion) and
    interrupted at 70 s."""
    from benchctl.analysis.summary import summarize
    from benchctl.analysis.summary_file import summarize_file

    path = _mixed_run(tmp_path / "requests.parquet")
    phases = [
        {"name": "warmup", "start": 0.0, "end": 10.0},
        {"name": "a", "start": 10.0, "end": 60.0},
        {"name": "b", "start": 60.0, "end": 100.0},  # 'b' runs on to 120 s: past the plan
    ]
    expected = summarize(read_requests(path), phases, end=end)
    found = summarize_file(path, phases, end=end)
    _same(found, expected)
    assert found["overall"]["dropped"] > 0 and found["errors"]["http_5xx"] > 0


def test_report_windows_read_in_batches_equal_the_in_memory_windows(tmp_path: Path):
    from benchctl.analysis.summary import windows
    from benchctl.analysis.summary_file import file_windows

    path = _mixed_run(tmp_path / "requests.parquet")
    expected = windows(read_requests(path), 7.0)
    found = file_windows(path, 7.0)
    assert list(found.columns) == list(expected.columns)
    for column in expected.columns:
        np.testing.assert_allclose(found[column], expected[column], rtol=1e-12, equal_nan=True)


def test_level_points_read_in_batches_equal_the_in_memory_ones(tmp_path: Path):
    """analyze's per-level points (successes per second, nearest-rank p99) from the file in
    batches are those of the frame: same levels, same numbers."""
    from benchctl.analysis.points import file_level_points, level_points
    from tests.unit.test_analyze import mm1_step_run

    run = mm1_step_run(tmp_path)
    phases = json.loads((run / "run.json").read_text())["plan"]["phases"]
    path = run / "requests.parquet"
    expected = level_points(read_requests(path), phases, 0.99)
    found = file_level_points(path, phases, 0.99)
    assert found.labels == expected.labels and len(found) == 5
    np.testing.assert_array_equal(found.throughput, expected.throughput)
    np.testing.assert_array_equal(found.latency_ms, expected.latency_ms)


def test_window_quantiles_equal_grouped_nearest_rank():
    """Per-bin nearest rank from one stable grouping equals percentiles.grouped_quantile
    (a (bin, value) sort), bins in any order, some empty."""
    from benchctl.analysis.percentiles import grouped_quantile
    from benchctl.analysis.windows import window_quantiles

    rng = np.random.default_rng(3)
    values = rng.lognormal(2.0, 1.0, 50_000)
    bins = rng.integers(0, 40, len(values)) * 2  # odd bins stay empty
    found = window_quantiles(values, bins, 81, (0.5, 0.99, 0.999))
    for q, column in zip((0.5, 0.99, 0.999), found, strict=True):
        expected = grouped_quantile(values, bins, q).reindex(range(81)).to_numpy()
        np.testing.assert_array_equal(column, expected)
    assert np.isnan(found[0][1::2]).all()


def test_requests_file_gives_rows_and_last_intended_time(tmp_path: Path):
    from benchctl.analysis.request_reader import requests_file

    path = _mixed_run(tmp_path / "requests.parquet")
    handle = requests_file(path)
    frame = read_requests(path, ["t_intended"])
    assert handle.rows == len(frame) == 12_000 and not handle.empty
    assert handle.t_max == frame["t_intended"].max()


@pytest.mark.parametrize(
    ("content", "note"),
    [
        (b"PAR1 not parquet", "requests.parquet: damaged: not a readable Parquet file"),
        (None, "requests.parquet holds no requests, so there are no figures."),
    ],
)
def test_report_of_unreadable_or_empty_requests_says_so(tmp_path: Path, content, note):
    """The report reads requests.parquet in batches now; a damaged or empty file is still a
    note on the page (and no figures), not a crash."""
    from benchctl.reports.html import write_report
    from tests.unit.test_analyze import mm1_step_run

    run = mm1_step_run(tmp_path)
    path = run / "requests.parquet"
    if content is None:
        pq.write_table(SCHEMA.empty_table(), path)
    else:
        path.write_bytes(content)
    page = write_report(run).read_text()
    assert note in page


def test_windows_with_the_span_of_the_level_pass_equal_the_two_pass_windows(tmp_path: Path):
    """analyze reads the measured span (earliest intended send, latest completion after the
    warm-up) in the pass that collects the level latencies, and skips the windows' own first
    pass: same span as the frame gives by hand, same window table, same latencies per phase."""
    from benchctl.analysis.summary_file import phase_latencies, phase_latencies_and_span

    path = _mixed_run(tmp_path / "requests.parquet")
    latencies, span = phase_latencies_and_span(path)
    frame = read_requests(path, COLUMNS)
    measured = frame[frame["phase"] != "warmup"]
    done = measured["t_intended"] + measured["latency_ms"] / 1000.0
    assert span == (measured["t_intended"].min(), done.max())
    expected = requests_file_windows(path, 5.0, (0.5, 0.99))
    found = requests_file_windows(path, 5.0, (0.5, 0.99), span)
    assert found.equals(expected)
    alone = phase_latencies(path)
    assert latencies.keys() == alone.keys() == {"a", "b"}
    for name, values in alone.items():
        assert np.array_equal(latencies[name], values)
