"""The small lines trial 5 found wrong (cosmetics): the dry run's phase times as they will
run, the spike sentence's rise named for what it measures, the last progress line after
the schedule, a trace's zone note, and the SLO grammar's case and percentile message."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.analysis.slo import parse_slo
from benchctl.errors import InputError
from benchctl.plan.traces import read_trace
from benchctl.reports.terminal.live import target_text
from benchctl.reports.terminal.run_summary import plan_time
from tests.e2e.helpers import benchctl


def test_plan_times_show_what_will_run() -> None:
    """A burst from 15.5 s to 18.5 s is not '16s-18s'; 0.75 s ticks are distinct."""
    assert [plan_time(t) for t in (0.0, 0.75, 1.5, 2.25, 15.5, 18.5, 30.0, 75.5, 120.0)] == [
        "0s", "750ms", "1.5s", "2.25s", "15.5s", "18.5s", "30s", "1m15.5s", "2m",
    ]  # fmt: skip


def test_spike_dry_run_names_the_half_seconds(tmp_path: Path) -> None:
    """spike at --time-scale 0.05, one period of 600 s -> 30 s: burst_at 300 s -> 15 s,
    rise 10 s -> 0.5 s, burst 60 s -> 3 s, fall 10 s -> 0.5 s (scenarios/spike.yaml)."""
    done = benchctl(
        "run", "spike", "--time-scale", "0.05", "--set", "periods=1", "--dry-run", cwd=tmp_path
    )
    assert done.returncode == 0, done.output()
    text = " ".join(done.stdout.split())
    assert "rise 15s–15.5s, burst 15.5s–18.5s, fall 18.5s–19s" in text, done.output()
    # 30 s in round ticks of 2 s (1 s would give 30 rows, more than 25): 15 distinct rows
    rows = [line.split() for line in done.stdout.splitlines()]
    ticks = [cells[0] for cells in rows if len(cells) >= 3 and cells[2] == "req/s"]
    assert len(ticks) == 15 and len(set(ticks)) == 15, ticks


def test_spike_sentence_says_what_its_rise_measures() -> None:
    from tests.unit.test_autoscale import RPS_100, simulate_hpa, spike_advice, spikes

    traffic, model = spikes(cold=60)
    text = spike_advice(traffic, model, simulate_hpa(traffic, model, RPS_100))
    assert "rising from 10% to 90% of the burst in 1 s;" in text, text  # a 1 s step


def test_last_progress_line_after_the_schedule() -> None:
    event = {"open_loop": True, "elapsed": 30.2, "duration": 30.0, "target": 0.0}
    assert target_text(event, "rps") == "target: schedule done"
    assert target_text({**event, "elapsed": 29.0, "target": 20.0}, "rps") == "target 20.0 rps"
    closed = {**event, "open_loop": False, "target": 8.0}
    assert target_text(closed, "conc") == "target 8.0 conc"


@pytest.mark.parametrize(
    ("cells", "note"),
    [
        (["2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z"], "each with its zone"),
        (["2024-05-01T10:00:00+02:00", "2024-05-01T10:00:01+02:00"], "each with its zone"),
        (["2024-05-01T10:00:00", "2024-05-01T10:00:01"], "no zone given: read as UTC"),
        (["2024-05-01T10:00:00Z", "2024-05-01T10:00:01"], "1 without a zone: read as UTC"),
    ],
)
def test_trace_zone_note_says_what_the_cells_say(tmp_path: Path, cells: list[str], note: str):
    path = tmp_path / "t.csv"
    path.write_text("time\n" + "\n".join(cells) + "\n")
    notes = [n for n in read_trace(path).notes if "ISO 8601" in n]
    assert len(notes) == 1 and notes[0].endswith(f"read as ISO 8601 timestamps ({note})"), notes


def test_slo_letters_in_any_case_and_the_percentile_rule() -> None:
    assert parse_slo("P99<=200MS") == parse_slo("p99<=200ms")
    assert parse_slo("p95<=0.5S").threshold_ms == 500.0
    for text in ("p100<=1s", "p0<=1s"):
        with pytest.raises(InputError) as caught:
            parse_slo(text)
        assert str(caught.value) == (
            f"--slo {text!r}: the percentile must be above 0 and below 100, e.g. p99 or "
            "p99.9 (p100 is the maximum, which no number of requests pins down)"
        )
