"""Records survive as Parquet parts and merge whole; summaries give known answers."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.summary import read_requests, summarize, windows
from benchctl.load.records import SCHEMA, PartWriter, RecordBuffer, merge_parts, to_table
from benchctl.run import generator_flags
from benchctl.targets.adapter import adapter_for


def buffer_with(latencies_ms: list[float], start: float = 0.0, gap: float = 0.01) -> RecordBuffer:
    buffer = RecordBuffer(worker=1)
    for i, latency in enumerate(latencies_ms):
        t = start + i * gap
        buffer.add(t, t + 0.001, t + latency / 1000.0, 200, "", 100, 50)
    return buffer


def test_parts_merge_into_one_file_with_every_row(tmp_path: Path):
    writer = PartWriter(tmp_path / "parts")
    for chunk in range(3):
        buffer = buffer_with([5.0] * 1000, start=chunk * 10.0)
        buffer.add_dropped(chunk * 10.0 + 9.99)
        writer.write(to_table(buffer.drain(), ["steady"], np.zeros(1001, dtype=np.int8)))
    (tmp_path / "parts" / "part-000099.tmp").write_bytes(b"half a file")  # a crash mid-write
    rows = merge_parts(tmp_path / "parts", tmp_path / "requests.parquet")
    table = pq.read_table(tmp_path / "requests.parquet")
    assert rows == table.num_rows == 3003
    assert table.schema.equals(SCHEMA)
    frame = table.to_pandas()
    assert (frame["error"] == "dropped").sum() == 3
    assert frame.loc[frame["error"] == "dropped", "latency_ms"].isna().all()
    assert frame["send_lag_ms"].dropna().round(6).eq(1.0).all()


def test_latency_counts_from_intended_time_not_send_time():
    buffer = RecordBuffer()
    buffer.add(
        t_intended=1.0, t_start=1.5, t_end=1.6, status=200, error="", bytes_sent=1, bytes_received=1
    )
    columns = buffer.drain()
    assert columns["latency_ms"][0] == pytest.approx(600.0)
    assert columns["service_ms"][0] == pytest.approx(100.0)
    assert columns["send_lag_ms"][0] == pytest.approx(500.0)


def test_service_time_starts_at_the_first_byte_written_when_known():
    """Intended at 1.0 s, the driver began at 1.5 s, the request's first byte went to the
    kernel at 1.52 s and the answer was in at 1.6 s: latency 600 ms (from intended), send
    lag 500 ms (to the driver's start), service 80 ms (first byte written to answer read);
    the 20 ms of building the request are in the latency only."""
    buffer = RecordBuffer()
    buffer.add(1.0, 1.5, 1.6, 200, "", 1, 1, t_sent=1.52)
    columns = buffer.drain()
    assert columns["latency_ms"][0] == pytest.approx(600.0)
    assert columns["send_lag_ms"][0] == pytest.approx(500.0)
    assert columns["service_ms"][0] == pytest.approx(80.0)


def known_frame() -> pd.DataFrame:
    # 1..1000 ms in the measured phase, ten errors, five dropped; warm-up rows at 10 s.
    buffer = buffer_with(list(np.arange(1, 1001, dtype=float)), start=10.0, gap=0.09)
    for i in range(10):
        buffer.add(20 + i, 20 + i, 20 + i + 0.002, 503, "http_5xx", 100, 0)
    for i in range(5):
        buffer.add_dropped(30 + i)
    warm = buffer_with([9999.0] * 50, start=0.0, gap=0.1)
    tables = []
    for b, phase in ((buffer, 1), (warm, 0)):
        cols = b.drain()
        tables.append(
            to_table(
                cols, ["warmup", "steady"], np.full(len(cols["t_intended"]), phase, dtype=np.int8)
            )
        )
    return pd.concat([t.to_pandas() for t in tables], ignore_index=True)


def test_summary_known_percentiles_counts_and_throughput():
    phases = [
        {"name": "warmup", "start": 0, "end": 10},
        {"name": "steady", "start": 10, "end": 110},
    ]
    summary = summarize(known_frame(), phases)
    overall = summary["overall"]
    assert (overall["requests"], overall["ok"], overall["errors"], overall["dropped"]) == (
        1015,
        1000,
        10,
        5,
    )
    # Nearest rank over latencies 1..1000 ms: p50 is the 500th value, p99 the 990th.
    assert overall["latency_ms"]["p50"] == pytest.approx(500.0)
    assert overall["latency_ms"]["p99"] == pytest.approx(990.0)
    assert overall["latency_ms"]["max"] == pytest.approx(1000.0)
    assert overall["throughput_rps"] == pytest.approx(1000 / 100)
    assert overall["error_rate"] == pytest.approx(10 / 1010)
    assert summary["phases"]["warmup"]["latency_ms"]["p50"] == pytest.approx(9999.0)
    assert summary["errors"] == {"http_5xx": 10, "dropped": 5}


def test_interrupted_summary_uses_time_actually_run():
    phases = [{"name": "steady", "start": 0, "end": 100}]
    frame = known_frame()
    frame = frame[frame["phase"] == "steady"].assign(phase="steady")
    assert summarize(frame, phases, end=50.0)["overall"]["seconds"] == 50.0


def test_windows_offered_and_achieved_rates():
    frame = known_frame()
    table = windows(frame[frame["phase"] == "steady"], width=10.0)
    first = table.iloc[0]
    assert first["t"] == 10.0
    assert first["offered_rps"] == pytest.approx(112 / 10)  # 0.09 s gaps: 112 in [10, 20)


def test_generator_flag_needs_five_consecutive_seconds():
    busy = [(float(t), "engine", 95.0) for t in range(4)] + [(4.0, "engine", 10.0)]
    assert not generator_flags(busy)["saturated"]
    busy += [(float(t), "worker-1", 90.0) for t in range(5, 11)]
    flags = generator_flags(busy)
    assert flags["saturated"] and flags["saturated_seconds"] == 6


@pytest.mark.parametrize(
    ("protocol", "body", "rows", "expected"),
    [
        ("rest-v2", b'{"outputs":[{"name":"o","shape":[2,3],"data":[1,2,3,4,5,6]}]}', 2, ""),
        ("rest-v2", b'{"outputs":[{"name":"o","shape":[2,3],"data":[1,2,3]}]}', 2, "bad_response"),
        ("rest-v2", b'{"outputs":[{"name":"o","shape":[1,3],"data":[1,2,3]}]}', 2, "bad_response"),
        ("rest-v2", b"<html>oops</html>", 1, "bad_response"),
        ("rest-v1", b'{"predictions":[[0.1,0.9],[0.5,0.5]]}', 2, ""),
        ("rest-v1", b'{"predictions":[]}', 2, "bad_response"),
        ("grpc-v2", b"\xff\xff", 1, "bad_response"),
    ],
)
def test_response_validation(protocol, body, rows, expected):
    assert adapter_for(protocol).check_response(body, rows) == expected


def test_read_requests_round_trip(tmp_path: Path):
    buffer = buffer_with([1.0, 2.0])
    pq.write_table(
        to_table(buffer.drain(), ["a"], np.zeros(2, dtype=np.int8)), tmp_path / "r.parquet"
    )
    assert read_requests(tmp_path / "r.parquet")["latency_ms"].tolist() == pytest.approx([1.0, 2.0])


def test_binary_tensor_body_is_json_header_then_little_endian_bytes():
    from benchctl.targets.payload import Tensor
    from benchctl.targets.v2 import binary_body

    data = np.arange(6, dtype=">f4").reshape(2, 3)  # big-endian in memory on purpose
    body, headers = binary_body([Tensor("x", "FP32", data)], {"Content-Type": "x"})
    size = int(headers["Inference-Header-Content-Length"])
    header = json.loads(body[:size])
    assert header["inputs"][0]["parameters"] == {"binary_data_size": 24}
    assert header["inputs"][0]["shape"] == [2, 3]
    assert np.frombuffer(body[size:], dtype="<f4").tolist() == [0, 1, 2, 3, 4, 5]
    assert headers["Content-Type"] == "application/octet-stream"


def test_offered_rate_is_over_the_plan_and_throughput_over_the_completions(tmp_path: Path):
    """100 arrivals at 10 req/s over a 10 s phase (0.0 .. 9.9 s), each taking 2 s: the last
    completes at 11.9 s. Offered: 100 / 10 s = 10 req/s (arrivals happen only in the plan);
    throughput: 100 / 11.9 s = 8.40 req/s (completions run 1.9 s past it). Both the
    in-memory and the batched file summary agree (case 03 saw offered 8.4 for 10 req/s)."""
    from benchctl.analysis.summary_file import summarize_file

    buffer = buffer_with([2000.0] * 100, start=0.0, gap=0.1)
    table = to_table(buffer.drain(), ["steady"], np.zeros(100, dtype=np.int8))
    phases = [{"name": "steady", "start": 0.0, "end": 10.0}]
    pq.write_table(table, tmp_path / "requests.parquet")
    for overall in (
        summarize(table.to_pandas(), phases)["overall"],
        summarize_file(tmp_path / "requests.parquet", phases)["overall"],
    ):
        assert overall["offered_rps"] == pytest.approx(10.0)
        assert overall["seconds"] == pytest.approx(11.9)
        assert overall["throughput_rps"] == pytest.approx(100 / 11.9)
