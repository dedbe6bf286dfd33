"""Known answers for the scenario math: arrivals per window, Poisson moments, seeds."""

from pathlib import Path

import numpy as np
import pytest

from benchctl.config import (
    RampScenario,
    ReplayScenario,
    SpikeScenario,
    SteadyScenario,
    StepScenario,
    SweepScenario,
    load_scenario,
)
from benchctl.errors import InputError
from benchctl.plan.shapes import iter_arrivals, plan_scenario


def arrivals(plan, share=(0, 1)):
    return np.concatenate(list(iter_arrivals(plan, share=share, chunk=4096)))


def test_constant_steady_has_exact_count_and_gaps():
    plan = plan_scenario(SteadyScenario(kind="steady", rate=50, duration=10, arrivals="constant"))
    times = arrivals(plan)
    assert len(times) == 500
    assert np.allclose(np.diff(times), 1 / 50)
    assert times[0] == pytest.approx(0.01)


def test_poisson_counts_have_mean_and_variance_of_rate():
    plan = plan_scenario(SteadyScenario(kind="steady", rate=200, duration=300, seed=7))
    times = arrivals(plan)
    per_second = np.histogram(times, bins=np.arange(0, 301))[0]
    # Poisson(200): mean 200, variance 200; 300 samples give ~±1.6% on the mean.
    assert per_second.mean() == pytest.approx(200, rel=0.02)
    assert per_second.var(ddof=1) == pytest.approx(200, rel=0.25)
    gaps = np.diff(times)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.03)  # exponential: CV = 1


def test_same_seed_same_schedule_other_seed_differs():
    scenario = SteadyScenario(kind="steady", rate=100, duration=20, seed=3)
    first, again = arrivals(plan_scenario(scenario)), arrivals(plan_scenario(scenario))
    other = arrivals(plan_scenario(scenario.model_copy(update={"seed": 4})))
    assert np.array_equal(first, again)
    assert not np.array_equal(first[:100], other[:100])


def test_shares_partition_the_schedule_exactly():
    plan = plan_scenario(SteadyScenario(kind="steady", rate=300, duration=10, seed=5))
    whole = arrivals(plan)
    parts = [arrivals(plan, share=(i, 3)) for i in range(3)]
    assert sum(len(p) for p in parts) == len(whole)
    assert np.array_equal(np.sort(np.concatenate(parts)), whole)


def test_ramp_arrivals_per_window_follow_the_line():
    scenario = RampScenario(
        kind="ramp", start_rate=0, end_rate=100, ramp_time=100, arrivals="constant"
    )
    times = arrivals(plan_scenario(scenario))
    assert len(times) == 5000  # area of the triangle: 100 s x 100 rps / 2
    # In [90, 100): integral of t dt = (100² - 90²)/2 = 950.
    assert np.sum((times >= 90) & (times < 100)) == pytest.approx(950, abs=1)
    assert np.sum(times < 10) == pytest.approx(50, abs=1)


def test_step_staircase_counts_and_phases():
    scenario = StepScenario(
        kind="step", rates=[10, 20, 40], step_duration=30, arrivals="constant", warmup=5
    )
    plan = plan_scenario(scenario)
    times = arrivals(plan)
    counts = np.histogram(times, bins=[0, 30, 60, 90])[0]
    assert counts.tolist() == [300, 600, 1200]
    assert [p.name for p in plan.phases] == ["warmup", "step1@10rps", "step2@20rps", "step3@40rps"]
    assert plan.phases[1].start == 5


def test_spike_bursts_every_period_and_time_scale_keeps_rates():
    scenario = SpikeScenario(
        kind="spike",
        base_rate=10,
        burst_multiplier=5,
        period=600,
        burst_at=300,
        rise_time=10,
        burst_length=60,
        periods=3,
        arrivals="constant",
    )
    full, scaled = plan_scenario(scenario), plan_scenario(scenario, time_scale=0.1)
    assert full.duration == 1800 and scaled.duration == pytest.approx(180)
    # Per period: base 10 rps for 600 - 80 s = 5200, ramps 2 x 10 s x 30 = 600, burst 60 x 50.
    per_period = 10 * 520 + 2 * 10 * 30 + 60 * 50
    assert full.expected_requests() == pytest.approx(3 * per_period)
    assert scaled.expected_requests() == pytest.approx(0.1 * 3 * per_period)
    times = arrivals(scaled)
    for p in range(3):  # burst held at 50 rps for 6 s in every scaled period
        start = p * 60 + 30 + 1
        assert np.sum((times >= start) & (times < start + 6)) == pytest.approx(300, abs=1)
    bursts = [ph for ph in full.phases if ph.name == "burst"]
    assert [b.start for b in bursts] == [310, 910, 1510]


def test_spike_burst_must_fit_in_period():
    with pytest.raises(ValueError, match="fit within period"):
        SpikeScenario(kind="spike", base_rate=1, burst_multiplier=2, period=60, burst_length=60)


def test_sweep_levels_double_up_to_max():
    plan = plan_scenario(SweepScenario(kind="sweep", max_concurrency=12, hold=10))
    assert [level for _, level in plan.levels] == [1, 2, 4, 8, 12]
    assert plan.duration == 50 and not plan.open_loop
    assert plan.concurrency_at(25) == 4


def test_replay_rates_and_exact_times(tmp_path: Path):
    rates = tmp_path / "rates.csv"
    rates.write_text("rate\n10\n30\n0\n20\n")
    plan = plan_scenario(ReplayScenario(kind="replay", trace=rates, arrivals="constant"))
    counts = np.histogram(arrivals(plan), bins=[0, 1, 2, 3, 4])[0]
    assert counts.tolist() == [10, 30, 0, 20]
    times = tmp_path / "times.csv"
    times.write_text("time\n5.0\n5.5\n7.25\n")
    exact = plan_scenario(ReplayScenario(kind="replay", trace=times))
    assert arrivals(exact).tolist() == [0.0, 0.5, 2.25]


def test_replay_bad_trace_names_file_line_and_field(tmp_path: Path):
    trace = tmp_path / "bad.csv"
    trace.write_text("rate\n10\nlots\n")
    with pytest.raises(InputError, match=r"bad.csv:3: field 'rate': expected a number"):
        plan_scenario(ReplayScenario(kind="replay", trace=trace))


def test_warmup_is_its_own_phase_and_never_eats_a_level():
    plan = plan_scenario(SteadyScenario(kind="steady", rate=1, duration=60, warmup=10))
    assert plan.phases[0].name == "warmup" and plan.phases[0].end == 10
    assert plan.phase_index(np.array([5.0, 15.0])).tolist() == [0, 1]
    assert plan.notes == ()
    # A 5 s run with a 10 s warm-up: the warm-up is cut to half the run (2.5 s), with a note.
    short = plan_scenario(SteadyScenario(kind="steady", rate=1, duration=5, warmup=10))
    assert [(p.name, p.start, p.end) for p in short.phases] == [
        ("warmup", 0.0, 2.5),
        ("steady", 2.5, 5.0),
    ]
    assert len(short.notes) == 1 and "10s to 2.5s" in short.notes[0]


@pytest.mark.parametrize("name", ["steady", "ramp", "step", "spike", "soak", "sweep", "replay"])
def test_every_builtin_scenario_loads_and_plans(name: str):
    scenario, path = load_scenario(name)
    assert path.name == f"{name}.yaml"
    plan = plan_scenario(scenario, time_scale=0.1)
    assert plan.duration > 0 and plan.phases
