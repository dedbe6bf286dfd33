"""make demo (trial 8): "Saturates near 81.6 rps (fit)" while level4@80rps served 74.2 of
the 79.8 rps that arrived, and an M/M/c row "62 | 99% | 93.5 ms | yes" at 5000 / 62 = 80.6
rps per replica, above the 76.25 rps at which level6@70rps broke the SLO. A level that
clearly fell behind its arrivals measures the saturation, and no table row meets the SLO at
a rate per replica the run measured to break it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchctl.analysis.answer import saturation_sentence
from benchctl.analysis.measured_rates import MeasuredRates
from benchctl.analysis.points import Points
from benchctl.analysis.replica_sizing import replicas_for_peak
from benchctl.analysis.saturation import clearly_overloaded
from benchctl.analysis.single_replica import single_replica
from benchctl.analysis.slo import parse_slo

# The trial's capacity search (KServe, launch.cost_ms=10, 20261130T152120Z): name, arrived,
# achieved req/s, p99 ms, good, judged seconds. The search flagged no level overloaded.
LEVELS = [
    ("level1@10rps", 10.45, 10.45, 38.4, True, 20.0),
    ("level2@20rps", 20.6, 20.3, 46.0, True, 10.0),
    ("level3@40rps", 33.5, 33.5, 49.3, True, 6.0),
    ("level4@80rps", 79.8333, 74.1667, 255.2, False, 6.0),
    ("level5@60rps", 61.5, 60.8333, 121.8, True, 6.0),
    ("level6@70rps", 76.25, 71.5, 468.1, False, 4.0),
    ("level7@65rps", 63.0, 62.1667, 121.2, True, 6.0),
    ("level8@67.5rps", 67.6667, 67.1667, 157.3, True, 6.0),
]
SLO = parse_slo("p99<=200ms")


def _search() -> tuple[Points, dict[str, Any]]:
    rows = [
        {
            "name": name,
            "offered_rps": float(name.split("@")[1].removesuffix("rps")),
            "arrived_rps": arrived,
            "achieved_rps": achieved,
            "latency_ms": p99,
            "good": good,
            "overloaded": False,
            "stable": True,
            "judged_from": 0.0,
            "judged_to": seconds,
        }
        for name, arrived, achieved, p99, good, seconds in LEVELS
    ]
    points = Points(
        "search",
        np.array([lv[2] for lv in LEVELS]),
        np.array([lv[3] for lv in LEVELS]),
        None,
        [lv[0] for lv in LEVELS],
    )
    return points, {"levels": rows}


def test_only_level4_clearly_fell_behind():
    """level4: (79.8333 - 74.1667) x 6 s = 34.0 requests short, more than the 79.8333 x
    0.2552 + 1 = 21.4 that could still be in flight, and 7.1% short (> 5%). level6: 4.9%
    short, 19.0 requests < 76.25 x 0.4681 + 1 = 36.7. level2: 3 requests > 1.95, but only
    1.5% short: no queue."""
    assert clearly_overloaded(_search()[1]) == [("level4@80rps", 74.1667, 79.8333)]


def test_the_overloaded_level_is_the_saturation_and_refutes_the_fit():
    """Saturation max(74.1667 served at level4, 67.1667 the best good level, 71.2 the
    burst) = 74.1667 req/s, an overloaded level's; the fit's asymptote above it is not
    used, and its knee neither."""
    points, search = _search()
    rates = MeasuredRates(1 / 6.0, 71.2, "its burst phase")
    single, fit = single_replica(points, SLO, [], search, {}, rates)
    assert fit is not None and fit.x_max > 79.8333  # the fit alone said 81.6 in the trial
    assert single["saturation_rps"] == pytest.approx(74.1667)
    assert single["saturation_source"] == "overloaded level"
    assert single["knee_rps"] is None
    doc = {"slo": str(SLO), "capacity_rps": single["capacity_rps"], "single_replica": single}
    assert saturation_sentence(doc) == (
        "Saturates near 74.2 rps (served at a level that could not keep up with its arrivals:"
        " level4@80rps, which served 74.2 of the 79.8 rps that arrived); the fitted curve's"
        f" asymptote ({fit.x_max:,.1f} rps) lies above that measurement, so it is not used."
    )


def test_no_row_meets_the_slo_where_the_run_measured_it_broken():
    """The trial's single replica: capacity 68.58, saturation 81.64 (fit), level6@70rps
    broke the SLO at 76.25 req/s arrived. Peak 5000: rows start at floor(5000 / 81.64) + 1
    = 62; 5000/62 = 80.65, /63 = 79.37, /64 = 78.13, /65 = 76.92 req/s per replica are
    >= 76.25: "no (measured)"; 5000/66 = 75.76 < 76.25 is the model's to judge. The count
    stays ceil(5000 / (68.58 x 0.8)) = ceil(91.14) = 92."""
    single = {
        "capacity_rps": 68.58,
        "bound": "measured",
        "lower_rps": 67.6667,
        "upper_rps": 76.25,
        "upper_bound_source": "first_bad_level",
        "first_bad_level": "level6@70rps",
        "saturation_rps": 81.64,
        "saturation_source": "fit",
        "fit": {"measured_max_throughput": 74.1667},
    }
    replicas = replicas_for_peak(single, 5000.0, SLO, 0.2, None)
    assert replicas is not None and replicas["recommended"] == 92
    rows = {row["replicas"]: row for row in replicas["table"]}
    assert [n for n, row in rows.items() if row["measured_broken"]] == [62, 63, 64, 65]
    assert not any(rows[n]["meets_slo"] for n in (62, 63, 64, 65))
    assert rows[66]["meets_slo"] and not rows[66]["measured_broken"]
    assert replicas["measured_limit_rps"] == 76.25
    assert replicas["measured_limit_note"] == (
        "76.2 rps per replica or more: the run measured the SLO broken at 76.2 rps"
        " (level6@70rps), whatever the M/M/c model predicts"
    )


def test_the_terminal_table_says_no_measured_and_why():
    """The same table on the terminal: rows 62-65 read "no (measured)", the caption says
    at which rate per replica and why."""
    from rich.console import Console

    from benchctl.reports.terminal.answer import _replicas_table

    single = {
        "capacity_rps": 68.58,
        "bound": "measured",
        "upper_rps": 76.25,
        "upper_bound_source": "first_bad_level",
        "first_bad_level": "level6@70rps",
        "saturation_rps": 81.64,
        "saturation_source": "fit",
    }
    replicas = replicas_for_peak(single, 5000.0, SLO, 0.2, None)
    console = Console(width=200, record=True)
    console.print(_replicas_table({"slo": str(SLO), "replicas": replicas}))
    text = console.export_text()
    rows = [line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│")]
    measured = [int(row[0]) for row in rows if row[3].strip() == "no (measured)"]
    assert measured == [62, 63, 64, 65]
    assert "no (measured): 76.2 rps per replica or more: the run measured the SLO broken" in (
        " ".join(text.split())
    )
