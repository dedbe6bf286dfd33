"""`benchctl analyze --peak-rps` on one model, as a user runs it (installed executable, fresh
directory, relative runs/): the recommended count, the M/M/c table's first acceptable row
and the autoscaler simulation's count all rest on one basis, the capacity with headroom.
The M/M/c table kept its headroom on the saturation rate for a single model, so it marked
acceptable a count below the one recommended in the same report."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tests.e2e.helpers import analyze_copy
from tests.unit.test_analyze import MU, mm1_step_run


def test_one_model_is_sized_on_one_basis(tmp_path: Path) -> None:
    """test_analyze's seeded M/M/1 step run (mu = 200 req/s; levels 40 ... 180 req/s),
    p99 <= 100 ms: capacity C = mu + ln(0.01) / 0.1 s = 153.95 req/s exactly, measured
    from the run within a few percent (154.8); saturation near mu = 200 (the fit's 199.0).
    Peak 600 req/s, 20%
    headroom: by capacity ceil(600 / (0.8 C)); for any C in [150, 160] that is
    ceil(5.0 .. 4.69) = 5. On the saturation rate the table's rows were within headroom
    from ceil(600 / (0.8 x 200)) = ceil(3.75) = 4: the table offered 4 beside a
    recommended 5. Now 4 is not within headroom (600 / 4 = 150 > 0.8 C), 5 is, and 5 is
    the recommendation, the table's first acceptable row and the count the simulated
    autoscaler is checked against: at the peak it runs at least those 5."""
    done, run = analyze_copy(
        mm1_step_run, tmp_path, "step", "--slo", "p99<=100ms", "--peak-rps", "600", timeout=300
    )
    assert done.returncode == 0, done.output()
    doc = json.loads((run / "capacity.json").read_text())
    capacity = doc["capacity_rps"]
    exact = MU + math.log(0.01) / 0.1
    assert 150.0 <= capacity <= 160.0 and abs(capacity - exact) / exact < 0.03, capacity
    replicas = doc["replicas"]
    assert replicas["by_capacity"] == math.ceil(600 / (0.8 * capacity)) == 5
    rows = {row["replicas"]: row for row in replicas["table"]}
    assert rows[4]["within_headroom"] is False and rows[5]["within_headroom"] is True
    acceptable = [n for n, row in rows.items() if row["meets_slo"] and row["within_headroom"]]
    assert min(acceptable) == replicas["recommended"] == 5
    consistency = doc["autoscaling"]["consistency"]  # the chosen autoscaler, simulated
    assert consistency["recommended"] == 5
    assert consistency["simulated_at_peak"] >= 5 and consistency["at_least_recommended"]
    assert " ".join(done.stdout.split()).count("For a peak of 600 rps: 5 replicas") == 1
