"""The trial-5 capacity search on a launched Triton (finding 4), analyzed again by the
installed ``benchctl`` from a fresh folder.

The run (tests/unit/data/trial5-capacity-triton: its run.json, search.json, summary.json,
requests and telemetry) held one level, 10 req/s offered, before max_duration stopped it. The
server's processes used 0.33-0.63 core in its 5 s windows, nearly all of it
triton_python_backend_stub polling (tritonserver itself 0-1%), while the same server served
191 rps in a spike run at 1.90 ms of CPU per request (U = 0.52 + 0.0019 X across that run's
windows). The old reading fitted a slope to the level's windows, whose throughputs (4.6-12.6
req/s) differ by arrival noise and partial edge windows: 21.86 ms per request and "no more
than 76.3 rps". One level cannot separate demand from background: U / X = 0.530 / 10.204 =
51.94 ms (the mean server CPU over the five whole windows inside the level, 53.0%, over their
mean throughput) bounds the demand, and nothing bounds the capacity above. The throughputs:
11.4, 9.0, 10.0 and 12.6 req/s, and the first window's 32 successes over the 5 - 1.009 =
3.991 s it measured (the first send after the 1 s warm-up at 1.009 s): 8.018 req/s
(windows.measured_widths; over the full 5 s it read 6.4 and the mean 9.88, 53.64 ms);
(8.018 + 11.4 + 9.0 + 10.0 + 12.6) / 5 = 10.204 req/s.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.run_files import this_python_benchctl

DATA = Path(__file__).parent / "data" / "trial5-capacity-triton"
RUN = "20261130T095552Z-capacity-triton"


def test_one_level_search_on_triton_states_no_demand_ceiling(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "runs")
    done = this_python_benchctl("analyze", f"runs/{RUN}", "--slo", "p99<=20ms", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "76.3" not in out and "nothing measured bounds it above" in out
    assert "one load level (10.2 rps)" in out and "at most 51.94 ms per request" in out
    doc = json.loads((tmp_path / "runs" / RUN / "capacity.json").read_text())
    assert doc["demand_upper_rps"] is None and doc["upper_bound_source"] == "none"
    assert doc["capacity_band_rps"] == [10.45, 10.45]
    cpu = doc["service_demand"]["server_cpu"]
    assert cpu["ms_per_request"] is None and cpu["saturates_at_rps"] is None
    first = 32 / (5 - 1.008857)  # the first window's successes over its measured seconds
    mean_rate = (first + 11.4 + 9.0 + 10.0 + 12.6) / 5
    assert cpu["ms_per_request_at_most"] == pytest.approx(53.0 / 100 / mean_rate * 1000, rel=1e-3)
    done = this_python_benchctl("report", f"runs/{RUN}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "runs" / RUN / "report.html").read_text()
    assert "Service demand, no ceiling: server_cpu: one load level (10.2 rps)" in page
