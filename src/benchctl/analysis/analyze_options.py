"""What ``benchctl analyze`` is asked (``AnalyzeOptions``): shared by the capacity analysis
(``capacity.analyze_run``) and its autoscaling part (``autoscaling_section``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchctl.analysis.cluster import ClusterSpec
from benchctl.analysis.slo import Slo


@dataclass(frozen=True)
class AnalyzeOptions:
    """What ``benchctl analyze`` was asked: the SLO, the peak rate to size for (req/s;
    default: the scenario's own peak), the traffic to simulate autoscalers against, the price
    per replica-hour in ``currency``, the pod start (s), the window width (s), the headroom
    (fraction of a replica's capacity kept free), the config folder and the cluster."""

    slo: Slo
    peak_rps: float | None = None
    traffic: str | None = None  # scenario name/path; default: the run's own scenario
    price_per_hour: float | None = None
    cold_start_s: float = 45.0
    window_s: float = 5.0
    headroom: float = 0.2
    config_dir: Path | None = None
    currency: str = "USD"
    cluster: ClusterSpec | None = None  # pod start and metric pipeline (autoscaling_section.py)
