"""A fitted SLO crossing is the capacity figure only when the fit is trusted (fresh-user
trial 5, finding 1: "One replica sustains 147.6 rps ... between 43.4 rps, which met it, and
147.6 rps, which broke it": the fit was a step, scale 5.6e-7 ms x req/s and x_max
147.6000000524, crossing 147.5999998, inside the band and "below" the broken window's
147.6 by 2e-7 req/s, far finer than the 0.2 req/s a 5 s window measures a rate to).

``spike_run`` is a synthetic spike run of the same kind: 5 s windows at 45-55 req/s whose
p99 is 14 ms (latencies 4..14 ms) and one window holding a 3 s burst at 200 req/s whose
requests take 30 ms (p99<=20ms broken). Its fit is a step at the burst window's 140.0
req/s (700 completions / 5 s: 0.5 s + 1.5 s of base at 50 req/s and 600 burst requests),
which the code before this fix took as the figure (139.98 req/s). The e2e test runs the
installed benchctl on it (tests/e2e/test_fit_trust_cli.py)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from benchctl.analysis.answer import capacity_sentence, saturation_bound_sentence
from benchctl.analysis.bounds import MEASURED, Level, capacity_bound
from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
from benchctl.analysis.fits import CapacityEstimate, LatencyFit
from benchctl.analysis.measured_rates import MeasuredRates, measured_rates
from benchctl.analysis.points import Points
from benchctl.analysis.scaling_inputs import mean_latency, served_saturation
from benchctl.analysis.single_replica import _extrapolation
from benchctl.analysis.slo import parse_slo
from benchctl.analysis.summary import read_requests, summarize
from benchctl.load.records import RecordBuffer, to_table
from benchctl.store import RunDir
from tests.unit.run_files import completed_run_info, open_loop_plan

SEGMENTS = [  # start s, end s, req/s, phase: arrivals evenly spaced inside each
    (0.0, 1.0, 50.0, "warmup"),
    (1.0, 6.0, 45.0, "base"),
    (6.0, 11.0, 55.0, "base"),
    (11.0, 16.5, 50.0, "base"),
    (16.5, 19.5, 200.0, "burst"),
    (19.5, 21.0, 50.0, "base"),
    (21.0, 26.0, 48.0, "base"),
]
PHASES = [
    {"name": "warmup", "start": 0.0, "end": 1.0},
    {"name": "base", "start": 1.0, "end": 16.5},
    {"name": "burst", "start": 16.5, "end": 19.5},
    {"name": "base", "start": 19.5, "end": 26.0},
]
BURST_MS = 30.0
BURST_SERVED = 600 / (3.0 + BURST_MS / 1000.0)  # 198.0198: completed within 3.03 s


def spike_run(root: Path, burst_ms: float = BURST_MS) -> Path:
    """The run folder ``root/spike``: requests.parquet, run.json and summary.json (as
    ``benchctl run`` writes it, from ``summary.summarize``); the burst's requests take
    ``burst_ms``."""
    names = ["warmup", "base", "burst"]
    buffer, codes = RecordBuffer(), []
    for start, end, rate, name in SEGMENTS:
        count = round(rate * (end - start))
        for k in range(count):
            t = start + (k + 0.5) / rate
            ms = burst_ms if name == "burst" else 4.0 + k % 11
            buffer.add(t, t, t + ms / 1000.0, 200, "", 10, 10)
        codes += [names.index(name)] * count
    run = root / "spike"
    run.mkdir(parents=True)
    table = to_table(buffer.drain(), names, np.array(codes, dtype=np.int8))
    pq.write_table(table, run / "requests.parquet")
    scenario = {"name": "spike", "time_scale": 1.0, "spec": {"kind": "spike"}}
    curve = [[0.0, 50.0], [16.5, 200.0], [19.5, 50.0]]
    info = completed_run_info("spike", scenario, open_loop_plan(26.0, PHASES, curve))
    (run / "run.json").write_text(json.dumps(info))
    summary = summarize(read_requests(run / "requests.parquet"), PHASES)
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def _fit(base: float, scale: float, x_max: float, r2: float, scale_se: float) -> LatencyFit:
    top = 147.6
    params = (base, math.log(scale), math.log(max(x_max - top, 1e-12)))
    return LatencyFit(
        base, scale, x_max, 0.1, scale_se, 0.1, r2, 0.99, 4, top, params, ((0.0,) * 3,) * 3
    )


def test_trial5_step_fit_is_not_trusted():
    """Trial 5's Triton fit: base 17.364 ms, scale 5.613e-7, x_max 147.60000005, r2 0.880.
    Under p99<=20ms it reaches the SLO 5.613e-7 / (20 - 17.364) = 2.13e-7 req/s below x_max,
    finer than a 5 s window's 0.2 req/s: a step; and r2 < 0.9. Both reasons are given."""
    fit = _fit(17.36393572787969, 5.613188778907024e-07, 147.6000000523952, 0.88, 2.4e-07)
    why = fit.distrust(20.0, 0.2)
    assert why is not None
    assert why.startswith("r² 0.88 < 0.9; it is a step at 147.6 rps, not a measured curve")
    assert "within 2.1e-07 rps of its asymptote, finer than the 0.2 rps" in why


