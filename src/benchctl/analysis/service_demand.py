"""Service demand per resource (CPU, GPU) and the throughput at which it would saturate.

The service demand law (Lazowska et al., "Quantitative System Performance", ch. 3; Menasce and
Almeida, "Capacity Planning for Web Services") with load-independent background work:

    U = U0 + D x X

U: the resource's busy units (cores, or a GPU's busy fraction), X: throughput (requests/s),
D: the demand (unit-seconds per request), U0: what is busy whatever the load (a polling loop,
such as Triton's Python-backend stub, which keeps about half a core busy at any rate). D is the
slope of U against X across load levels and U0 the intercept, so the resource saturates at
X = (C - U0) / D for capacity C. At one load level U = U0 + D x X is one equation in two
unknowns: D cannot be separated from U0, and U / X (every busy unit counted as per-request) is
only an upper bound on D, which gives no ceiling on throughput.

A fitted background below 0 is impossible: the line is then refit through the origin
(``background_clamped``). The CPU entry also carries a launched server's wall-clock bound
(``wall_bound_rps``) and, on a busy host, the cores other processes used
(``host_others_cores``); ``demand_bound.demand_sentence`` says what the ceiling is worth.

Output: capacity.json ``service_demand``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.demand_bound import through_origin, wall_bound
from benchctl.analysis.fits import fit_service_demand
from benchctl.targets.registry import SERVERS

# Highest / lowest throughput a service-demand fit needs: below it the windows (or levels) saw
# one offered rate and differ by arrival noise, so the slope (CPU per request) is not measured.
MIN_THROUGHPUT_SPAN = 1.5

# A demand-law ceiling this many times above a measured saturation does not explain it.
UNEXPLAINED_RATIO = 2.0
# A search level whose achieved rate fell below this share of its arrivals was saturated.
SHORTFALL = 0.9

RESOURCES = (
    ("server_cpu", "server_cpu_percent", 0.01),
    ("gpu", "gpu_utilization_percent", 0.01),
)


def service_demand(
    windows: pd.DataFrame,
    info: dict[str, Any],
    search: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """CPU (and GPU) seconds per request, the background, and which resource saturates first.

    ``windows``: the analysis windows (t in s from the run's start, throughput_rps,
    server_cpu_percent and gpu_utilization_percent per window); ``info``: run.json (host.cpus
    is the CPU capacity in cores); ``search``: the capacity search's search.json whose windows
    these are, or None. With a search, each level is one observation (the mean throughput and
    busy units of the windows whose middle lies inside the level, ``level_observations``) and D
    is the slope across levels; it needs 2 levels whose throughputs differ by a factor of
    ``MIN_THROUGHPUT_SPAN``. Without one, the windows are the observations (at least 3, spanning
    the same factor), and the slope must exceed zero at 95% (``_slope_not_measured``) for a
    ceiling: windows at one offered rate differ by arrival noise alone.

    Returns {resource: {ms_per_request, background, r2, capacity_units, saturates_at_rps,
    levels}, "saturates_first": resource, "notes": [why a resource gives no ceiling]}.
    ms_per_request is D in unit-milliseconds per request, background U0 in busy units (cores),
    saturates_at_rps (C - U0) / D in requests/s. A resource gives no ceiling
    (saturates_at_rps None, ``no_ceiling`` says why) when its demand cannot be separated from
    background (one level: then ms_per_request is None and ms_per_request_at_most is U / X),
    when D <= 0, when the windows' slope is not measurably above 0, or when the ceiling lies
    below a throughput the run measured (the model does not describe the server).
    "saturates_first" names the resource with the lowest ceiling and is absent when none has
    one; {} when no resource has values enough to say anything.
    The CPU's capacity C is what the server can use (``cpu_units``: a launched KServe's
    worker processes, else the host's cores; ``units_basis`` says which), and a ceiling more
    than ``UNEXPLAINED_RATIO`` times what the server served when it measurably fell short of
    its arrivals is dropped (``unexplained``: the law does not explain that saturation).
    Raises KeyError when ``windows`` lacks throughput_rps for a resource it has values for.
    """
    cores, basis = cpu_units(info)
    resources: dict[str, Any] = {}
    notes: list[str] = []
    for name, column, scale in RESOURCES:
        capacity = cores if name == "server_cpu" else 1.0
        if column not in windows or not windows[column].notna().any():
            continue
        usable = windows[windows[column].notna()]
        found = (
            _from_levels(usable, column, scale, capacity, search)
            if _level_spans(search)
            else _from_windows(usable, column, scale, capacity)
        )
        if found is None:
            continue
        if name == "server_cpu":
            _cpu_notes(found, basis, usable, info)
        unexplained(found, usable, column, scale, search)  # the law vs measured saturation
        resources[name] = found
        if found.get("no_ceiling"):
            notes.append(f"{name}: {found['no_ceiling']}")
    ceilings = {n: r["saturates_at_rps"] for n, r in resources.items() if r["saturates_at_rps"]}
    if ceilings:
        resources["saturates_first"] = min(ceilings, key=ceilings.__getitem__)
    if notes:
        resources["notes"] = notes
    return resources


def level_observations(
    windows: pd.DataFrame, column: str, scale: float, spans: Sequence[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """(throughput per level in requests/s, busy units per level): the means over the windows
    [t, t + width) (width the median step of t, 1 s for one window) that lie wholly inside each
    level's [start, end) s, else (a level shorter than a window) over those whose middle does;
    a level without such a window is left out. ``column`` is scaled by ``scale`` (percent ->
    units). Raises KeyError when ``windows`` lacks t or throughput_rps."""
    t = windows["t"].to_numpy(dtype=float)
    width = float(np.median(np.diff(np.sort(t)))) if t.size > 1 else 1.0
    middle = t + width / 2
    rates, busy = [], []
    for start, end in spans:
        inside = (t >= start) & (t + width <= end)
        if not inside.any():
            inside = (middle >= start) & (middle < end)
        if inside.any():
            rates.append(float(windows["throughput_rps"].to_numpy(dtype=float)[inside].mean()))
            busy.append(float(windows[column].to_numpy(dtype=float)[inside].mean() * scale))
    return np.asarray(rates), np.asarray(busy)


def _level_spans(search: dict[str, Any] | None) -> list[tuple[float, float]]:
    """Each search level's [start, decided_at) s, for the levels that have both; [] else."""
    spans = []
    for level in (search or {}).get("levels") or []:
        start, end = level.get("start"), level.get("decided_at")
        if isinstance(start, int | float) and isinstance(end, int | float) and end > start:
            spans.append((float(start), float(end)))
    return spans


