"""The autoscaler configurations the simulators replay and the manifests write: an HPA v2
behavior policy (``ScalingPolicy``), the HPA with its metric pipeline (``HpaPolicy``) and the
Knative Pod Autoscaler (``KpaPolicy``), each checked on construction (InputError naming the
field and its allowed range). Defaults are Kubernetes' and Knative's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

from benchctl.errors import InputError

HpaMetric = Literal["rps_per_replica", "cpu_utilization"]
HpaCounter = Literal["offered", "completions"]
HpaSource = Literal["pods", "external"]
KpaMetric = Literal["concurrency", "rps"]
Select = Literal["Max", "Min", "Disabled"]

_HPA_METRICS = ("rps_per_replica", "cpu_utilization")
_HPA_COUNTERS = ("offered", "completions")
_HPA_SOURCES = ("pods", "external")
_KPA_METRICS = ("concurrency", "rps")
_SELECTS = ("Max", "Min", "Disabled")
KNATIVE_TARGET_BURST_CAPACITY = 211.0  # config-autoscaler target-burst-capacity default
KNATIVE_TIMEOUT_S = 300.0  # revision timeoutSeconds default


@dataclass(frozen=True)
class ScalingPolicy:
    """One HPA behavior policy: at most ``value`` Pods or Percent per ``period_s``."""

    type: Literal["Pods", "Percent"]
    value: int
    period_s: int

    def __post_init__(self) -> None:
        if self.type not in ("Pods", "Percent"):
            raise InputError(f"scaling policy: type must be Pods or Percent, not {self.type!r}")
        if self.value <= 0 or not 0 < self.period_s <= 1800:
            raise InputError("scaling policy: value must be > 0 and period_s in 1..1800")


DEFAULT_SCALE_UP = (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15))
DEFAULT_SCALE_DOWN = (ScalingPolicy("Percent", 100, 15),)


@dataclass(frozen=True)
class HpaPolicy:
    """An autoscaling/v2 HorizontalPodAutoscaler, the metric pipeline that feeds it and the
    controller flags it runs under.

    ``target`` is requests/s per pod for "rps_per_replica", percent of max_rps for
    "cpu_utilization". ``counter``, ``source``, ``rate_window_s`` and ``scrape_interval_s``
    say what the rps metric measures (see the module docstring); ``sync_period_s``,
    ``tolerance`` and ``sync_phase_s`` are kube-controller-manager's. Defaults are the ideal
    metric (the previous step's offered rate per ready pod).
    """

    min_replicas: int
    max_replicas: int
    metric: HpaMetric
    target: float
    sync_period_s: float = 15.0
    tolerance: float = 0.1
    scale_up_stabilization_s: int = 0
    scale_down_stabilization_s: int = 300
    scale_up: tuple[ScalingPolicy, ...] = DEFAULT_SCALE_UP
    scale_up_select: Select = "Max"
    scale_down: tuple[ScalingPolicy, ...] = DEFAULT_SCALE_DOWN
    scale_down_select: Select = "Max"
    rate_window_s: float = 0.0
    scrape_interval_s: float = 0.0
    counter: HpaCounter = "offered"
    source: HpaSource = "pods"
    sync_phase_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise InputError("HPA policy: need 1 <= min_replicas <= max_replicas")
        if self.metric not in _HPA_METRICS:
            raise InputError(f"HPA policy: metric must be one of {', '.join(_HPA_METRICS)}")
        if self.counter not in _HPA_COUNTERS:
            raise InputError(f"HPA policy: counter must be one of {', '.join(_HPA_COUNTERS)}")
        if self.source not in _HPA_SOURCES:
            raise InputError(f"HPA policy: source must be one of {', '.join(_HPA_SOURCES)}")
        check_positive("HPA target", self.target)
        check_positive("sync_period_s", self.sync_period_s)
        if self.tolerance < 0 or self.rate_window_s < 0 or self.scrape_interval_s < 0:
            raise InputError(
                "HPA policy: tolerance, rate_window_s and scrape_interval_s must be >= 0"
            )
        if 0 < self.rate_window_s < 2 * self.scrape_interval_s:
            raise InputError(
                "HPA policy: rate_window_s must hold two scrapes (>= 2 x scrape_interval_s)"
            )
        if not 0 <= self.sync_phase_s < self.sync_period_s:
            raise InputError("HPA policy: sync_phase_s must be in [0, sync_period_s)")
        for window in (self.scale_up_stabilization_s, self.scale_down_stabilization_s):
            if not 0 <= window <= 3600:
                raise InputError("HPA policy: stabilization windows must be 0..3600 s")
        if self.scale_up_select not in _SELECTS or self.scale_down_select not in _SELECTS:
            raise InputError(f"HPA policy: selectPolicy must be one of {', '.join(_SELECTS)}")
        if not self.scale_up or not self.scale_down:
            raise InputError("HPA policy: scale_up and scale_down need at least one policy")

    @property
    def keda(self) -> bool:
        """True when this is KEDA's external AverageValue metric."""
        return self.source == "external"

    def describe(self) -> str:
        """One line for people: who scales (HPA or KEDA/HPA), the replica range, the target with
        its unit (rps/replica with counter and rate window, or % CPU) and the scale-down
        stabilization window in seconds. Raises nothing.
        """
        if self.metric == "rps_per_replica":
            unit = f" rps/replica ({self.counter}"
            if self.rate_window_s:
                unit += (
                    f", rate[{self.rate_window_s:g}s] scraped every {self.scrape_interval_s:g} s"
                )
            unit += ")"
        else:
            unit = "% CPU"
        who = "KEDA/HPA" if self.keda else "HPA"
        return (
            f"{who} {self.min_replicas}-{self.max_replicas} replicas, target"
            f" {self.target:g}{unit}, scale-down window {self.scale_down_stabilization_s} s"
        )


_KPA_RANGES = {  # Knative's allowed ranges (config-autoscaler validation), in check order
    "stable_window_s": (6, 3600),
    "panic_window_percentage": (1, 100),
    "panic_threshold_percentage": (110, 1000),
    "target_utilization_percentage": (1, 100),
}


@dataclass(frozen=True)
class KpaPolicy:
    """A Knative Pod Autoscaler configuration (per-revision annotations plus config-autoscaler).

    ``target`` is in-flight requests (or requests/s) per pod; the autoscaler aims at
    target x target_utilization_percentage / 100 (Knative's default 70%). ``max_scale`` 0
    means unbounded and ``container_concurrency`` 0 means no hard limit, as in Knative.
    ``target_burst_capacity`` (default 211, -1: always) decides when the activator stays in
    the request path: while ready pods x target - panic-window concurrency < it.
    """

    target: float
    metric: KpaMetric = "concurrency"
    container_concurrency: int = 0
    target_utilization_percentage: float = 70.0
    stable_window_s: float = 60.0
    panic_window_percentage: float = 10.0
    panic_threshold_percentage: float = 200.0
    min_scale: int = 1
    max_scale: int = 0
    scale_down_delay_s: float = 0.0
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    tick_s: float = 2.0
    scale_to_zero_grace_s: float = 30.0
    target_burst_capacity: float = KNATIVE_TARGET_BURST_CAPACITY

    def __post_init__(self) -> None:
        if self.metric not in _KPA_METRICS:
            raise InputError(f"KPA policy: metric must be one of {', '.join(_KPA_METRICS)}")
        for number in _float_fields(self):  # inf/nan would make every count and comparison moot
            if not math.isfinite(getattr(self, number)):
                raise InputError(f"KPA policy: {number} must be a finite number")
        if not (math.isfinite(self.target) and self.target >= 0.01):
            raise InputError("KPA policy: target must be a finite number >= 0.01")
        for name, (low, high) in _KPA_RANGES.items():
            if not low <= getattr(self, name) <= high:
                raise InputError(f"KPA policy: {name} must be {low}..{high}")
        if self.min_scale < 0 or self.max_scale < 0 or self.container_concurrency < 0:
            raise InputError("KPA policy: min_scale, max_scale, container_concurrency >= 0")
        if 0 < self.max_scale < self.min_scale:
            raise InputError("KPA policy: max_scale must be 0 (unbounded) or >= min_scale")
        if self.max_scale_up_rate <= 1 or self.max_scale_down_rate <= 1:
            raise InputError("KPA policy: max scale up/down rates must be > 1")
        check_positive("tick_s", self.tick_s)
        if self.scale_down_delay_s < 0 or self.scale_to_zero_grace_s < 0:
            raise InputError("KPA policy: delays must be >= 0")
        if self.target_burst_capacity < 0 and self.target_burst_capacity != -1:
            raise InputError("KPA policy: target_burst_capacity must be >= 0 or -1")

    @property
    def panic_window_s(self) -> float:
        """The panic window in seconds: stable_window_s x panic_window_percentage / 100
        (Knative's config-autoscaler: 60 s x 10% = 6 s by default).
        """
        return self.stable_window_s * self.panic_window_percentage / 100.0

    @property
    def effective_target(self) -> float:
        """The per-pod value the KPA aims at: target x target_utilization_percentage / 100, in the
        unit of ``metric`` (in-flight requests or requests/s); Knative's definition, 70% by
        default.
        """
        return self.target * self.target_utilization_percentage / 100.0

    def describe(self) -> str:
        """One line for people: the pod range (max 0 shown as unbounded), the target and metric, the
        utilization percentage and the stable window in seconds. Raises nothing.
        """
        top = str(self.max_scale) if self.max_scale else "unbounded"
        return (
            f"KPA {self.min_scale}-{top} pods, target {self.target:g} {self.metric}"
            f" at {self.target_utilization_percentage:g}%, stable window {self.stable_window_s:g} s"
        )


Policy = HpaPolicy | KpaPolicy


def _float_fields(policy: KpaPolicy) -> list[str]:
    """The names of ``policy``'s fields declared ``float``, in declaration order."""
    return [f.name for f in fields(policy) if f.type in ("float", float)]


def check_positive(name: str, value: float) -> None:
    """InputError naming ``name`` unless ``value`` is a finite number > 0."""
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number, not {value!r}")