def test_a_flat_fit_is_said_flat_not_a_step_at_an_astronomical_rate():
    """Trial 7's retrograde sweep: latency that does not rise with throughput fits x_max far
    beyond the measured 147.6 rps (1.9e130); it reaches 50 ms within 1e-9 req/s of it. Past
    10 x 147.6 = 1476 rps the reason says the curve is flat and prints no such rate."""
    why = _fit(20.0, 3e-8, 1.9e130, 0.0, 1e-8).distrust(50.0, 0.33)
    assert why == (
        "r² 0.00 < 0.9; latency does not rise with throughput over the measured rates (the "
        "curve is flat: no asymptote within 10x of them)"
    )
    assert "step" in _fit(20.0, 3e-8, 1476.0, 0.0, 1.0).distrust(50.0, 0.33)


def test_a_measured_curve_is_trusted_and_an_undetermined_scale_is_not():
    """base 5 ms, scale 1000 ms x req/s, x_max 200: the SLO 20 ms is reached 1000 / 15 =
    66.7 req/s below x_max (> 0.2); r2 0.95; scale standard error 100 (< 1000): trusted.
    The same curve with a standard error of 2000 (> 1000) is not, and says so."""
    assert _fit(5.0, 1000.0, 200.0, 0.95, 100.0).distrust(20.0, 0.2) is None
    loose = _fit(5.0, 1000.0, 200.0, 0.95, 2000.0).distrust(20.0, 0.2)
    assert loose == "the points do not determine its scale (standard error 2e+03 for 1e+03)"
    assert _fit(5.0, 1000.0, 200.0, 0.95, math.inf).distrust(20.0, 0.2) is not None


def test_a_crossing_within_the_resolution_of_a_broken_rate_is_not_the_figure():
    """Windows (rate = throughput): good 43.4, bad 147.6, resolution 0.2 req/s. A crossing
    at 147.5 is below 147.6 but by 0.1 < 0.2: the figure is 43.4 and the reason names the
    resolution; one at 147.3 (147.6 - 0.3) is the figure; with resolution 0 (no rate
    resolution known) 147.5 is the figure, as before."""
    levels = [Level("t=5s", 43.4, 43.4, 19.2, True), Level("t=15s", 147.6, 147.6, 28.1, False)]
    near = capacity_bound(levels, 20.0, fitted_crossing_rps=147.5, resolution_rps=0.2)
    assert near is not None and near.bound == MEASURED
    assert near.capacity_rps == 43.4 and near.figure_source == "best_good_level"
    assert near.fit_not_used == (
        "the fitted curve crosses the SLO at 147.5 rps, less than the 0.2 rps a rate was "
        "measured to below the 147.6 rps t=15s served when it broke the SLO: the figure is "
        "the best level measured to meet it"
    )
    clear = capacity_bound(levels, 20.0, fitted_crossing_rps=147.3, resolution_rps=0.2)
    assert clear.capacity_rps == 147.3 and clear.figure_source == "fit"
    legacy = capacity_bound(levels, 20.0, fitted_crossing_rps=147.5)
    assert legacy.capacity_rps == 147.5


