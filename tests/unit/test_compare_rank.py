"""compare judges runs on the tensors they sent and ranks them by capacity and cost."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from benchctl.reports.compare import ranking_lines, write_compare
from tests.unit.test_gate import make_run

ROW = [0.5] * 64


def _sent(run: Path, protocol: str, body: dict, dims: dict) -> None:
    """The engine-spec.json a run keeps (its request body), and its target's payload spec."""
    request = {"protocol": protocol, "body": base64.b64encode(json.dumps(body).encode()).decode()}
    (run / "engine-spec.json").write_text(json.dumps({"request": request}))
    info = json.loads((run / "run.json").read_text())
    info["target"] = {"name": protocol, "spec": {"payload": {"dims": dims}}}
    (run / "run.json").write_text(json.dumps(info))


def _capacity(run: Path, rps: float, bound: str, per_million: float | None = None) -> None:
    cost = {"currency": "EUR", "per_million_at_capacity": per_million} if per_million else None
    document = {"slo": "p99<=100ms", "capacity_rps": rps, "bound": bound, "cost": cost}
    (run / "capacity.json").write_text(json.dumps(document))


def test_same_tensor_spelled_two_ways_is_comparable(tmp_path: Path) -> None:
    """TorchServe sends {"instances": [[64 floats]]} with payload.dims {'input-0': [64]};
    KServe sends a v2 FP32 [1, 64] tensor from metadata with dims {}: the same input."""
    a, b = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    v2 = {"inputs": [{"name": "input-0", "shape": [1, 64], "datatype": "FP32", "data": ROW}]}
    _sent(a, "rest-v2", v2, {})
    _sent(b, "torchserve-rest", {"instances": [ROW]}, {"input-0": [64]})
    assert write_compare([a, b], output=tmp_path / "c.html").differences == ()


def test_different_tensors_are_not_comparable(tmp_path: Path) -> None:
    a, b = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    v2 = {"inputs": [{"name": "input-0", "shape": [1, 64], "datatype": "FP32", "data": ROW}]}
    _sent(a, "rest-v2", v2, {})
    _sent(b, "torchserve-rest", {"instances": [ROW[:32]]}, {"input-0": [32]})
    (difference,) = write_compare([a, b], output=tmp_path / "c.html").differences
    assert "tensors sent: float[1, 32] vs float[1, 64]" in difference
    assert "payload." not in difference


def test_ranked_by_capacity_and_cost_each_with_its_bound(tmp_path: Path) -> None:
    a, b, c = (make_run(tmp_path, name, seed=i) for i, name in enumerate("abc", start=1))
    _capacity(a, 80.0, "measured", per_million=8.61)
    _capacity(b, 120.0, "lower", per_million=5.74)
    comparison = write_compare([a, b, c], output=tmp_path / "c.html")
    assert [row.label for row in comparison.ranking["capacity"]] == ["B", "A", "C"]
    assert [row.label for row in comparison.ranking["cost"]] == ["B", "A", "C"]
    lines = ranking_lines(comparison)
    assert lines[0] == "capacity #1: B at least 120.0 rps under p99<=100ms (lower)"
    assert "cost #1: B at most 5.74 EUR per million inferences" in lines
    page = comparison.output.read_text()
    assert 'id="rank-capacity"' in page and "at least 120.0 req/s" in page
    assert "at most 5.74 EUR" in page


def test_runs_never_analyzed_are_unranked_and_say_so(tmp_path: Path) -> None:
    """A and B without capacity.json: no place numbers '1 A, 2 B' in the page's ranking,
    'unranked' and 'not analyzed' instead; the terminal lines rank nothing."""
    a, b = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    comparison = write_compare([a, b], output=tmp_path / "c.html")
    page = comparison.output.read_text()
    ranking = page[page.index('id="ranking"') :]
    ranking = ranking[: ranking.index("</section>")]
    assert "<td>1</td>" not in ranking and "<td>2</td>" not in ranking
    assert ranking.count("unranked") == 4 and ranking.count("not analyzed") == 4
    assert ranking_lines(comparison) == []


