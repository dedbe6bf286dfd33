"""Per-model capacity of a model mix (analysis/model_capacity.py), on runs with known answers.

The synthetic runs send exactly one request in four to ``big`` and the rest to ``small``
(every fourth arrival), at evenly spaced arrivals, with set latencies, so every model's
rate and SLO percentile per level is known by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.model_capacity import model_capacities, model_capacity_lines
from benchctl.analysis.slo import parse_slo
from benchctl.errors import InputError
from benchctl.load.records import RecordBuffer, to_table
from benchctl.store import RunDir

STEP_S = 20.0
RATES = [40.0, 80.0, 120.0]  # offered to the server in all (req/s)


def mix_run(
    tmp_path: Path,
    latency_ms: dict[str, list[float]],
    *,
    rates: list[float] = RATES,
    name: str = "run",
) -> Path:
    """A step run of len(rates) levels of STEP_S s, each after a 2 s warm-up; arrival i of a
    level goes to ``big`` when i % 4 == 3, else ``small``; a model's requests at level k all
    take ``latency_ms[model][k]`` ms. A level's rate * STEP_S requests are sent over its
    first STEP_S - 50 ms, so each completes within its level (every latency here is at most
    40 ms): a level's throughput (completions within it / STEP_S) is then exactly its rate."""
    buffer, codes, phases = RecordBuffer(), [], []
    names = ["warmup"]
    t = 0.0
    for k, rate in enumerate(rates):
        phases.append({"name": "warmup", "start": t, "end": t + 2.0})
        for i in range(int(rate * 2.0)):  # warm-up: a bad latency that must not count
            at = t + i / rate
            buffer.add(at, at, at + 1.0, 200, "", 10, 10, model="small" if i % 4 else "big")
            codes.append(0)
        t += 2.0
        label = f"step{k + 1}@{rate:g}rps"
        names.append(label)
        phases.append({"name": label, "start": t, "end": t + STEP_S})
        for i in range(int(rate * STEP_S)):
            model = "big" if i % 4 == 3 else "small"
            at = t + i / rate * (STEP_S - 0.05) / STEP_S
            buffer.add(at, at, at + latency_ms[model][k] / 1000.0, 200, "", 10, 10, model=model)
            codes.append(k + 1)
        t += STEP_S
    run_dir = tmp_path / name
    run_dir.mkdir()
    pq.write_table(
        to_table(buffer.drain(), names, np.array(codes, dtype=np.int8)),
        run_dir / "requests.parquet",
    )
    info = {
        "schema_version": 1,
        "id": name,
        "status": "completed",
        "reason": "",
        "scenario": {"name": "step", "time_scale": 1.0, "spec": {"kind": "step"}},
        "target": {"name": "mix", "spec": {"kind": "kserve"}},
        "plan": {
            "duration": t,
            "open_loop": True,
            "phases": phases,
            "curve": [[p["start"], r] for p, r in zip(phases[1::2], rates, strict=True)],
        },
        "host": {"cpus": 2},
        "generator": {"saturated": False},
    }
    (run_dir / "run.json").write_text(json.dumps(info))
    return run_dir


