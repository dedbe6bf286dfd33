"""Payload pools: popularity laws, the per-request chooser, pooled inputs from files, the
reference model's answer cache, and the model/input_id columns of requests.parquet."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from benchctl.config import PayloadSpec, TargetSpec
from benchctl.errors import InputError
from benchctl.load.choice import RequestChooser
from benchctl.load.records import SCHEMA, RecordBuffer, to_table
from benchctl.targets.adapter import adapter_for
from benchctl.targets.pool import choices_json, pool_payloads, popularity
from benchctl.targets.refmodel import RefModel, RefModelConfig
from benchctl.targets.wire import WireRequest


def test_zipf_known_answer() -> None:
    """n = 3, s = 1: H = 1 + 1/2 + 1/3 = 11/6, so p = (6/11, 3/11, 2/11)."""
    assert popularity(3, "zipf", 1.0) == pytest.approx([6 / 11, 3 / 11, 2 / 11])
    assert popularity(4, "uniform") == pytest.approx([0.25] * 4)


def _choices(weights: list[float], pools: list[int], law: str = "uniform") -> dict:
    models = []
    for m, (weight, n) in enumerate(zip(weights, pools, strict=True)):
        requests = [
            WireRequest("rest-v2", "http://x", f"/v2/models/m{m}/infer", f"{m}:{i}".encode())
            for i in range(n)
        ]
        models.append((f"m{m}", weight, PayloadSpec(pool=n, popularity=law), requests))
    return choices_json(models, seed=7)


def test_chooser_follows_weights_and_law() -> None:
    """Model weights 3:1 -> shares 0.75/0.25; zipf s=1 over 3 inputs of m0 -> input 0 gets
    6/11 of m0's picks. 40,000 picks: the binomial standard error of a share is at most
    sqrt(0.25/40000) = 0.0025, so 0.01 is four of them."""
    chooser = RequestChooser(_choices([3.0, 1.0], [3, 2], law="zipf"))
    picks = [chooser.next() for _ in range(40_000)]
    m0 = [p for p in picks if p.model == "m0"]
    assert len(m0) / len(picks) == pytest.approx(0.75, abs=0.01)
    assert sum(p.input_id == 0 for p in m0) / len(m0) == pytest.approx(6 / 11, abs=0.01)
    assert all(p.body == f"{p.model[1]}:{p.input_id}".encode() for p in picks)
    assert {p.path for p in picks} == {"/v2/models/m0/infer", "/v2/models/m1/infer"}


def test_chooser_is_seeded_per_worker() -> None:
    spec = _choices([1.0], [50])
    a, b, other = RequestChooser(spec, 0), RequestChooser(spec, 0), RequestChooser(spec, 1)
    first = [a.next().input_id for _ in range(100)]
    assert first == [b.next().input_id for _ in range(100)]
    assert first != [other.next().input_id for _ in range(100)]


def test_pool_from_metadata_is_distinct_and_starts_with_the_single_payload() -> None:
    target = TargetSpec(payload=PayloadSpec(pool=5, seed=3))
    adapter = adapter_for("rest-v2")
    meta = [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]

    class Meta:  # the adapter's metadata answer, without a server: only model_inputs differs
        protocol, transport = adapter.protocol, adapter.transport
        model_inputs = staticmethod(lambda *_: meta)
        build_request = adapter.build_request

    pool = pool_payloads(target, Meta())  # type: ignore[arg-type]
    assert len({p[0].data.tobytes() for p in pool}) == 5
    single = pool_payloads(TargetSpec(payload=PayloadSpec(seed=3)), Meta())  # type: ignore[arg-type]
    assert np.array_equal(pool[0][0].data, single[0][0].data)


def test_pool_from_npy_rows_and_too_few_rows(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.arange(12, dtype=np.float32).reshape(6, 2))
    spec = PayloadSpec(source="file", file=path, pool=3, batch_size=2)
    pool = pool_payloads(TargetSpec(payload=spec), adapter_for("rest-v2"))
    assert [p[0].data[:, 0].tolist() for p in pool] == [[0, 2], [4, 6], [8, 10]]
    too_many = spec.model_copy(update={"pool": 4})
    with pytest.raises(InputError, match="needs more than 6 rows, the file has 6"):
        pool_payloads(TargetSpec(payload=too_many), adapter_for("rest-v2"))


def test_pool_from_parquet_rows_last_batch_filled_from_the_start(tmp_path: Path) -> None:
    """5 rows in batches of 2: 3 requests, the last one rows 4 and 0 (filled from the top)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    columns = {"a": np.arange(5, dtype=np.float32), "b": np.arange(5, dtype=np.float32) * 10}
    pq.write_table(pa.table(columns), path)
    spec = PayloadSpec(source="file", file=path, pool=3, batch_size=2)
    pool = pool_payloads(TargetSpec(payload=spec), adapter_for("rest-v2"))
    assert [p[0].data[:, 0].tolist() for p in pool] == [[0, 1], [2, 3], [4, 0]]
    assert pool[0][0].datatype == "FP32" and pool[0][0].data[1].tolist() == [1, 10]
    lists = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"x": [[1.0, 2.0], [3.0, 4.0]]}), lists)
    one = PayloadSpec(source="file", file=lists, pool=2)
    pool = pool_payloads(TargetSpec(payload=one), adapter_for("rest-v2"))
    assert [p[0].data.tolist() for p in pool] == [[[1.0, 2.0]], [[3.0, 4.0]]]
    text = tmp_path / "text.parquet"
    pq.write_table(pa.table({"s": ["a", "b"]}), text)
    with pytest.raises(InputError, match="numeric columns"):
        pool_payloads(
            TargetSpec(payload=PayloadSpec(source="file", file=text, pool=2)),
            adapter_for("rest-v2"),
        )