def test_a_distrusted_fit_is_never_the_figure():
    """The same levels, a crossing at 100.0 (well inside the band, 47.6 below 147.6) from a
    fit with r2 0.5: the figure is 43.4 and the reason says the fit is not used and why."""
    levels = [Level("t=5s", 43.4, 43.4, 19.2, True), Level("t=15s", 147.6, 147.6, 28.1, False)]
    found = capacity_bound(
        levels, 20.0, fitted_crossing_rps=100.0, resolution_rps=0.2, fit_distrust="r² 0.50 < 0.9"
    )
    assert found.capacity_rps == 43.4 and found.figure_source == "best_good_level"
    assert found.fit_not_used == (
        "the fitted curve (crossing the SLO at 100.0 rps) is not used: r² 0.50 < 0.9; the "
        "figure is the best level measured to meet it"
    )


def test_measured_rates_of_windows_levels_and_a_search(tmp_path: Path):
    """Windows of 5 s: resolution 1/5 = 0.2 req/s. The spike run's summary: the burst phase
    served 600 requests within 3 s + 30 ms: 198.02 req/s, more than any window (at most
    700 / 5 = 140). Step levels of 10 s and 20 s: 1/10 = 0.1. Search levels judged over 6 s
    and 8 s: 1/6. Without summary.json the most served is the highest point."""
    run = spike_run(tmp_path)
    info = json.loads((run / "run.json").read_text())
    windows = Points("windows", np.array([52.8, 140.0]), np.array([14.0, 30.0]), None, ["a", "b"])
    rates = measured_rates(run, info, windows, None, 5.0)
    assert rates.resolution_rps == pytest.approx(0.2)
    assert rates.served_rps == pytest.approx(BURST_SERVED)
    assert rates.served_where == "its burst phase"
    planned = [{"name": "s1", "start": 0, "end": 10}, {"name": "s2", "start": 10, "end": 30}]
    steps = {"plan": {"phases": planned}}
    levels = Points("levels", np.array([10.0, 20.0]), np.array([5.0, 6.0]), None, ["s1", "s2"])
    got = measured_rates(tmp_path / "none", steps, levels, None, 5.0)
    assert got.resolution_rps == pytest.approx(0.1)
    assert (got.served_rps, got.served_where) == (20.0, "the s2 level")
    search = {
        "levels": [
            {"name": "l1", "judged_from": 1.0, "judged_to": 7.0},
            {"name": "l2", "judged_from": 10.0, "judged_to": 18.0},
        ]
    }
    found = Points("search", np.array([10.0, 20.0]), np.array([5.0, 6.0]), None, ["l1", "l2"])
    assert measured_rates(tmp_path / "none", {}, found, search, 5.0).resolution_rps == (
        pytest.approx(1 / 6)
    )


def test_the_fit_band_draws_do_not_warn():
    """Trial 5 (MLServer): a loosely determined fit (standard errors 1e4 on its log
    parameters) drew values whose exp overflowed, and numpy's RuntimeWarning reached the
    terminal. The draws are clipped: no warning, a finite band."""
    cov = ((1.0, 0.0, 0.0), (0.0, 1e8, 0.0), (0.0, 0.0, 1e8))
    params = (13.0, math.log(2.4e-4), math.log(5e-5))
    fit = LatencyFit(13.0, 2.4e-4, 147.6, 0.1, 1.0, 1.0, 0.23, 0.99, 4, 147.6, params, cov)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate = fit.capacity_at(20.0)
    assert math.isfinite(estimate.lower) and math.isfinite(estimate.upper)


