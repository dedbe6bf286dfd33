"""An interrupted run's last analysis window: its counts over the seconds the run measured
in it, not over the full window width (``windows.measured_widths``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.request_pass import levels_and_windows
from benchctl.analysis.summary import read_requests
from benchctl.analysis.windows import (
    COLUMNS,
    measured_widths,
    request_windows,
    requests_file_windows,
)
from benchctl.load.records import to_table
from tests.unit.run_files import request_columns

SEND_S = 0.125  # 8 req/s; every time below is a multiple of 1/8 s, exact in binary


def _stopped_run(path: Path, sends: int) -> Path:
    """requests.parquet of a run planned at 8 req/s for 20 s and stopped after ``sends``
    requests: request k sent at k/8 s, answered in 125 ms (done at (k + 1)/8 s)."""
    t = SEND_S * np.arange(sends)
    columns = request_columns(t, np.full(sends, 125.0), np.array([""] * sends))
    pq.write_table(to_table(columns, ["steady"], np.zeros(sends, np.int8)), path)
    return path


def test_an_interrupted_runs_last_window_counts_over_its_measured_seconds(tmp_path: Path):
    """104 requests: sent at 0 .. 12.875 s, the last answered at 104/8 = 13.0 s; 5 s
    windows from 0: [0,5) [5,10) [10,15), the last measured 10 -> 13.0 = 3.0 s.

    [10,15): sends k = 80..103: 24, over 3.0 s = 8.0 req/s offered (over 5 s: 4.8);
    completions (k + 1)/8 in [10, 15): k + 1 = 80..104: 25, over 3.0 s = 8.333 req/s
    (over 5 s: 5.0); in flight: the 24 requests sent in it, 0.125 s each, 3.0 s of
    requests outstanding / 3.0 s = 1.0 (Little's law: 8 req/s x 0.125 s = 1.0).
    [5,10): 40 sends and 40 completions (k + 1 = 40..79) over the full 5 s: 8.0 req/s.
    """
    path = _stopped_run(tmp_path / "requests.parquet", 104)
    table = requests_file_windows(path, 5.0, (0.5, 0.99))
    assert table["t"].tolist() == [0.0, 5.0, 10.0]
    assert table["seconds"].tolist() == [5.0, 5.0, 3.0]
    last = table.iloc[2]
    assert last["offered_rps"] == pytest.approx(24 / 3.0)  # 8.0, the rate it was offered
    assert last["throughput_rps"] == pytest.approx(25 / 3.0)
    assert last["in_flight"] == pytest.approx(1.0)
    assert last["littles_law_in_flight"] == pytest.approx(25 / 3.0 * 0.125)
    assert table.iloc[1]["offered_rps"] == 8.0 and table.iloc[1]["throughput_rps"] == 8.0
    # the same table from a frame in memory and from analyze's one pass over the file
    frame = request_windows(read_requests(path, COLUMNS), 5.0, (0.5, 0.99))
    _, one_pass = levels_and_windows(path, 5.0, (0.5, 0.99))
    for other in (frame, one_pass):
        assert list(other.columns) == list(table.columns)
        np.testing.assert_allclose(other.to_numpy(float), table.to_numpy(float), equal_nan=True)


def test_a_last_window_measured_under_half_its_width_is_left_out(tmp_path: Path):
    """84 requests: the last answered at 84/8 = 10.5 s, 0.5 s into [10,15): 4 completions
    (k + 1 = 80..83) over 0.5 s would read 8.0 req/s from 4 requests, over 5 s 0.8 req/s;
    neither is a window's rate, so the table ends with [5,10) (8.0 req/s)."""
    path = _stopped_run(tmp_path / "requests.parquet", 84)
    table = requests_file_windows(path, 5.0, (0.5,))
    assert table["t"].tolist() == [0.0, 5.0]
    assert table["throughput_rps"].tolist()[-1] == 8.0


def test_measured_widths_cut_the_windows_to_the_span():
    """Edges 0, 5, 10, 15; measured from 2.0 s (the first send after a warm-up) to 12.5 s:
    3.0, 5.0 and 2.5 s. Without a finite span, the full widths."""
    edges = np.array([0.0, 5.0, 10.0, 15.0])
    assert measured_widths(edges, (2.0, 12.5)).tolist() == [3.0, 5.0, 2.5]
    assert measured_widths(edges, None).tolist() == [5.0, 5.0, 5.0]
    assert measured_widths(edges, (2.0, np.inf)).tolist() == [5.0, 5.0, 5.0]