def test_pool_from_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "bodies.jsonl"
    bodies = [{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [i]}]}
              for i in range(3)]  # fmt: skip
    path.write_text("\n".join(json.dumps(b) for b in bodies) + "\n")
    spec = PayloadSpec(source="file", file=path, pool=2)
    assert pool_payloads(TargetSpec(payload=spec), adapter_for("rest-v2")) == bodies[:2]
    with pytest.raises(InputError, match="needs 4 lines, the file has 3"):
        pool_payloads(
            TargetSpec(payload=spec.model_copy(update={"pool": 4})), adapter_for("rest-v2")
        )


def test_pool_of_identical_inputs_is_refused() -> None:
    with pytest.raises(ValueError, match="needs fill: random"):
        PayloadSpec(pool=2, fill="zeros")


def test_refmodel_cache_answers_repeats_without_the_cost() -> None:
    """cost_ms 30: a miss takes >= 30 ms, a hit (same bytes) none of it; LRU of 1 evicts."""
    import time

    model = RefModel(RefModelConfig(input_dim=4, cost_ms=30.0, cache_size=1))
    a, b = np.ones((1, 4), np.float32), np.zeros((1, 4), np.float32)
    t = time.perf_counter()
    first = model.predict(a)
    miss = time.perf_counter() - t
    t = time.perf_counter()
    again = model.predict(a)
    hit = time.perf_counter() - t
    assert miss >= 0.030 and hit < 0.010 and np.array_equal(first, again)
    model.predict(b)  # evicts a
    model.predict(a)
    assert model.cache_hits == 1


def test_requests_schema_has_model_and_input_id() -> None:
    buffer = RecordBuffer()
    buffer.add(0.0, 0.0, 0.01, 200, "", 10, 20, "m0", 7)
    buffer.add_dropped(0.1)
    table = to_table(buffer.drain(), ["steady"], np.zeros(2, dtype=np.int8))
    assert table.schema.equals(SCHEMA)
    assert table.column("model").to_pylist() == ["m0", None]
    assert table.column("input_id").to_pylist() == [7, None]
    columns = {name: [] for name in SCHEMA.names if name not in ("phase", "model", "input_id")}
    assert to_table(columns, ["steady"], np.zeros(0, dtype=np.int8)).schema.equals(SCHEMA)