def test_saturation_bound_sentence():
    """A withheld fitted saturation is said as the bound the run measured."""
    single = {
        "saturation_not_used": "the fitted curve's asymptote (140.0 rps) is not a saturation "
        "rate: r² 0.50 < 0.9",
        "saturation_at_least_rps": BURST_SERVED,
        "saturation_at_least_where": "its burst phase",
    }
    assert saturation_bound_sentence(single) == (
        "Saturation: above 198.0 rps, the most the run served (its burst phase); the fitted "
        "curve's asymptote (140.0 rps) is not a saturation rate: r² 0.50 < 0.9."
    )
    assert saturation_bound_sentence({"saturation_rps": 150.0}) is None


def test_analyze_on_a_step_fit_answers_with_the_best_window_that_met_the_slo(tmp_path: Path):
    """The spike run under p99<=20ms: the windows at 45-55 req/s met it (p99 14 ms), the
    burst window (700 / 5 = 140.0 req/s, p99 30 ms) broke it. The fit is a step at 140.0, so
    the figure is the best window that met the SLO (at most 55 req/s + one request / 5 s),
    not the 139.98 crossing; no saturation figure from the fit, the bound 198.02 (burst
    phase) instead; a 200 rps peak at <= 80%: ceil(200 / (0.8 x figure)) replicas."""
    doc = analyze_run(
        RunDir.open(spike_run(tmp_path)),
        AnalyzeOptions(slo=parse_slo("p99<=20ms"), peak_rps=200.0),
    )
    points = doc["points"]
    good = [
        x
        for x, ms in zip(points["throughput_rps"], points["latency_ms"], strict=True)
        if ms <= 20.0
    ]
    bad = [
        x for x, ms in zip(points["throughput_rps"], points["latency_ms"], strict=True) if ms > 20.0
    ]
    assert bad == [pytest.approx(140.0)]
    single = doc["single_replica"]
    assert single["fitted_crossing_rps"] == pytest.approx(140.0, abs=0.1)  # the step's
    assert doc["capacity_rps"] == max(good) and max(good) <= 55.2
    assert doc["capacity_source"] == "best_good_level"
    assert "it is a step at 140.0 rps, not a measured curve" in doc["capacity_source_note"]
    assert doc["capacity_band_rates"] == "throughput"
    assert doc["capacity_band_offered_rps"] is None  # not a search's points (README)
    assert single["saturation_rps"] is None
    assert single["saturation_at_least_rps"] == pytest.approx(BURST_SERVED)
    assert doc["replicas"]["recommended"] == math.ceil(200.0 / (0.8 * max(good)))


def test_a_spike_whose_burst_met_the_slo_bounds_saturation_by_what_it_served(tmp_path: Path):
    """Trial 6 (Triton spike): every window met p99<=20ms and the fit, a step at the best
    window, was shown as "extrapolates 147.6 rps" while saturation_at_least_rps stayed null
    though the burst served 191.3. Here the burst's requests take 14 ms, so every window's
    p99 is 14 ms: the SLO never broke; the figure is a lower bound, what the burst phase
    served within the SLO, 600 / 3.014 = 199.07 req/s (more than the burst window's
    700 / 5 = 140.0: tests/unit/test_served_within_slo.py). The fit is distrusted (r² <
    0.9): no extrapolation. Its
    asymptote is no saturation rate; the bound is the burst phase, 600 requests over
    3 s + 14 ms = 600 / 3.014 = 199.07 req/s."""
    doc = analyze_run(
        RunDir.open(spike_run(tmp_path, burst_ms=14.0)),
        AnalyzeOptions(slo=parse_slo("p99<=20ms"), peak_rps=200.0),
    )
    single = doc["single_replica"]
    assert (doc["bound"], doc["capacity_rps"]) == ("lower", pytest.approx(600 / 3.014))
    assert doc["extrapolated"] is None and single["extrapolation"] is None
    assert single["extrapolation_dropped"].startswith("the fitted curve is not trusted (r² ")
    assert single["saturation_rps"] is None
    assert single["saturation_at_least_rps"] == pytest.approx(600 / 3.014)
    assert single["saturation_at_least_where"] == "its burst phase"
    assert "is not a saturation rate: r² " in single["saturation_not_used"]
    assert "extrapolates" not in capacity_sentence(doc)
    assert saturation_bound_sentence(single).startswith(
        "Saturation: above 199.1 rps, the most the run served (its burst phase); "
    )