def _info(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run.json").read_text())


def test_each_model_gets_its_own_bound_and_the_limiting_model_is_named(tmp_path: Path):
    """p90 <= 20 ms. small (3 in 4 requests) answers in 5 ms at 40 and 80 req/s and in 30 ms
    at 120: its own rate is 3/4 of the server's, so it is measured between 0.75 x 80 = 60
    and 0.75 x 120 = 90 req/s (figure 60: no curve is fitted per model), 80 to 120 for the
    server in all. big (1 in 4) takes 25 ms everywhere: below 0.25 x 40 = 10 req/s, broke
    at 40 for the server, so big limits the server (40 < 120)."""
    run_dir = mix_run(tmp_path, {"small": [5, 5, 30], "big": [25, 25, 25]})
    found = model_capacities(run_dir, _info(run_dir), parse_slo("p90<=20ms"), source="levels")
    assert found is not None
    small, big = found["models"]["small"], found["models"]["big"]
    assert small["bound"] == "measured"
    assert small["capacity_rps"] == pytest.approx(60.0)
    assert small["band_rps"] == pytest.approx([60.0, 90.0])
    assert small["server_band_rps"] == pytest.approx([80.0, 120.0])
    assert small["first_bad_level"] == "step3@120rps"
    assert small["share"] == pytest.approx(0.75)
    assert big["bound"] == "upper" and big["capacity_rps"] is None
    assert big["band_rps"] == pytest.approx([0.0, 10.0])
    assert big["server_band_rps"] == pytest.approx([0.0, 40.0])
    assert found["limiting_model"] == "big"
    lines = found["summary"]
    assert lines[0].startswith("Model big: below 10.0 rps of its own traffic under p90<=20ms")
    assert "it broke the SLO in the 3 level(s) with enough of its successes (of 3)" in lines[0]
    assert lines[1].startswith("Model small: 60.0 rps of its own traffic under p90<=20ms")
    assert lines[2] == (
        "At this mix the server is limited by big: its p90 broke first, at 40.0 rps "
        "served by the server in all."
    )


def test_a_model_that_never_broke_is_a_lower_bound(tmp_path: Path):
    """Both models meet p90 <= 20 ms at every level: small at least 0.75 x 120 = 90 req/s,
    big at least 0.25 x 120 = 30 req/s, both up to 120 for the server; nothing limits."""
    run_dir = mix_run(tmp_path, {"small": [5, 5, 5], "big": [15, 15, 15]})
    found = model_capacities(run_dir, _info(run_dir), parse_slo("p90<=20ms"), source="levels")
    assert found is not None
    assert found["models"]["small"]["bound"] == "lower"
    assert found["models"]["small"]["capacity_rps"] == pytest.approx(90.0)
    assert found["models"]["big"]["capacity_rps"] == pytest.approx(30.0)
    assert found["models"]["big"]["server_band_rps"] == pytest.approx([120.0, 120.0])
    assert found["limiting_model"] is None


def test_search_levels_use_offered_rates_and_the_searchs_error_bound(tmp_path: Path):
    """A capacity search's levels: the model's rate is the level's offered rate times the
    model's share of its requests (3/4 for small: 30, 60, 90 of 40, 80, 120 offered). small
    is good at every level but the last, where a level the search marked overloaded is bad
    for every model: measured between 60 and 90."""
    run_dir = mix_run(tmp_path, {"small": [5, 5, 5], "big": [5, 5, 5]})
    names = [p["name"] for p in _info(run_dir)["plan"]["phases"][1::2]]
    search = {
        "settings": {"max_error_rate": 0.01},
        "levels": [
            {"name": n, "offered_rps": r, "overloaded": k == 2}
            for k, (n, r) in enumerate(zip(names, RATES, strict=True))
        ],
    }
    found = model_capacities(
        run_dir, _info(run_dir), parse_slo("p90<=20ms"), source="search", search=search
    )
    assert found is not None
    small = found["models"]["small"]
    assert small["bound"] == "measured"
    assert small["band_rps"] == pytest.approx([60.0, 90.0])
    assert small["server_band_rps"] == pytest.approx([80.0, 120.0])
    assert found["models"]["big"]["band_rps"] == pytest.approx([20.0, 30.0])
    assert "80.0 rps to 120.0 rps offered to the server in all" in small["sentence"]


def test_windows_without_enough_samples_fall_back_to_the_whole_run(tmp_path: Path):
    """One 20 s level at 40 req/s judged by 5 s windows under p99: a window holds 30 small
    and 10 big successes, fewer than the 200 p99 needs, so the whole measured run is each
    model's one level: small 600 successes over 20 s = 30 req/s (lower: 5 ms meets 20 ms);
    big 200 successes (just enough) = 10 req/s, 25 ms breaks it: below 10 req/s."""
    run_dir = mix_run(tmp_path, {"small": [5.0], "big": [25.0]}, rates=[40.0])
    found = model_capacities(run_dir, _info(run_dir), parse_slo("p99<=20ms"), source="windows")
    assert found is not None
    small, big = found["models"]["small"], found["models"]["big"]
    assert (small["source"], small["bound"]) == ("whole run", "lower")
    assert small["capacity_rps"] == pytest.approx(30.0)
    assert (big["bound"], big["band_rps"]) == ("upper", pytest.approx([0.0, 10.0]))
    assert "it broke the SLO in the whole run" in big["sentence"]


def test_too_few_successes_is_no_figure_with_the_reason(tmp_path: Path):
    """p99.9 needs 2,000 successes in a level or the run; big has 200: no figure, said."""
    run_dir = mix_run(tmp_path, {"small": [5.0], "big": [5.0]}, rates=[40.0])
    found = model_capacities(run_dir, _info(run_dir), parse_slo("p99.9<=20ms"), source="windows")
    assert found is not None
    big = found["models"]["big"]
    assert big["bound"] == "none" and big["capacity_rps"] is None and big["band_rps"] is None
    assert big["sentence"] == (
        "Model big: no capacity figure under p99.9<=20ms: no level held the 2,000 successful "
        "requests its p99.9 needs (it had 200 after the warm-up in all); use a lower "
        "percentile or a longer run."
    )


def test_one_model_runs_have_no_models_section(tmp_path: Path):
    run_dir = mix_run(tmp_path, {"small": [5, 5, 5], "big": [5, 5, 5]})
    table = pq.read_table(run_dir / "requests.parquet")
    table = table.drop(["model"])
    pq.write_table(table, run_dir / "requests.parquet")
    assert (
        model_capacities(run_dir, _info(run_dir), parse_slo("p90<=20ms"), source="levels") is None
    )
    assert model_capacity_lines({"capacity_rps": 1.0}) == []


def test_analyze_writes_the_models_section_into_capacity_json(tmp_path: Path):
    """Through ``analyze_run``: the step levels are the headline's points (three levels), and
    capacity.json's ``models`` holds the same answer as above; the server as a whole (p90
    of every request: 1 in 4 at 25 ms, so p90 = 25 ms) broke the SLO at every level, but
    p50 <= 20 ms holds the mix: small's p50 5 ms and big's 25 ms."""
    run_dir = mix_run(tmp_path, {"small": [5, 5, 30], "big": [25, 25, 25]})
    doc = analyze_run(RunDir.open(run_dir), AnalyzeOptions(slo=parse_slo("p50<=20ms")))
    written = json.loads((run_dir / "capacity.json").read_text())
    assert written["models"] == json.loads(json.dumps(doc["models"]))
    assert written["models"]["source"] == "levels"
    assert written["models"]["models"]["big"]["bound"] == "upper"
    assert written["models"]["models"]["small"]["bound"] == "measured"
    assert model_capacity_lines(written) == written["models"]["summary"]


def test_a_mix_that_never_met_the_slo_as_a_whole_still_says_each_models_bound(tmp_path: Path):
    """p50 <= 20 ms with small at 25 ms and big at 40 ms at every level: no level of the mix
    meets it, so there is no headline (exit 2, one line), and the line says per model what
    was measured: both below their rate at the lowest level (0.75 x 40 = 30 and 0.25 x 40 =
    10 req/s)."""
    run_dir = mix_run(tmp_path, {"small": [25, 25, 25], "big": [40, 40, 40]})
    with pytest.raises(InputError) as caught:
        analyze_run(RunDir.open(run_dir), AnalyzeOptions(slo=parse_slo("p50<=20ms")))
    text = str(caught.value)
    assert "\n" not in text and text.startswith("no measured point meets p50<=20ms")
    assert text.endswith(
        "Per model at this mix (its own req/s): big below 10.0 rps (broke the SLO at every "
        "level); small below 30.0 rps (broke the SLO at every level)"
    )


def test_one_offered_rate_answers_per_model_from_the_whole_run(tmp_path: Path):
    """One level at 40 req/s offered all along (a steady run): its windows differ only by
    noise, so they are no levels. Known answer, p90 <= 20 ms: big (1 in 4, 25 ms) broke it
    over the whole run at its 10 req/s (40 in all): 'below 10 rps', and the limiting line
    says so without a 'first' level; small (5 ms) never broke it: at least 30 req/s."""
    run_dir = mix_run(tmp_path, {"small": [5], "big": [25]}, rates=[40.0])
    info = _info(run_dir)
    info["plan"]["curve"] = [[0.0, 40.0], [2.0, 40.0], [11.0, 40.0], [21.0, 40.0]]
    (run_dir / "run.json").write_text(json.dumps(info))
    found = model_capacities(run_dir, info, parse_slo("p90<=20ms"), source="windows")
    assert found is not None and found["source"] == "one rate"
    small, big = found["models"]["small"], found["models"]["big"]
    assert (small["bound"], small["source"]) == ("lower", "whole run")
    assert small["capacity_rps"] == pytest.approx(30.0)
    assert big["bound"] == "upper" and big["band_rps"] == pytest.approx([0.0, 10.0])
    limiting = found["summary"][-1]
    assert "big limits the server" in limiting and "over the whole run" in limiting
    assert "first" not in limiting


def test_a_changing_offered_rate_keeps_its_windows():
    from benchctl.analysis.model_capacity import one_offered_rate

    steady = {"plan": {"phases": [{"name": "warmup", "start": 0, "end": 5}],
                       "curve": [[0, 99.0], [5, 20.0], [30, 20.1]]}}  # fmt: skip
    assert one_offered_rate(steady)  # the warm-up's rate does not count; 0.5% is one rate
    spike = {"plan": {"phases": [], "curve": [[0, 40.0], [30, 200.0]]}}
    assert not one_offered_rate(spike)
    assert not one_offered_rate({"plan": {}})  # no curve: windows stay (as before)
