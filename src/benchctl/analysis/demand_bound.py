"""What a service-demand ceiling is worth, and the one sentence that says it.

The utilization law U = U0 + D x X gives a ceiling (C - U0) / D from CPU seconds, which
bounds throughput only when CPU time is what the server waits on. Three things make it loose
or wrong, each said beside the number (trial 8, make demo: "upper bound 111.1 rps" from a
NEGATIVE background, on a server whose 1 worker serves one 10 ms request at a time, so at
most 100 rps):

* a background below 0 is impossible (nothing idles at negative cores): the line is refit
  through the origin, U = D x X (least squares: D = sum(X U) / sum(X^2));
* a busy host (``contradictions.other_cores``): a server that waits for a core while
  others run is not charged CPU seconds for the wait, so D understates its time per request
  (trial 8, Triton: 4.21 ms of CPU per request where its search measured 10.27 ms);
* a measured saturation well below the ceiling (an overloaded level): CPU is not what
  limits it.

And for a server benchctl launched with the reference model's wall-clock cost
(``launch.cost_ms``, no batching, no cache), one instance (Triton) or worker (the others)
serves one request at a time, each for at least cost_ms, so the server serves at most
units x 1000 / cost_ms req/s (``wall_bound``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchctl.targets.registry import SERVERS

# A ceiling this many times the measured saturation is loose: CPU is not what limits it.
LOOSE_RATIO = 1.2


def through_origin(rates: np.ndarray, busy: np.ndarray) -> tuple[float, float]:
    """(D, r2) of U = D x X fitted through the origin by least squares: D = sum(X U) /
    sum(X^2); r2 = 1 - SS_res / SS_tot about the mean of U (as the free fit's), 1.0 when U
    does not vary. For a fitted background below 0. ValueError when every X is 0."""
    x, u = np.asarray(rates, dtype=float), np.asarray(busy, dtype=float)
    denominator = float(np.sum(x * x))
    if denominator <= 0:
        raise ValueError("no throughput to fit a demand through the origin")
    slope = float(np.sum(x * u)) / denominator
    total = float(np.sum((u - u.mean()) ** 2))
    r2 = 1.0 - float(np.sum((u - slope * x) ** 2)) / total if total > 0 else 1.0
    return slope, r2


def wall_bound(info: dict[str, Any]) -> dict[str, Any] | None:
    """{"wall_bound_rps", "wall_basis"} for a server benchctl launched (run.json
    target.spec.launch) with a wall-clock cost per request (``cost_ms`` > 0), no dynamic
    batching (``max_batch_size`` 0), no result cache and one served model: its units
    (the registry's ``parallel_units``: Triton's ``instances``, else ``workers``) each
    serve one request at a time, so at most
    units x 1000 / cost_ms req/s (``refmodel._spin``). None otherwise."""
    spec = (info.get("target") or {}).get("spec") or {}
    launch = spec.get("launch") if isinstance(spec, dict) else None
    if not isinstance(launch, dict) or launch.get("models"):
        return None
    cost = launch.get("cost_ms")
    if not isinstance(cost, int | float) or not cost > 0:
        return None
    if launch.get("max_batch_size") or launch.get("cache_size"):
        return None
    found = SERVERS.get(str(launch.get("server") or spec.get("kind")))
    if found is None:
        return None
    key, name = found.parallel_units, found.display
    units = launch.get(key)
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        return None
    noun = {"instances": "model instance", "workers": "worker"}[key] + ("s" if units > 1 else "")
    bound = units * 1000.0 / float(cost)
    return {
        "wall_bound_rps": bound,
        "wall_basis": (
            f"{units} {name} {noun} serving one request at a time, each at least "
            f"launch.cost_ms = {cost:g} ms of wall-clock time: {units} x 1000 / {cost:g}"
        ),
    }


def demand_sentence(doc: dict[str, Any]) -> str | None:
    """The service-demand line of capacity.json ``doc`` (terminal and report alike): the
    first saturating resource's demand and its ceiling, called an "upper bound" only when
    nothing makes it loose; else "CPU-time bound, loose: why" (a measured saturation
    ``LOOSE_RATIO`` times below it, a busy host), and a launched server's wall-clock bound
    beside it. None without a ceiling. Raises nothing."""
    demand = doc.get("service_demand") if isinstance(doc.get("service_demand"), dict) else {}
    first = demand.get("saturates_first")
    entry = demand.get(first) if isinstance(first, str) else None
    if not isinstance(entry, dict) or not _number(entry.get("ms_per_request")):
        return None
    ceiling = entry.get("saturates_at_rps")
    if not _number(ceiling):
        return None
    units = entry.get("capacity_units") if _number(entry.get("capacity_units")) else 1
    noun = "host cores" if first == "server_cpu" else "units (GPUs)"
    basis = str(entry.get("units_basis") or f"all {units:g} {noun}")
    text = f"{first} service demand: {entry['ms_per_request']:.2f} ms per request"
    if entry.get("background_clamped"):
        text += " (background work fitted below 0, so the line was refit through 0)"
    loose = _loose(doc, entry, float(ceiling))
    if loose:
        text += f"; CPU-time bound {ceiling:,.1f} rps with {basis} busy, loose: {loose}"
    else:
        text += f"; upper bound {ceiling:,.1f} rps with {basis} busy"
    if _number(entry.get("wall_bound_rps")):
        text += (
            f"; the server's wall-clock bound is {entry['wall_bound_rps']:,.1f} rps "
            f"({entry.get('wall_basis')})"
        )
    return text + "."


def _loose(doc: dict[str, Any], entry: dict[str, Any], ceiling: float) -> str | None:
    """Why a ceiling is loose (joined by "; "), or None."""
    reasons = []
    single = doc.get("single_replica") if isinstance(doc.get("single_replica"), dict) else {}
    saturation = single.get("saturation_rps")
    measured = single.get("saturation_source") in ("overloaded level", "most served")
    if measured and _number(saturation) and ceiling > LOOSE_RATIO * saturation:
        reasons.append(
            f"the server saturated near {saturation:,.1f} rps (measured), so CPU time is "
            "not what limits it"
        )
    others = entry.get("host_others_cores")
    if _number(others):
        reasons.append(
            f"the host was busy (other processes used about {others:.2f} cores), and CPU "
            "seconds leave out the time a server waits for a core, so they understate its "
            "time per request"
        )
    return "; ".join(reasons) or None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
