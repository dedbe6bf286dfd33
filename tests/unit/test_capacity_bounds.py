"""Honest capacity bounds: measured crossing, lower bound ("at least"), finite bands."""

import dataclasses
import json
import math
from pathlib import Path

import pytest

from benchctl.analysis.answer import capacity_sentence, cost_sentence, replicas_sentence
from benchctl.analysis.bounds import LOWER, MEASURED, Level, capacity_bound
from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.slo import parse_slo
from benchctl.store import RunDir
from tests.unit.test_analyze import MU, mm1_step_run


def test_crossing_between_good_and_bad_levels_is_measured():
    """p99 of M/M/1 (μ=200) is 4.605/(μ-λ) s: 57.6 ms at 120 rps (good), 115 ms at 160 (bad):
    the crossing (153.95) lies in [120, 160]; without a fit the figure is the good level."""
    levels = [
        Level("a", 120, 120, 4605 / 80, True),
        Level("b", 160, 160, 4605 / 40, False),
    ]
    found = capacity_bound(levels, 100.0)
    assert found is not None and found.bound == MEASURED
    assert found.band == (120, 160)
    assert found.capacity_rps == 120


def test_fitted_crossing_is_used_only_inside_the_measured_band():
    levels = [Level("a", 120, 120, 57.6, True), Level("b", 160, 160, 115.0, False)]
    assert capacity_bound(levels, 100.0, fitted_crossing_rps=150.0).capacity_rps == 150.0
    assert capacity_bound(levels, 100.0, fitted_crossing_rps=900.0).capacity_rps < 160


def test_never_broken_is_a_lower_bound_with_a_finite_band():
    """Best good level: offered 20 (achieved 19.8): the bound is the offered rate."""
    levels = [Level("a", 10, 10, 5.0, True), Level("b", 20, 19.8, 6.0, True)]
    found = capacity_bound(levels, 100.0)
    assert found.bound == LOWER and found.capacity_rps == 20
    assert found.band == (20, 20) and found.upper_source == "none"
    with_demand = capacity_bound(levels, 100.0, demand_upper_rps=400.0)
    assert with_demand.band == (20, 400.0) and with_demand.upper_source == "service_demand"


def test_band_ends_are_both_offered_rates():
    """The demo's search: level offered 62.0 achieved 61.2 (good), level offered 62.5
    (bad). The band is [62.0, 62.5], both offered, not [61.2 achieved, 62.5 offered]."""
    levels = [Level("g", 62.0, 61.2, 150.0, True), Level("b", 62.5, 55.0, 900.0, False, True)]
    found = capacity_bound(levels, 200.0)
    assert found.band == (62.0, 62.5) and found.capacity_rps == 62.0


def test_no_good_level_gives_none():
    assert capacity_bound([Level("a", 10, 10, 500.0, False)], 100.0) is None


def test_a_step_run_that_never_saturated_says_at_least(tmp_path: Path):
    """Same M/M/1 run under a loose SLO (p99 <= 1 s): at 180 rps p99 is 4.605/20 = 230 ms,
    so no level breaks it; capacity is at least the best level (~180 rps), not a fit."""
    run = RunDir.open(mm1_step_run(tmp_path))
    doc = analyze_run(
        run, AnalyzeOptions(slo=parse_slo("p99<=1s"), peak_rps=600, price_per_hour=2.48)
    )
    assert doc["bound"] == "lower"
    low, high = doc["capacity_band_rps"]
    assert math.isfinite(low) and math.isfinite(high) and low <= high
    assert doc["capacity_rps"] == pytest.approx(180, rel=0.05)
    assert doc["capacity_rps"] < MU  # never an extrapolation towards saturation
    assert capacity_sentence(doc).startswith("One replica sustains at least 1")
    assert doc["replicas"]["is_upper_bound"]
    assert "at most" in replicas_sentence(doc)
    assert "USD" in cost_sentence(doc) and "at most" in cost_sentence(doc)
    written = json.loads((run.path / "capacity.json").read_text())
    assert written["bound"] == "lower" and written["capacity_band_rps"] == [low, high]


def test_no_price_never_shows_a_zero_cost(tmp_path: Path):
    run = RunDir.open(mm1_step_run(tmp_path))
    doc = analyze_run(run, AnalyzeOptions(slo=parse_slo("p99<=100ms"), peak_rps=600))
    assert doc["cost"] is None
    assert "0.00" not in cost_sentence(doc) and "no price given" in cost_sentence(doc)
    assert doc["bound"] == "measured"


