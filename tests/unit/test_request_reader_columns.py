"""Reading dictionary columns of requests.parquet cheaply (analysis/request_reader.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchctl.analysis.request_reader import as_numpy, distinct_values


def _write(path: Path, models: list[str | None]) -> Path:
    table = pa.table(
        {
            "t_intended": pa.array(np.arange(len(models), dtype=float)),
            "model": pa.array(models, pa.string()).dictionary_encode(),
        }
    )
    pq.write_table(table, path, row_group_size=2)  # several batches' dictionaries
    return path


def test_distinct_values_leave_out_nulls(tmp_path: Path) -> None:
    """Rows big, None, small, big, None: the distinct non-null models are {big, small};
    a column of nulls only has none."""
    path = _write(tmp_path / "a.parquet", ["big", None, "small", "big", None])
    assert distinct_values(path, "model") == {"big", "small"}
    empty = _write(tmp_path / "b.parquet", [None, None, None])
    assert distinct_values(empty, "model") == set()


def test_as_numpy_of_a_dictionary_column_keeps_values_and_nulls() -> None:
    array = pa.array(["warmup", None, "step1", "warmup"], pa.string()).dictionary_encode()
    assert as_numpy(array).tolist() == ["warmup", None, "step1", "warmup"]
