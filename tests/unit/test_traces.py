"""Replay traces as people have them (known answers computed in each docstring)."""

from pathlib import Path

import numpy as np
import pytest

from benchctl.config import ReplayScenario
from benchctl.errors import InputError
from benchctl.plan.shapes import plan_scenario
from benchctl.plan.traces import read_trace, replay_duration

from ..e2e.helpers import benchctl


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def test_utf8_bom_is_stripped(tmp_path: Path):
    """Excel's 'CSV UTF-8' starts with EF BB BF: the column is still 'time'."""
    trace = read_trace(write(tmp_path, "bom.csv", b"\xef\xbb\xbftime\n0.0\n0.5\n1.0\n"))
    assert trace.times.tolist() == [0.0, 0.5, 1.0]


def test_semicolon_and_tab_separated(tmp_path: Path):
    """Excel in comma-decimal locales writes ';': time;model → arrivals 0, 1.5, 3."""
    trace = read_trace(write(tmp_path, "semi.csv", "time;model\n0;a\n1.5;b\n3;a\n"))
    assert trace.times.tolist() == [0.0, 1.5, 3.0]
    assert read_trace(write(tmp_path, "tab.csv", "rate\tx\n4\t1\n")).rates.tolist() == [4.0]


def test_epoch_milliseconds_detected_and_said(tmp_path: Path):
    """1714557600000, +500, +1000 ms: 1 s of traffic (0, 0.5, 1.0 s), not 16 min 40 s."""
    path = write(tmp_path, "ms.csv", "time\n1714557600000\n1714557600500\n1714557601000\n")
    trace = read_trace(path)
    assert (trace.times - trace.times.min()).tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert "epoch milliseconds" in trace.notes[0] and str(path) in trace.notes[0]


def test_time_unit_option_and_seconds_default_is_said(tmp_path: Path):
    """Relative ms 0, 250, 1000 cannot be told from seconds: auto reads seconds and says
    so; time_unit: ms reads 0, 0.25, 1.0 s."""
    path = write(tmp_path, "rel.csv", "time\n0\n250\n1000\n")
    auto = read_trace(path)
    assert auto.times.tolist() == [0.0, 250.0, 1000.0]
    assert "read as seconds" in auto.notes[0] and "time_unit: ms" in auto.notes[0]
    assert read_trace(path, "ms").times.tolist() == pytest.approx([0.0, 0.25, 1.0])
    plan = plan_scenario(ReplayScenario(kind="replay", trace=path, time_unit="ms", warmup=0))
    # span 1.0 s + median gap of (0.25, 0.75) = 0.5 s
    assert plan.duration == pytest.approx(1.5)


def test_iso_timestamps(tmp_path: Path):
    """ISO 8601 with Z and without a zone (UTC), 7 fraction digits (Azure LLM trace):
    10:00:00Z, 10:00:01.5, 10:00:02.2500000 → 0, 1.5, 2.25 s."""
    text = "TIMESTAMP\n2024-05-01T10:00:00Z\n2024-05-01 10:00:01.5\n2024-05-01 10:00:02.2500000\n"
    trace = read_trace(write(tmp_path, "iso.csv", text))
    assert trace.times.tolist() == pytest.approx([0.0, 1.5, 2.25])


def test_burstgpt_columns(tmp_path: Path):
    """BurstGPT: Timestamp in seconds beside token columns: arrivals at 5 and 45 s."""
    text = (
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        "5,ChatGPT,472,18,490,Conversation log\n45,ChatGPT,1087,230,1317,Conversation log\n"
    )
    trace = read_trace(write(tmp_path, "burst.csv", text))
    assert trace.form == "BurstGPT" and trace.times.tolist() == [5.0, 45.0]


def test_azure_functions_forms(tmp_path: Path):
    """2019 per-minute counts: two functions, minutes 1..2 → 60+120=180, 0+60=60 per
    minute → 3.0 req/s for 60 s then 1.0 req/s for 60 s. 2021 invocations: arrival =
    end_timestamp − duration → 0.5 and 2.0."""
    minutes = "HashOwner,HashApp,HashFunction,Trigger,1,2\na,b,c,http,60,0\na,b,d,timer,120,60\n"
    rates = read_trace(write(tmp_path, "azure19.csv", minutes)).rates
    assert (
        len(rates) == 120
        and rates[:60].tolist() == [3.0] * 60
        and rates[60:].tolist() == [1.0] * 60
    )
    invocations = "app,func,end_timestamp,duration\na,f,1.5,1.0\na,g,2.25,0.25\n"
    assert read_trace(write(tmp_path, "azure21.csv", invocations)).times.tolist() == [0.5, 2.0]