def test_choices_carry_body_headers_only() -> None:
    request = WireRequest(
        "rest-v2", "http://x", "/p", b"b",
        {"Authorization": "Bearer s", "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    spec = choices_json([("m", 1.0, PayloadSpec(), [request])], seed=0)
    assert spec["models"][0]["headers"] == {"Content-Type": "application/octet-stream"}
    assert base64.b64decode(spec["models"][0]["bodies"][0]) == b"b"
    assert "Bearer" not in json.dumps(spec)


def test_model_mix_config() -> None:
    from benchctl.config import TargetSpec

    target = TargetSpec.model_validate(
        {"models": [{"name": "small", "weight": 3}, {"name": "big"}],
         "launch": {"models": {"small": {"cost_ms": 2}, "big": {"cost_ms": 20}}}}
    )  # fmt: skip
    assert target.model == "small"  # the first of the mix when left out
    with pytest.raises(ValueError, match="appears twice"):
        TargetSpec.model_validate({"models": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValueError, match="not in the mix"):
        TargetSpec.model_validate({"model": "mlp", "models": [{"name": "a"}]})


def test_model_summaries_known_answer(tmp_path: Path) -> None:
    """Steady 0-10 s after a 2 s warm-up: model a has latencies 10, 20, 30 ms, b has 40 ms
    (and one request in warm-up, left out): shares 3/4 and 1/4, a's p50 (nearest rank of
    3 values: the 2nd) 20 ms, no throughput for 3 requests (fewer than MIN_RATE_REQUESTS)."""
    import pyarrow.parquet as pq

    from benchctl.analysis.models import model_summaries

    buffer = RecordBuffer()
    rows = [(1.0, 5.0, "b"), (3.0, 10.0, "a"), (4.0, 20.0, "a"), (5.0, 30.0, "a")]
    rows.append((6.0, 40.0, "b"))
    for t, ms, model in rows:
        buffer.add(t, t, t + ms / 1000, 200, "", 10, 10, model, 0)
    names = ["warmup", "steady"]
    index = np.array([0 if t < 2 else 1 for t, _, _ in rows], dtype=np.int8)
    path = tmp_path / "requests.parquet"
    pq.write_table(to_table(buffer.drain(), names, index), path)
    phases = [{"name": "warmup", "start": 0, "end": 2}, {"name": "steady", "start": 2, "end": 12}]
    models = model_summaries(path, phases)["models"]
    assert models["a"]["share"] == pytest.approx(0.75)
    assert models["a"]["latency_ms"]["p50"] == pytest.approx(20.0)
    assert models["a"]["throughput_rps"] is None  # 3 sent: below MIN_RATE_REQUESTS (10)
    assert models["b"]["requests"] == 1
    one = RecordBuffer()
    one.add(3.0, 3.0, 3.01, 200, "", 1, 1, "a", 0)
    pq.write_table(to_table(one.drain(), names, np.ones(1, dtype=np.int8)), path)
    assert model_summaries(path, phases) == {}


def test_once_mode_sends_every_body_once_split_across_workers() -> None:
    spec = {**_choices([1.0], [5]), "once": True}
    first, second = RequestChooser(spec, 0, 2), RequestChooser(spec, 1, 2)
    taken = []
    for chooser in (first, second):
        while not chooser.exhausted:
            taken.append(chooser.next().input_id)
    assert taken == [0, 2, 4, 1, 3]
    assert RequestChooser({**_choices([1.0], [1]), "once": True}, 1, 2).exhausted


def test_batch_scenario_settings_and_plan() -> None:
    from benchctl.config import BatchScenario
    from benchctl.plan.shapes import plan_scenario

    scenario = BatchScenario(kind="batch", inputs=100, batch_sizes=[1, 32], concurrency=[4])
    assert scenario.settings() == [(1, 4), (32, 4)]
    assert scenario.requests_for(32) == 4  # ceil(100 / 32): the last request full
    plan = plan_scenario(scenario)
    assert plan.levels == ((0.0, 4),) and not plan.open_loop
    assert [p.name for p in plan.phases] == ["b=1 c=4"]


def test_input_summary_known_answer(tmp_path: Path) -> None:
    """12 inputs: input 0 five times at 1 ms, inputs 1..11 once each at 10 ms (16 requests).
    The 10 most requested: input 0 and 9 of the singles (14 requests, 14/16); the rest: 2.
    top_share = 5/16; hot p50 = nearest rank ceil(0.5 x 14) = 7th of [1 x5, 10 x9] = 10 ms,
    hot p95 = 14th = 10 ms; rest p50 = 10 ms."""
    import pyarrow.parquet as pq

    from benchctl.analysis.inputs import input_summary

    buffer = RecordBuffer()
    for i, (ms, input_id) in enumerate([(1.0, 0)] * 5 + [(10.0, k) for k in range(1, 12)]):
        buffer.add(i * 0.1, i * 0.1, i * 0.1 + ms / 1000, 200, "", 1, 1, "m", input_id)
    path = tmp_path / "requests.parquet"
    pq.write_table(to_table(buffer.drain(), ["steady"], np.zeros(16, dtype=np.int8)), path)
    inputs = input_summary(path)["inputs"]
    assert inputs["distinct"] == 12 and inputs["top_share"] == pytest.approx(5 / 16)
    assert inputs["hot"]["requests"] == 14 and inputs["rest"]["requests"] == 2
    assert inputs["hot"]["latency_ms"]["p50"] == pytest.approx(10.0)
    assert inputs["hot"]["latency_ms"]["mean"] == pytest.approx((5 * 1 + 9 * 10) / 14)
    assert inputs["rest"]["latency_ms"]["p50"] == pytest.approx(10.0)


def test_too_many_body_bytes_is_one_line() -> None:
    """257 bodies of 1 MiB = 257 MiB > the 256 MiB cap."""
    requests = [WireRequest("rest-v2", "http://x", "/p", b"x" * 2**20) for _ in range(257)]
    with pytest.raises(InputError, match="257 distinct request bodies are 257 MiB"):
        choices_json([("m", 1.0, PayloadSpec(pool=257), requests)], seed=0)
