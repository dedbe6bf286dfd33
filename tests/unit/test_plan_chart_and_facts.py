"""The dry run's chart and its plan line (fresh-user trials): a chart of 10-25 rows of a
round tick for any duration (a 4 s run printed 40 rows of 100 ms), bars proportional to the
rate (a planned 0.01 req/s read "0.0" beside a full bar), and a plan line from the values
the run uses (steady said "Poisson gaps" under ``--set arrivals=constant``)."""

from __future__ import annotations

import io
import re
from itertools import pairwise

import pytest
import yaml
from rich.console import Console

from benchctl.config import builtin_dir, load_scenario
from benchctl.plan.chart import TICKS, chart_rows, chart_tick, rows_for
from benchctl.plan.shapes import plan_scenario
from benchctl.reports.terminal.plan_facts import plan_facts
from benchctl.reports.terminal.run_summary import BAR_WIDTH, print_chart

# --------------------------------------------------------------------------- the chart's tick


@pytest.mark.parametrize(
    ("duration", "tick", "rows"),
    [
        (4.0, 0.2, 20),  # 1 s ticks give 4 rows, 0.5 s 8 (< 10), 0.2 s 20
        (120.0, 5.0, 24),  # steady.yaml's 2m: 2 s ticks give 60 rows, 5 s 24
        (30.0, 2.0, 15),  # spike at --time-scale 0.05, one period: 1 s gives 30 (> 25)
        (3 * 3600 + 600, 10 * 60.0, 19),  # 3h10m: 5 min gives 38 rows, 10 min 19
        (1.0, 0.05, 20),
    ],
)
def test_tick_is_round_and_gives_10_to_25_rows(duration, tick, rows):
    assert chart_tick(duration) == pytest.approx(tick)
    assert rows_for(duration, chart_tick(duration)) == rows


def test_every_duration_from_a_tenth_of_a_second_to_a_year_has_10_to_25_rows():
    """Ticks at most 2.5x apart: the smallest giving <= 25 rows gives >= 25 / 2.5 = 10."""
    assert all(b / a <= 2.5 + 1e-9 for a, b in pairwise(TICKS))
    duration = 0.1
    while duration < 366 * 86400:
        assert 10 <= rows_for(duration, chart_tick(duration)) <= 25, duration
        duration *= 1.07


def test_rows_hold_the_highest_rate_of_each_tick():
    """step rates [0, 10, 30], 2 s each (6 s, no warm-up): 0.5 s ticks (0.2 s would give
    30 rows), 12 rows: rows 0-3 hold 0, 4-7 hold 10 and 8-11 hold 30 req/s. In 0.8 s ticks
    (7.5 of them: 8 rows, the last [5.6, 6.0)) row 2 = [1.6, 2.4) holds 0.4 s at 0 and
    0.4 s at 10 req/s: its highest rate is 10; row 1 = [0.8, 1.6) holds 0."""
    step, _ = load_scenario("step", overrides=["rates=[0,10,30]", "step_duration=2s", "warmup=0s"])
    plan = plan_scenario(step)
    rows = chart_rows(plan)
    assert chart_tick(plan.duration) == 0.5
    assert [round(v, 9) for _, _, v in rows] == [0] * 4 + [10] * 4 + [30] * 4
    assert rows[-1][1] == 6.0
    uneven = chart_rows(plan, 0.8)
    assert len(uneven) == 8 and uneven[-1][:2] == pytest.approx((5.6, 6.0))
    assert uneven[2][2] == 10.0 and uneven[1][2] == 0.0


def test_a_sweeps_rows_hold_the_highest_concurrency():
    """sweep levels [1, 3], hold 1s: 2 s in 0.1 s ticks (20 rows): 1 then 3; in 0.8 s
    ticks, [0.8, 1.6) holds 1 then 3: 3."""
    sweep, _ = load_scenario("sweep", overrides=["levels=[1,3]", "hold=1s", "warmup=0s"])
    rows = chart_rows(plan_scenario(sweep))
    assert [v for _, _, v in rows] == [1.0] * 10 + [3.0] * 10
    assert chart_rows(plan_scenario(sweep), 0.8)[1][2] == 3.0


def chart_text(overrides: list[str]) -> list[str]:
    """The chart's rows of ``step`` with ``overrides``, as printed (no colour, 120 wide)."""
    step, _ = load_scenario("step", overrides=overrides)
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_chart(console, plan_scenario(step), "req/s")
    return console.file.getvalue().splitlines()


def test_bars_are_proportional_and_zero_is_no_bar():
    """rates [0, 5, 20] req/s, 1 s each: 0 -> no bar, 5 -> 40 x 5/20 = 10, 20 -> 40."""
    lines = chart_text(["rates=[0,5,20]", "step_duration=1s", "warmup=0s"])
    assert lines[0] == (
        "one row per 200ms: the highest req/s planned in it; the longest bar is 20.0 req/s"
    )
    bars = {line.split()[1]: line.count("█") for line in lines[1:]}
    assert bars == {"0.0": 0, "5.0": 10, "20.0": BAR_WIDTH}