def test_different_targets_are_a_warning_and_the_table_fits_80_columns(tmp_path: Path) -> None:
    """A on kserve, B on triton: a warning naming both (terminal notes and a page banner);
    the terminal table at 80 columns cuts nothing (no '…') and shows both targets whole."""
    import io

    from rich.console import Console

    from benchctl.reports.terminal.compare import compare_table

    a = make_run(tmp_path, "a", seed=1, target="kserve")
    b = make_run(tmp_path, "b", seed=2, target="triton")
    comparison = write_compare([a, b], output=tmp_path / "c.html")
    (note,) = comparison.notes
    assert "different servers or profiles (A kserve, B triton)" in note
    assert 'id="banner-targets"' in comparison.output.read_text()
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(compare_table(comparison))
    text = out.getvalue()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "kserve" in text and "triton" in text and "capacity" in text
    same = write_compare([a, make_run(tmp_path, "c", seed=3)], output=tmp_path / "d.html")
    assert same.notes == ()
    _capacity(a, 80.0, "measured")
    c = make_run(tmp_path, "e", seed=4)
    (c / "capacity.json").write_text(
        json.dumps({"slo": "p99<=200ms", "capacity_rps": 60.0, "bound": "measured"})
    )
    (mixed,) = write_compare([a, c], output=tmp_path / "e.html").notes
    assert "different SLOs (A p99<=100ms, B p99<=200ms)" in mixed


def test_a_lower_bound_below_a_measured_figure_is_not_ranked_below_it(tmp_path: Path) -> None:
    """Trial 6: B measured 43.4 rps, C "at least 10.1": C's capacity may be anything from
    10.1 up, so "#2 B, #3 C" is unsupported; C is unranked and says why. A lower bound at
    or above every measured figure (A, at least 147.6 > 43.4) still ranks first."""
    a, b, c = (make_run(tmp_path, name, seed=i) for i, name in enumerate("abc", start=1))
    _capacity(a, 147.6, "lower")
    _capacity(b, 43.4, "measured")
    _capacity(c, 10.1, "lower")
    comparison = write_compare([a, b, c], output=tmp_path / "c.html")
    places = {row.label: row.capacity_place for row in comparison.ranking["capacity"]}
    assert places == {"A": None, "B": 1, "C": None}  # two bounds: A vs C unordered too
    lines = ranking_lines(comparison)
    assert "capacity #1: B 43.4 rps under p99<=100ms (measured)" in lines
    assert any(
        line.startswith("capacity (unranked): C at least 10.1 rps") and "B's measured 43.40" in line
        for line in lines
    )
    assert not any(line.startswith("capacity #2") for line in lines)
    only_c = write_compare([b, c], output=tmp_path / "d.html")
    assert [row.capacity_place for row in only_c.ranking["capacity"]] == [1, None]
    above = write_compare([a, b], output=tmp_path / "e.html")
    assert [(r.label, r.capacity_place) for r in above.ranking["capacity"]] == [("A", 1), ("B", 2)]


def test_runs_not_comparable_with_a_are_not_ranked(tmp_path: Path) -> None:
    """C is a capacity run, A and B steady: C vs A is NOT COMPARABLE, so C gets no place
    (not "#3") and its line says why; A and B rank by their measured figures."""
    a, b = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    c = make_run(tmp_path, "c", seed=3, scenario="capacity")
    _capacity(a, 80.0, "measured")
    _capacity(b, 60.0, "measured")
    _capacity(c, 200.0, "measured")
    comparison = write_compare([a, b, c], output=tmp_path / "c.html")
    assert comparison.differences and comparison.differences[0].startswith("C vs A")
    places = {row.label: row.capacity_place for row in comparison.ranking["capacity"]}
    assert places == {"A": 1, "B": 2, "C": None}
    assert (
        "capacity (unranked): C 200.0 rps under p99<=100ms (measured): not comparable with A "
        "(see the warning), so not ranked with it"
    ) in ranking_lines(comparison)
    page = comparison.output.read_text()
    assert "not comparable with A (see the warning)" in page


def test_host_cpu_bottleneck_says_how_much_was_the_servers(tmp_path: Path) -> None:
    """Host CPU at 100% on 2 cores while the server's processes used 0.4 cores (40% of one
    core's percent scale = 0.4 / 2 = 20% of the host): the bottleneck says the server's own
    share (20%) and that the rest was other work; a server using 1.8 of 2 cores (90%)
    is not qualified."""
    import pandas as pd

    def windows(run: Path, server_percent: float) -> None:
        info = json.loads((run / "run.json").read_text())
        info["host"] = {**(info.get("host") or {}), "cpus": 2}
        (run / "run.json").write_text(json.dumps(info))
        t = [10.0 + i for i in range(20)]
        frame = pd.DataFrame(
            {"t": t, "server_cpu_percent": [server_percent] * 20, "host_cpu_percent": [100.0] * 20}
        )
        frame.to_parquet(run / "telemetry_windows.parquet")

    a, b = make_run(tmp_path, "a", seed=1), make_run(tmp_path, "b", seed=2)
    windows(a, 40.0)
    windows(b, 180.0)
    comparison = write_compare([a, b], output=tmp_path / "c.html")
    first, second = comparison.runs
    assert first.bottleneck == (
        "host CPU (100% of the host at p95; the server's own 20% (0.40 cores), the rest "
        "other work on the host)"
    )
    assert second.bottleneck == "host CPU (100% of the host at p95)"