def _step_fit() -> LatencyFit:
    """A fit with x_max 147.6 req/s (the trial-5 MLServer shape; the band draws are not used)."""
    cov = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    params = (13.0, math.log(2.4e-4), math.log(5e-5))
    return LatencyFit(13.0, 2.4e-4, 147.6, 0.1, 1.0, 1.0, 0.99, 0.99, 4, 147.6, params, cov)


def test_an_extrapolation_is_above_the_resolution_and_its_band_says_when_unbounded():
    """The SLO never broke up to 147.6 req/s (band [147.6, 147.6], windows of 5 s: 0.2 req/s
    resolution). A crossing at 147.6002 is that level, not an extrapolation (trial 6); one at
    300 is, with its band [250, 400] kept, and [0, 9.6e303] (300 x 100 = 30,000 < 9.6e303)
    written as unbounded, never as numbers; a distrusted fit shows none."""
    found = capacity_bound([Level("t=15s", 147.6, 147.6, 14.4, True)], 20.0)
    assert found is not None and found.band == (147.6, 147.6)
    fit, rates = _step_fit(), MeasuredRates(0.2)
    at_band = CapacityEstimate(147.6002, True, 0.0, 9.6e303)
    assert _extrapolation(at_band, fit, found, None, rates) == (None, None)
    wide, _ = _extrapolation(CapacityEstimate(300.0, True, 0.0, 9.6e303), fit, found, None, rates)
    assert wide is not None and (wide["band_rps"], wide["band_unbounded"]) == (None, True)
    shown, _ = _extrapolation(CapacityEstimate(300.0, True, 250.0, 400.0), fit, found, None, rates)
    assert shown is not None and shown["band_rps"] == [250.0, 400.0]
    assert not shown["band_unbounded"]
    doc = {"bound": "lower", "capacity_rps": 147.6, "capacity_band_rps": [147.6, 147.6]}
    assert "extrapolates 300.0 rps (its 5-95% band is unbounded): not measured" in (
        capacity_sentence({**doc, "extrapolated": wide})
    )
    kept = CapacityEstimate(300.0, True, 250.0, 400.0)
    assert _extrapolation(kept, fit, found, None, rates, "r² 0.36 < 0.9") == (
        None,
        "the fitted curve is not trusted (r² 0.36 < 0.9)",
    )


def test_the_replica_model_serves_at_least_what_the_run_served():
    """Trial 6: the Knative line modelled queueing with the fit's 147.6 req/s asymptote
    though the burst served 190.0. The service rate is max(capacity 147.6, saturation None,
    served bound 190.0) = 190.0; a measured saturation 150 above capacity 100 stays 150; the
    mean-latency curve's x_max is max(fit 147.6, 190.0) = 190.0, said as a bound."""
    single = {"capacity_rps": 147.6, "saturation_rps": None, "saturation_at_least_rps": 190.0}
    assert served_saturation(single) == 190.0
    assert served_saturation({"capacity_rps": 100.0, "saturation_rps": 150.0}) == 150.0
    mean, source = mean_latency(_step_fit(), None, 190.0)
    assert mean is not None and mean.x_max == 190.0
    assert "190 rps is the most the run served, a lower bound on saturation" in source
