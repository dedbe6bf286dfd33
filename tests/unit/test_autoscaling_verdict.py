"""What an autoscaler simulation can say (trial 7, F3): traffic shorter than one pod start
plus the rate window judges nothing; the scaling of the run's traffic to the peak is said;
an HPA whose target × recommended count is below the peak is not "consistent" with it."""

from __future__ import annotations

import json
from pathlib import Path

from benchctl.analysis.autoscaling_verdict import hpa_at_peak, too_short, traffic_sentence
from benchctl.analysis.cluster import ClusterSpec
from tests.unit.run_files import installed_benchctl, set_scenario, step_scenario
from tests.unit.test_analyze import RATES, mm1_step_run


def test_traffic_shorter_than_a_pod_start_and_a_rate_window_is_not_judged():
    """Default cluster: pod start 45 s (2 + 20 + 20 + 3), rate window 60 s: 105 s."""
    reason = too_short(30.0, ClusterSpec())
    assert reason is not None and "traffic (30 s) is too short" in reason and "= 105 s" in reason
    assert too_short(105.0, ClusterSpec()) is None


def test_the_scaling_to_the_peak_is_said():
    """The trial's step run: 20/40/80 rps scaled to --peak-rps 500: ×500/80 = ×6.25."""
    line = traffic_sentence("step", True, 80.0, 500.0)
    assert line == (
        "Traffic: the run's step shape at real time (peak 80.0 rps) scaled ×6.25 to the "
        "500.0 rps peak, every second alike."
    )
    assert "not scaled" in traffic_sentence("spike", False, 200.0, 200.0)


def test_an_hpa_below_the_peak_at_the_recommended_count_is_not_consistent():
    """Target 25.68 rps per replica, 15 recommended: 15 × 25.68 = 385.2 < 500, so a
    sustained 500 rps settles at ceil(500 / 25.68) = ceil(19.47) = 20 replicas."""
    consistency = {"recommended": 15, "simulated_at_peak": 15, "text": "at least"}
    section = {
        "deployment": "RawDeployment",
        "hpa": {"policy": {"metric": "rps_per_replica", "target": 25.68, "min_replicas": 15}},
        "consistency": consistency,
        "summary": ["Consistency: at least the 15 recommended"],
    }
    hpa_at_peak(section, 500.0)
    assert consistency["sustained_peak_replicas"] == 20
    assert consistency["consistent_with_recommended"] is False
    assert "15 × 25.68 = 385 rps < 500" in section["summary"][0]
    section["consistency"] = {"recommended": 20, "simulated_at_peak": 20, "text": "ok"}
    hpa_at_peak(section, 500.0)  # 20 × 25.68 = 513.6 >= 500: nothing to say
    assert section["consistency"]["text"] == "ok"


def test_analyze_a_30_s_step_run_as_a_user(tmp_path: Path):
    """The run's scenario is 5 steps of 6 s (30 s, peak 180 rps) sized for --peak-rps 600
    (×600/180 = ×3.33): no verdict (30 s < 105 s), as a warning; no candidate 'meets the
    SLO'; no monthly cost of the simulated autoscaler; the scaling is said."""
    run_dir = mm1_step_run(tmp_path)
    set_scenario(run_dir, step_scenario(RATES, 6.0))
    done = installed_benchctl(
        "analyze", run_dir.name, "--slo", "p99<=100ms", "--peak-rps", "600", "--price",
        "2/h", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "Traffic: the run's step shape at real time (peak 180.0 rps) scaled ×3.33 to the " in (
        out
    )
    assert "warning: no autoscaling verdict: the simulated traffic (30 s) is too short" in out
    doc = json.loads((run_dir / "capacity.json").read_text())
    scaling = doc["autoscaling"]
    assert scaling["verdict"]["judged"] is False
    assert not any("meets the SLO" in line for line in scaling["summary"])
    assert "autoscaled" not in doc["cost"] and "chosen autoscaler" not in out