def test_chart_axis_follows_the_measured_range_and_labels_an_open_band():
    """A far upper bound (4e11 rps, as a runaway fit once gave) must not squeeze the
    measured points to x = 0: the axis ends 12% past the data (200 rps -> 224)."""
    from benchctl.reports import capacity_figures as cf

    curve = cf.LatencyCurve(
        throughput=[50.0, 100.0, 200.0],
        latency_ms=[5.0, 6.0, 8.0],
        percentile="p99",
        slo_ms=100.0,
        capacity_rps=200.0,
        band=(200.0, 4e11),
        knee_rps=None,
        measured_max_rps=200.0,
        extrapolated=False,
        fit=None,
        bound="lower",
        upper_source="service_demand",
    )
    assert cf._curve_right(curve) == pytest.approx(224.0)
    assert "off the chart" in cf._band_label(curve, 200.0, 4e11, 224.0)
    open_band = cf._band_label(dataclasses.replace(curve, upper_source="none"), 200.0, 200.0, 224.0)
    assert "unbounded above" in open_band
    svg = cf.latency_curve_figure(dataclasses.replace(curve, upper_source="none"))
    assert "unbounded above" in svg and "capacity at least 200.0" in svg


def test_measured_sentence_names_the_kind_of_rate():
    """The band's kind as capacity.json says it (trial 5: windows' served throughputs were
    called "offered rates"); a document that does not say names no kind."""
    doc = {"capacity_rps": 62.0, "capacity_band_rps": [62.0, 62.5], "bound": "measured"}
    offered = {**doc, "capacity_band_rates": "offered"}
    assert "between offered rates 62.0 rps, which met it, and 62.5 rps" in capacity_sentence(
        offered
    )
    windows = {**doc, "capacity_band_rates": "throughput", "points": {"source": "windows"}}
    assert (
        "between 62.0 rps, which met it, and 62.5 rps, which broke it: throughputs served in "
        "windows)"
    ) in capacity_sentence(windows)
    assert "between 62.0 rps, which met it, and 62.5 rps, which broke it)" in capacity_sentence(doc)


def test_an_extrapolation_above_the_measured_saturation_is_dropped():
    """The kserve case: good level 500 rps, the first bad one 600 rps (overloaded, served
    552 rps); service demand bound 2,166 rps. A fitted crossing at 9,300.6 rps lies above
    all three: dropped with the lowest ceiling named (the measured saturation, 552.0 rps,
    which is max(552, the best good level's 500)); 540 rps would be kept (below every
    ceiling)."""
    from benchctl.analysis.single_replica import extrapolation_ceiling

    levels = [Level("g", 500, 500, 80.0, True), Level("b", 600, 552, 900.0, False, True)]
    found = capacity_bound(levels, 100.0, demand_upper_rps=2166.0)
    why = extrapolation_ceiling(9300.6, found, 2166.0)
    assert why == (
        "the fitted curve's SLO crossing lies above the measured saturation (552.0 rps): not shown"
    )
    assert extrapolation_ceiling(540.0, found, 2166.0) is None
    doc = {
        "capacity_rps": 500.0,
        "capacity_band_rps": [500.0, 600.0],
        "bound": "measured",
        "single_replica": {"extrapolation": None, "extrapolation_dropped": why},
    }
    text = capacity_sentence(doc)
    assert "9,300" not in text and "No extrapolation: the fitted curve's SLO crossing" in text


def test_service_demand_needs_windows_at_more_than_one_rate():
    """U = 0.1 + 0.005 x X cores (5 ms of CPU per request) on a 2-core host: from windows at
    10..40 req/s the fit gives 5 ms and saturation (2 - 0.1) / 0.005 = 380 req/s (the idle
    0.1 core is not there for requests). From windows at one
    offered rate (19.5..20.5 req/s: arrival noise) the slope is noise, so no bound at all
    (a fresh user saw 'no more than 5,035.8 rps' from such a fit)."""
    import pandas as pd

    from benchctl.analysis.single_replica import service_demand

    spread = pd.DataFrame({"throughput_rps": [10.0, 20.0, 30.0, 40.0]})
    spread["server_cpu_percent"] = (0.1 + 0.005 * spread["throughput_rps"]) * 100
    found = service_demand(spread, {"host": {"cpus": 2}})
    assert found["server_cpu"]["ms_per_request"] == pytest.approx(5.0)
    assert found["server_cpu"]["saturates_at_rps"] == pytest.approx(380.0)
    one_rate = pd.DataFrame(
        {"throughput_rps": [19.5, 20.5, 20.0, 19.8], "server_cpu_percent": [20.0, 19.0, 21.0, 20.5]}
    )
    assert service_demand(one_rate, {"host": {"cpus": 2}}) == {}