def test_planned_duration_covers_the_last_arrival():
    """One arrival or 50 at one instant: 1 s. 2 arrivals 1 s apart: 1 + 1 = 2 s (1 req/s).
    0, 1, 2, 7200, 7201: gaps 1, 1, 7198, 1, median 1 → 7202 s."""
    assert replay_duration(np.array([0.0])) == 1.0
    assert replay_duration(np.zeros(50)) == 1.0
    assert replay_duration(np.array([0.0, 1.0])) == 2.0
    assert replay_duration(np.array([0.0, 1, 2, 7200, 7201])) == 7202.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("time\n0\nnan\n2\n", ":3: field 'time': expected a finite number >= 0, got 'nan'"),
        ("rate\n10\ninf\n", ":3: field 'rate': expected a finite number >= 0, got 'inf'"),
        ("time\n0.5\n-1\n", ":3: field 'time': must be >= 0, got '-1'"),
        ("time\n0.5\nsoon\n", ":3: field 'time': expected a number >= 0, got 'soon'"),
        (b"time\n0.5\n\xff\xfe\n", ":3: not UTF-8 text (byte 0xff)"),
        ("when,what\n1,2\n", ":1: no trace column; expected 'time'"),
        ("time\n2024-05-01T10:00:00Z\nlater\n", ":3: field 'time': expected an ISO 8601"),
        ("time\n", ": the trace is empty"),
        ("HashOwner,1,2\na,3,4\nb,5,nan\n", ":3: field '2': expected a finite number >= 0"),
        ("HashOwner,1,2\na,3\n", ":2: field '2': expected a number >= 0, got ''"),
    ],
)
def test_everything_else_is_refused_naming_file_and_line(tmp_path: Path, data, message):
    path = write(tmp_path, "bad.csv", data)
    with pytest.raises(InputError) as raised:
        read_trace(path)
    assert str(raised.value).startswith(str(path)) and message in str(raised.value)


def test_cli_dry_run_exit_2_one_line_and_unit_note(tmp_path: Path):
    """As a user runs it: a NaN cell is one stderr line naming file:line, exit 2; an epoch-ms
    trace plans 1.5 s (span 1 s + median gap 0.5 s; shown rounded as 2s, not 16m40s) and
    says it read milliseconds."""
    (tmp_path / "nan.csv").write_text("time\n0\nnan\n")
    (tmp_path / "ms.csv").write_text("time\n1714557600000\n1714557600500\n1714557601000\n")
    for name in ("nan", "ms"):
        (tmp_path / f"r-{name}.yaml").write_text(f"kind: replay\ntrace: {name}.csv\nwarmup: 0s\n")
    bad = benchctl("run", "r-nan.yaml", "--dry-run", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr + bad.stdout
    assert bad.stderr.strip().count("\n") == 0 and "nan.csv:3: field 'time'" in bad.stderr
    good = benchctl("run", "r-ms.yaml", "--dry-run", cwd=tmp_path)
    assert good.returncode == 0, good.output()
    assert "epoch milliseconds" in good.stdout and "duration 2s, about 3 requests" in good.stdout


def test_a_trace_with_both_time_and_rate_columns_is_refused_not_guessed(tmp_path: Path):
    """time,rate with rows (0, 1e15) and (10, 1e15) was read as two arrival times (2
    requests, the rate column silently ignored; -5 passed too): which form is meant cannot be
    known, so the file is refused in one line naming file:1 and both columns."""
    path = write(tmp_path, "t.csv", "time,rate\n0,1e15\n10,1e15\n")
    with pytest.raises(InputError) as raised:
        read_trace(path)
    assert str(raised.value).startswith(f"{path}:1: both 'time' (arrival times) and 'rate'")
    assert len(str(raised.value).splitlines()) == 1
