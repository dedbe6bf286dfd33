"""analyze's one pass over requests.parquet (analysis/request_pass.py, issue 16): the level
latencies and the windows counted together over edges guessed from the file's statistics
are the ones the two passes give (``summary_file.phase_latencies`` and
``windows.requests_file_windows``), value for value, also where the guess is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.request_pass import levels_and_windows
from benchctl.analysis.request_reader import span_guess
from benchctl.analysis.summary_file import phase_latencies
from benchctl.analysis.windows import _edges, _Sums, requests_file_windows
from benchctl.load.records import SCHEMA, to_table
from tests.unit.run_files import request_columns

NAMES = ["warmup", "a", "b"]


def _write(path: Path, groups: list[dict[str, np.ndarray]], **options) -> Path:
    """requests.parquet with one row group per dict (t_intended s, latency_ms, error)."""
    writer = pq.ParquetWriter(path, SCHEMA, **options)
    for group in groups:
        columns = request_columns(group["t"], group["latency"], group["error"])
        writer.write_table(to_table(columns, NAMES, group["phase"]))
    writer.close()
    return path


def _random_groups(seed: int, *, errors: bool) -> list[dict[str, np.ndarray]]:
    """Four row groups of 3,000 requests over 0-120 s: warm-up before 10 s, phase a to
    60 s, b after; with ``errors``, 5xx and dropped ones (no latency)."""
    rng = np.random.default_rng(seed)
    groups = []
    for chunk in range(4):
        n = 3000
        t = np.sort(rng.uniform(chunk * 30.0, (chunk + 1) * 30.0, n))
        latency = rng.exponential(40.0, n)
        kinds = ["", "", "", "http_5xx", "dropped"] if errors else [""]
        error = rng.choice(kinds, n)
        groups.append(
            {
                "t": t,
                "latency": np.where(error == "dropped", np.nan, latency),
                "error": error,
                "phase": np.where(t < 10, 0, np.where(t < 60, 1, 2)).astype(np.int8),
            }
        )
    return groups


def _two_passes(path: Path, width: float) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    return phase_latencies(path), requests_file_windows(path, width, (0.5, 0.99))


def _assert_same(found, expected) -> None:
    """The same latencies per phase (in the same order) and the same window table, bit
    for bit (NaN where NaN)."""
    (levels, table), (levels_0, table_0) = found, expected
    assert list(levels) == list(levels_0)
    for name in levels_0:  # pieces, in file order
        np.testing.assert_array_equal(np.concatenate(levels[name]), levels_0[name])
    pd.testing.assert_frame_equal(table, table_0, check_exact=True)


@pytest.mark.parametrize("errors", [False, True])
@pytest.mark.parametrize("width", [5.0, 7.0, 1.0])
def test_one_pass_equals_the_two_passes(tmp_path: Path, errors: bool, width: float):
    path = _write(tmp_path / "requests.parquet", _random_groups(11, errors=errors))
    expected = _two_passes(path, width)
    assert len(expected[1]) > 10
    _assert_same(levels_and_windows(path, width, (0.5, 0.99)), expected)


def test_the_guess_is_the_earliest_measured_send_and_a_bound_of_the_last_completion(
    tmp_path: Path,
):
    """Row group 0 holds warm-up rows (before 10 s) and measured ones: its statistics'
    minimum is a warm-up send, so the earliest measured send is read from its rows; the
    bound is the latest send plus the longest latency."""
    groups = _random_groups(5, errors=True)
    path = _write(tmp_path / "requests.parquet", groups)
    t = np.concatenate([g["t"] for g in groups])
    latency = np.concatenate([g["latency"] for g in groups])
    measured = np.concatenate([g["phase"] for g in groups]) != 0
    start, bound = span_guess(path, "warmup")
    assert start == t[measured].min() and start >= 10.0 > t.min()
    assert bound == t.max() + np.nanmax(latency) / 1000.0
    assert bound >= np.nanmax(t + latency / 1000.0)


def test_no_statistics_means_two_passes_and_the_same_numbers(tmp_path: Path):
    path = _write(
        tmp_path / "requests.parquet", _random_groups(2, errors=True), write_statistics=False
    )
    assert span_guess(path, "warmup") is None
    _assert_same(levels_and_windows(path, 5.0, (0.5, 0.99)), _two_passes(path, 5.0))


@pytest.mark.parametrize("last", [9.9, None])
def test_last_edge_and_requests_without_latency(tmp_path: Path, last: float | None):
    """Sends every 0.5 s from 0 to 9 s, 100 ms each, but the one at 1 s takes 3 s (so the
    statistics' bound, 9 s + 3 s = 12 s, guesses a third window of 5 s); two 5xx without a
    latency at 9.5 and 9.7 s (sent: they count in the last window). ``last`` 9.9: one more
    send of 100 ms ending at 10.0 s, on the last edge (edges 0, 5, 10: it counts in the
    last window, and in the guessed third one: the windows get their own pass). Without
    it the latest completion is 9.1 s (edges 0, 5, 10 too) and the 5xx move from the
    guessed third window to the second. Either way the two passes' table: window 0 holds
    the 10 sends before 5 s (the 1-s one ends at 4 s), window 1 the 9 sends from 5.0 to
    9.0 s, plus the 9.9-s one. Window 1 is measured to the last completion (10.0 s) or,
    without it, to the last send (the 5xx at 9.7 s, after the last completion at 9.1 s):
    5.0 or 4.7 s, its rates over those seconds (windows.measured_widths)."""
    t = np.append(np.arange(0.0, 9.5, 0.5), [9.5, 9.7])
    latency = np.append(np.full(19, 100.0), [np.nan, np.nan])
    latency[2] = 3000.0
    error = np.array([""] * 19 + ["http_5xx", "http_5xx"])
    if last is not None:
        t, latency, error = np.append(t, last), np.append(latency, 100.0), np.append(error, "")
    groups = [{"t": t, "latency": latency, "error": error, "phase": np.ones(len(t), np.int8)}]
    path = _write(tmp_path / "requests.parquet", groups)
    found = levels_and_windows(path, 5.0, (0.5, 0.99))
    _assert_same(found, _two_passes(path, 5.0))
    table = found[1]
    assert list(table["t"]) == [0.0, 5.0]
    assert list(table["seconds"]) == pytest.approx([5.0, 4.7 if last is None else 5.0])
    successes = table["throughput_rps"] * table["seconds"]
    assert list(successes) == pytest.approx([10.0, 9.0 + (last is not None)])
    assert list(table["errors"]) == [0, 2]


def test_trimmed_sums_move_only_the_requests_without_latency():
    """Counted over edges 0..20 s (4 windows of 5 s) then trimmed to 0..10 s: a success at
    1 s (0.2 s long) and one 5xx without a latency at 2 s; the 5xx sat in the last guessed
    window (3) and moves to the last real one (1). A request counted in window 2 cannot
    move: no trimmed sums."""
    sums = _Sums(_edges(0.0, 20.0, 5.0))
    assert len(sums.edges) == 5
    sums.add(
        np.array([1.0, 2.0]),
        np.array([200.0, np.nan]),
        np.array([True, False]),
        np.array([False, False]),
    )
    real = sums.trimmed(_edges(0.0, 10.0, 5.0))
    assert real is not None
    assert list(real.sent) == [1, 1] and list(real.ok) == [1, 0]
    assert list(real.ok_latency) == [200.0, 0.0]
    sums.add(np.array([11.0]), np.array([1.0]), np.array([True]), np.array([False]))
    assert sums.trimmed(_edges(0.0, 10.0, 5.0)) is None


def test_window_index_is_numpys_search_sorted_or_not():
    """Times on the edges, between them, before the first and after the last, repeated;
    sorted (the edges searched among the times) and shuffled (numpy's search): both give
    ``searchsorted(edges, t, "right") - 1``: e.g. 5.0 is in window 1 of edges 0, 5, 10."""
    from benchctl.analysis.windows import window_index

    edges = _edges(0.0, 10.0, 5.0)
    assert list(window_index(edges, np.array([-1.0, 0.0, 4.9, 5.0, 5.0, 10.0, 11.0]))) == [
        -1,
        0,
        0,
        1,
        1,
        2,
        2,
    ]
    rng = np.random.default_rng(4)
    edges = _edges(3.0, 600.0, 7.0)
    times = np.sort(np.concatenate([rng.uniform(-5, 620, 5000), edges[::3], edges[::3]]))
    expected = np.searchsorted(edges, times, side="right") - 1
    np.testing.assert_array_equal(window_index(edges, times), expected)
    shuffled = rng.permutation(times)
    np.testing.assert_array_equal(
        window_index(edges, shuffled), np.searchsorted(edges, shuffled, side="right") - 1
    )


@pytest.mark.parametrize("spread", [0.05, 3.0, 20.0])
def test_completion_windows_are_numpys_search(spread: float):
    """Completions counted per window (sent, successes, their sums of latencies, the
    successes' median) equal a bincount of numpy's ``searchsorted(edges, done, "right") - 1``
    clipped to the windows, whether latencies cross no edge, often one (3 s of 5-s windows)
    or several (20 s: searched); one request in ten a 5xx with a latency."""
    rng = np.random.default_rng(9)
    edges = _edges(0.0, 400.0, 5.0)
    n = len(edges) - 1
    intended = np.sort(rng.uniform(0.0, 380.0, 20_000))
    latency = rng.exponential(spread * 1000.0, len(intended))
    ok = rng.uniform(size=len(intended)) > 0.1  # 5xx with a latency too
    sums = _Sums(edges)
    sums.add(intended, latency, ok, np.zeros(len(intended), bool))
    done = intended + latency / 1000.0
    bins = np.clip(np.searchsorted(edges, done, side="right") - 1, 0, n - 1)
    np.testing.assert_array_equal(sums.sent, np.bincount(bins, minlength=n))
    np.testing.assert_array_equal(
        sums.sent_latency, np.bincount(bins, weights=latency, minlength=n)
    )
    np.testing.assert_array_equal(sums.ok, np.bincount(bins[ok], minlength=n))
    np.testing.assert_array_equal(
        sums.ok_latency, np.bincount(bins[ok], weights=latency[ok], minlength=n)
    )
    found = sums.latencies.quantiles((0.5,))[0]
    for i in np.flatnonzero(np.bincount(bins[ok], minlength=n))[:5]:
        values = np.sort(latency[ok & (bins == i)])
        assert found[i] == values[int(np.ceil(0.5 * len(values))) - 1]  # nearest rank


@pytest.mark.parametrize("percent", [50.0, 99.0, 99.9, 100.0])
def test_percentile_of_pieces_is_the_percentile_of_their_concatenation(percent: float):
    """Nearest rank over pieces (a band around the rank from a sample, else joined) is
    ``percentile`` of the joined values: 300,000 lognormal latencies in pieces of uneven
    sizes, with ties (rounded to 0.01 ms) and a few NaN; and pieces whose every 64th value
    is 0 while the rest are 1 (the sample's band misses the rank: joined)."""
    from benchctl.analysis.percentiles import percentile
    from benchctl.analysis.points import percentile_of

    rng = np.random.default_rng(12)
    values = np.round(rng.lognormal(1.0, 0.8, 300_000), 2)
    values[rng.integers(0, len(values), 30)] = np.nan
    pieces = np.split(values, [5, 70_000, 70_001, 200_000])
    # (p100 with NaN present is NaN, as a sort puts NaN last: equal as NaN)
    np.testing.assert_equal(percentile_of(pieces, percent), percentile(values, percent))
    skewed = np.ones(128_000)
    skewed[::64] = 0.0
    assert percentile_of(np.split(skewed, 2), 50.0) == 1.0 == percentile(skewed, 50.0)
    small = [np.array([3.0, 1.0]), np.array([2.0])]  # nearest rank: ceil(0.5 * 3) = 2nd
    assert percentile_of(small, 50.0) == 2.0


@pytest.mark.parametrize("statistics", [True, False])
def test_distinct_values_of_a_column_of_nulls(tmp_path: Path, statistics: bool):
    """A run that carried no model: the ``model`` column is all null, known from the
    statistics without reading it (or read, without them): no value either way; ``phase``
    read as before."""
    from benchctl.analysis.request_reader import distinct_values

    path = _write(
        tmp_path / "requests.parquet",
        _random_groups(1, errors=False),
        write_statistics=statistics,
    )
    assert distinct_values(path, "model") == set()
    assert distinct_values(path, "phase") == {"warmup", "a", "b"}
