"""The capacity curve's caption says what one dot is: a search level when capacity.json's
points come from a capacity search (trial 8: "one per window" under a search's dots)."""

from __future__ import annotations

from benchctl.reports import capacity_figures as cf
from benchctl.reports.capacity_figure_views import _curve_caption


def _curve() -> cf.LatencyCurve:
    return cf.LatencyCurve(
        throughput=[10.0, 20.0], latency_ms=[5.0, 9.0], percentile="p99", slo_ms=50.0,
        capacity_rps=20.0, band=None, knee_rps=None, measured_max_rps=20.0,
        extrapolated=False, fit=None,
    )  # fmt: skip


def test_caption_names_what_a_dot_is_by_points_source() -> None:
    """search -> one per search level; levels -> load level; windows -> window."""
    said = {
        source: _curve_caption({"points": {"source": source}}, _curve()).split(". ")[0]
        for source in ("search", "levels", "windows")
    }
    assert said == {
        "search": "Dots: the measured p99 of successful requests, one per search level",
        "levels": "Dots: the measured p99 of successful requests, one per load level",
        "windows": "Dots: the measured p99 of successful requests, one per window",
    }