def test_a_burst_shorter_than_a_tick_shows_at_its_height():
    """spike at --time-scale 0.1: 3 periods of 60 s (180 s: 10 s ticks, 18 rows); each
    burst rises from 30 s over 1 s and holds 200 req/s for 6 s (31-37 s), inside one tick:
    that row shows 200.0 and the full bar; a base row 40.0, a bar of 40 x 40/200 = 8."""
    spike, _ = load_scenario("spike")
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_chart(console, plan_scenario(spike, 0.1), "req/s")
    rows = [line.split() for line in console.file.getvalue().splitlines()[1:]]
    assert len(rows) == 18
    bursts = {(r[0], r[1], len(r[3])) for r in rows if r[0] in ("30s", "1m30s", "2m30s")}
    assert bursts == {("30s", "200.0", 40), ("1m30s", "200.0", 40), ("2m30s", "200.0", 40)}
    assert (rows[0][1], len(rows[0][3])) == ("40.0", 8)


def test_a_small_planned_rate_is_not_shown_as_zero():
    """rates [0.01, 0.02] req/s, 10 min each (12 requests): shown as 0.01 and 0.02, bars
    20 and 40 long; never "0.0" beside a bar."""
    lines = chart_text(["rates=[0.01,0.02]", "step_duration=10m", "warmup=0s"])
    values = [(line.split()[1], line.count("█")) for line in lines[1:]]
    assert set(values) == {("0.01", 20), ("0.02", 40)}


# --------------------------------------------------------------------------- the plan line


def facts(name: str, *overrides: str, time_scale: float = 1.0) -> str:
    scenario, _ = load_scenario(name, overrides=overrides)
    return plan_facts(scenario, plan_scenario(scenario, time_scale), time_scale)


def test_steady_says_the_gaps_it_will_use():
    assert facts("steady", "arrivals=constant", "duration=4s", "warmup=1s") == (
        "open loop, constant gaps: 50 req/s for 4s; warm-up: the first 1s, not counted"
    )
    assert facts("steady").startswith("open loop, Poisson gaps: 50 req/s for 2m;")


def test_spike_says_its_period_as_it_will_run():
    """spike.yaml: 40 req/s x 5 = 200, period 10m, burst at 5m, rise 10s, burst 1m; at
    --time-scale 0.1: period 1m, at 30s, rise 1s, hold 6s, fall 1s; warm-up 20s -> 2s."""
    assert facts("spike", time_scale=0.1) == (
        "open loop, Poisson gaps: 40 req/s with a burst to 200 req/s (x5) every 1m, 3 "
        "periods; each burst starts 30s into its period, rises over 1s, holds 6s and falls "
        "over 1s; warm-up: the first 2s, not counted"
    )
    assert "every 2m, one period" in facts("spike", "period=2m", "burst_at=30s", "periods=1")


def test_ramp_sweep_and_step_say_their_own_values():
    assert "held" not in facts("ramp", "hold=0s")
    assert "then held at 200 req/s for 1m" in facts("ramp")
    line = facts("sweep", "levels=[4,16]", "hold=2s", "warmup=0s")
    assert line == "closed loop: 4, 16 requests in flight in turn, 2s each"
    assert facts("sweep", "warmup=0s").startswith("closed loop: 1, 2, 4, 8, 16, 32 requests")
    assert facts("step", "rates=[5,7.5]", "step_duration=3s", "warmup=0s") == (
        "open loop, Poisson gaps: 5, 7.5 req/s, 3s each"
    )


def _stated(value: object) -> list[str]:
    """Patterns of how a description could state a field's value: the text as written in
    the YAML file (a word or number), and a duration in words (``10m``: "10 minutes",
    "10-minute")."""
    text = str(value)
    forms = [re.escape(text)]
    words = {"s": "second", "m": "minute", "h": "hour"}
    if match := re.fullmatch(r"(\d+)([smh])", text):
        forms.append(rf"{match[1]}[ -]{words[match[2]]}s?")
    return forms


@pytest.mark.parametrize("path", sorted(builtin_dir("scenarios").glob("*.yaml")), ids=str)
def test_builtin_descriptions_state_no_value_an_override_changes(path):
    """A description is the scenario's purpose; every value the user can override (--set,
    --rate, --duration, --time-scale) is stated by the plan line, never by the text:
    steady's "Poisson gaps" (arrivals), spike's "every 10 minutes" (period) were wrong
    under an override. The check: no field's value, as written in the file, appears in
    the description as a word."""
    data = yaml.safe_load(path.read_text())
    description = str(data.get("description", ""))
    for field, value in data.items():
        if field in ("kind", "description") or isinstance(value, list | dict) or value is None:
            continue
        for form in _stated(value):
            pattern = rf"(?<![\w.<=]){form}(?![\w.])"
            assert not re.search(pattern, description, re.IGNORECASE), (field, form)