def _from_levels(
    usable: pd.DataFrame,
    column: str,
    scale: float,
    capacity: float,
    search: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The demand across the search's levels (the slope of their mean busy units against their
    mean throughput), or the bound one level gives; None without a level with windows."""
    rates, busy = level_observations(usable, column, scale, _level_spans(search))
    served = rates[rates > 0]
    if not served.size:
        return None
    if served.max() < MIN_THROUGHPUT_SPAN * served.min():
        at_most = float(np.max(busy[rates > 0] / served)) * 1000.0
        levels = (
            f"one load level ({served[0]:,.1f} rps)"
            if served.size == 1
            else f"levels at one rate ({served.min():,.1f}-{served.max():,.1f} rps)"
        )
        why = (
            f"{levels}: the demand per request "
            f"cannot be separated from background work (U = U0 + D x X needs levels at 2 "
            f"rates, {MIN_THROUGHPUT_SPAN:g}x apart); at most {at_most:.2f} ms per request "
            "if all of it were per request, which bounds no throughput: no ceiling given"
        )
        return {
            "ms_per_request": None,
            "ms_per_request_at_most": at_most,
            "background": None,
            "r2": None,
            "capacity_units": capacity,
            "saturates_at_rps": None,
            "levels": int(served.size),
            "no_ceiling": why,
        }
    slope, intercept = np.polyfit(rates, busy, 1)
    fitted = slope * rates + intercept
    total = float(np.sum((busy - busy.mean()) ** 2))
    r2 = 1.0 - float(np.sum((busy - fitted) ** 2)) / total if total > 0 else 1.0
    if intercept < 0:  # no background idles below 0 cores: U = D x X (demand_bound.py)
        return _clamped(rates, busy, capacity, rates.size)
    return _entry(float(slope), float(intercept), r2, capacity, float(rates.max()), rates.size)


def _clamped(
    rates: np.ndarray, busy: np.ndarray, capacity: float, levels: int | None = None
) -> dict[str, Any]:
    """The entry of U = D x X through the origin (``demand_bound.through_origin``), for a
    free fit whose background came out below 0; ``background_clamped`` says so."""
    slope, r2 = through_origin(rates, busy)
    entry = _entry(slope, 0.0, r2, capacity, float(rates.max()), levels)
    entry["background_clamped"] = True
    return entry


def _cpu_notes(
    entry: dict[str, Any], basis: str, windows: pd.DataFrame, info: dict[str, Any]
) -> None:
    """The CPU entry's ``units_basis``, the launched server's wall-clock bound
    (``demand_bound.wall_bound``) and, on a busy host (``contradictions.busy_host``), the
    cores other processes used (``host_others_cores``): CPU seconds then understate the
    time per request. In place."""
    from benchctl.analysis.contradictions import busy_host, other_cores

    entry["units_basis"] = basis
    entry.update(wall_bound(info) or {})
    cpus = (info.get("host") or {}).get("cpus")
    cpus = cpus if isinstance(cpus, int) and not isinstance(cpus, bool) else None
    if busy_host(windows, cpus):
        entry["host_others_cores"] = other_cores(windows, cpus)


def _from_windows(
    usable: pd.DataFrame, column: str, scale: float, capacity: float
) -> dict[str, Any] | None:
    """The demand across the windows (``fits.fit_service_demand``); None with fewer than 3
    windows or throughputs within ``MIN_THROUGHPUT_SPAN`` (one rate: the slope would be fitted
    to arrival noise, a 5,000 rps "bound")."""
    if len(usable) < 3:
        return None
    rates = usable["throughput_rps"].to_numpy(dtype=float)
    if not rates.size or rates.max() < MIN_THROUGHPUT_SPAN * rates.min():
        return None
    busy = usable[column].to_numpy(dtype=float) * scale
    try:
        fit = fit_service_demand(rates, busy)
    except ValueError:
        return None
    entry = (
        _clamped(rates, busy, capacity)
        if fit.intercept < 0  # no background below 0 cores
        else _entry(fit.seconds_per_request, fit.intercept, fit.r2, capacity, float(rates.max()))
    )
    why = _slope_not_measured(rates, busy, fit.seconds_per_request, fit.intercept)
    if why and entry["saturates_at_rps"] is not None:
        entry["saturates_at_rps"] = None
        entry["no_ceiling"] = why
    return entry


def _slope_not_measured(
    rates: np.ndarray, busy: np.ndarray, slope: float, intercept: float
) -> str | None:
    """Why the windows' slope is no measured demand, or None: it must exceed zero at 95%
    (two-sided Student's t with k - 2 degrees of freedom, k windows; standard error
    sqrt(residual variance / sum of (X - mean X)^2)). Windows at one offered rate differ in
    throughput by arrival noise and partial edge windows, and background CPU that varies on
    its own then gives a slope of noise (trial 5: 21.86 ms from a Triton level at 10 req/s
    whose server served 1.9 ms per request elsewhere). An exact line (no residual) passes."""
    from scipy.stats import t as student_t

    k = rates.size
    spread = float(np.sum((rates - rates.mean()) ** 2))
    residual = float(np.sum((busy - (intercept + slope * rates)) ** 2))
    if k < 3 or spread <= 0 or residual <= 0:
        return None
    error = math.sqrt(residual / (k - 2) / spread)
    needed = float(student_t.ppf(0.975, k - 2))
    if slope - needed * error > 0:
        return None
    return (
        f"the {k} windows' busy time does not rise measurably with throughput (slope "
        f"{slope * 1000:.2f} ms +/- {needed * error * 1000:.2f} ms at 95%): the demand per "
        "request cannot be separated from background work: no ceiling given"
    )


def _entry(
    slope: float,
    intercept: float,
    r2: float,
    capacity: float,
    served_rps: float,
    levels: int | None = None,
) -> dict[str, Any]:
    """One resource's service_demand entry from U = intercept + slope x X; the ceiling
    (capacity - intercept) / slope, dropped (with the reason) when slope <= 0 or when it lies
    below ``served_rps``, the most the run served."""
    ceiling = (capacity - intercept) / slope if slope > 0 else math.inf
    why = None
    if not math.isfinite(ceiling):
        why = "busy time does not grow with throughput (slope <= 0): no ceiling given"
    elif ceiling < served_rps:
        why = (
            f"U = {intercept:.2f} + {slope * 1000:.2f} ms x X puts saturation at "
            f"{max(ceiling, 0.0):,.1f} rps, below the {served_rps:,.1f} rps this run served: "
            "busy time does not follow the utilization law here (background work that varies, "
            "or other processes on the host): no ceiling given"
        )
    entry: dict[str, Any] = {
        "ms_per_request": slope * 1000.0,
        "background": intercept,
        "r2": r2,
        "capacity_units": capacity,
        "saturates_at_rps": None if why else float(ceiling),
    }
    if levels is not None:
        entry["levels"] = int(levels)
    if why:
        entry["no_ceiling"] = why
    return entry


def demand_notes(demand: Any) -> list[str]:
    """capacity.json ``service_demand.notes``: why a resource gives no ceiling, as strings;
    [] when absent or damaged (an old or hand-edited file). Raises nothing."""
    notes = demand.get("notes") if isinstance(demand, dict) else None
    return [str(note) for note in notes] if isinstance(notes, list) else []


def cpu_units(info: dict[str, Any]) -> tuple[float, str]:
    """(the CPU cores the server can keep busy, what that is): a server launched by benchctl
    whose registry entry has ``python_workers`` (KServe, MLServer) runs ``launch.workers``
    worker processes, each one Python interpreter that keeps about one core busy (the GIL),
    so min(workers, host cores); any other server the host's cores (run.json ``host.cpus``,
    1 when absent)."""
    cores = float((info.get("host") or {}).get("cpus") or 1)
    spec = (info.get("target") or {}).get("spec") or {}
    launch = spec.get("launch") if isinstance(spec, dict) else None
    launch = launch if isinstance(launch, dict) else {}
    found = SERVERS.get(str(launch.get("server")))
    server = found.display if found is not None and found.python_workers else None
    workers = launch.get("workers")
    usable = isinstance(workers, int) and not isinstance(workers, bool) and 0 < workers < cores
    if server and usable:
        noun = "process" if workers == 1 else "processes"
        return float(workers), (
            f"its {workers} {server} worker {noun} (one Python interpreter each, about one "
            f"core; the host has {cores:g} cores)"
        )
    return cores, f"all {cores:g} of this host's cores"


def unexplained(
    entry: dict[str, Any],
    windows: pd.DataFrame,
    column: str,
    scale: float,
    search: dict[str, Any] | None,
) -> None:
    """Drop ``entry``'s ceiling (``saturates_at_rps`` to None, ``law_bound_rps`` and
    ``no_ceiling`` saying why) when a search level measurably saturated (achieved below
    ``SHORTFALL`` of what arrived, or ``overloaded``) at a throughput more than
    ``UNEXPLAINED_RATIO`` times below it: the resource was not what saturated (trial 7:
    4.93 ms per request, 401.7 rps, while the server fell short at 62.0 rps with 0.30 cores
    busy). ``windows``: the resource's windows (busy in ``column`` × ``scale`` units). In
    place; nothing without such a level."""
    ceiling = entry.get("saturates_at_rps")
    found = []  # (served req/s, busy units, level name) of each saturated level
    for level in (search or {}).get("levels") or [] if ceiling is not None else []:
        arrived = level.get("arrived_rps") or level.get("offered_rps")
        achieved, span = level.get("achieved_rps"), _level_spans({"levels": [level]})
        short = bool(arrived and achieved is not None and achieved < SHORTFALL * arrived)
        if (short or level.get("overloaded")) and span and achieved:
            busy = _busy_during(windows, column, scale, span[0])
            found.append((float(achieved), busy, str(level.get("name"))))
    if not found or ceiling <= UNEXPLAINED_RATIO * max(rate for rate, _, _ in found):
        return
    rate, busy_units, name = max(found)
    basis = entry.get("units_basis") or f"{entry['capacity_units']:g} units"
    entry["saturates_at_rps"], entry["law_bound_rps"] = None, float(ceiling)
    entry["no_ceiling"] = (
        f"the demand law puts saturation at {ceiling:,.1f} rps with {basis} busy, but the server "
        f"measurably saturated at {rate:,.1f} rps ({name}: it served less than arrived) with "
        f"{busy_units:.2f} units busy: the law does not explain the saturation (something "
        "else limits it: one worker, a lock, I/O, or other processes on the host); no "
        "ceiling given"
    )


def _busy_during(
    windows: pd.DataFrame, column: str, scale: float, span: tuple[float, float]
) -> float:
    """Busy units (``column`` × ``scale``) while a level ran over ``span`` (s): the mean of
    the windows wholly inside it (``level_observations``), else the window holding its
    middle (a level shorter than a window); NaN when no window does."""
    _, busy = level_observations(windows, column, scale, [span])
    if len(busy):
        return float(busy[0])
    t = windows["t"].to_numpy(dtype=float)
    width = float(np.median(np.diff(np.sort(t)))) if t.size > 1 else 1.0
    middle = (span[0] + span[1]) / 2
    holds = (t <= middle) & (middle < t + width)
    values = windows[column].to_numpy(dtype=float)[holds] * scale
    return float(values.mean()) if values.size else math.nan
