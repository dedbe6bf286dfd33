"""From each server's raw Prometheus samples to per-window server-side numbers.

One mapping per server kind (its ``metrics`` in benchctl.targets.registry, beside every
other fact about the server): which cumulative counters give the number of requests the
server finished, and the time they spent queued and computing.

Counters are handled the way Prometheus's ``increase()`` handles them (rate first, then
sum — https://www.robustperception.io/rate-then-sum-never-sum-then-rate):

- **per series**: every label set of a counter is its own series; only the target model's
  series count (its ``model``/``model_name`` label; series without a model label count
  only when no series of that counter has one);
- **resets per series**: a sample below the previous one means that series restarted at 0
  (a model reload, a server restart), so its increase is the new value;
- **gaps**: a series missing from some scrapes, or a non-finite sample (NaN, ±Inf), is a
  gap: the counter is interpolated across it, never read as 0;
- **new series**: a series first seen after the first scrape starts from 0 (KServe's
  histograms appear after their first observation) — unless it replaces a series of the
  same counter that vanished (a label change) with a value at or above that series' last
  value, in which case it continues from that value instead of being counted twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchctl.targets.registry import SERVERS, MetricMap

MODEL_LABELS = ("model", "model_name")

# One mapping per server kind with counters: its entry in benchctl.targets.registry.SERVERS.
SERVER_METRICS: dict[str, MetricMap] = {
    kind: server.metrics for kind, server in SERVERS.items() if server.metrics is not None
}


@dataclass(frozen=True)
class Counter:
    """A counter's increase since the first scrape, as a piecewise-linear function of time.

    ``times`` ascending (seconds), ``increase`` non-decreasing, both one entry per point;
    ``series`` is how many label sets of the target model made it up.
    """

    times: np.ndarray
    increase: np.ndarray
    series: int
    resets: int = 0  # samples below their series' previous sample (restarts at 0)

    def at(self, t: np.ndarray) -> np.ndarray:
        """Increase in ``[first scrape, t]``; flat outside the scraped span."""
        if not len(self.times):
            return np.full(len(np.atleast_1d(t)), np.nan)
        return np.interp(t, self.times, self.increase)

    @property
    def total(self) -> float:
        """The counter's whole increase from the first to the last scrape (the counter's unit, e.g.
        requests); NaN when it has no points.
        """
        return float(self.increase[-1]) if len(self.increase) else float("nan")


def target_series(raw: pd.DataFrame, name: str, model: str | None) -> dict[str, pd.DataFrame]:
    """The samples of each label set of ``name`` that belongs to ``model``.

    Input: raw telemetry rows (``time``, ``metric``, ``labels`` as JSON text, ``value``).
    Output: labels text → rows sorted by time (non-finite values included). With
    ``model`` None every series counts.
    """
    rows = raw[raw["metric"] == name]
    if rows.empty:
        return {}
    label_sets = {text: json.loads(text) for text in rows["labels"].unique()}
    if model is not None and any(
        key in labels for labels in label_sets.values() for key in MODEL_LABELS
    ):
        wanted = {
            text
            for text, labels in label_sets.items()
            if any(labels.get(key) == model for key in MODEL_LABELS)
        }
        rows = rows[rows["labels"].isin(wanted)]
    return {
        str(text): group.sort_values("time", kind="stable")
        for text, group in rows.groupby("labels", sort=True)
    }


def counter(raw: pd.DataFrame, name: str, model: str | None = None) -> Counter:
    """The target model's counter ``name``: per-series increases (resets, gaps, new and
    relabelled series handled as the module docstring says), summed.

    ``raw`` holds every scrape of the server (its distinct ``time`` values are the scrape
    times). Returns an empty Counter when no series of ``name`` has a finite sample.
    """
    series = target_series(raw, name, model)
    finite = {k: v for k, v in series.items() if np.isfinite(v["value"].to_numpy(float)).any()}
    if not finite:
        return Counter(np.array([]), np.array([]), 0)
    scrapes = np.unique(raw["time"].to_numpy(dtype=float))
    first_scrape = scrapes[0]
    # Order series by first appearance so a relabelled series finds the one it replaces.
    ordered = sorted(series.items(), key=lambda item: float(item[1]["time"].iloc[0]))
    ended: list[tuple[float, float]] = []  # (time last seen, last value) of vanished series
    last_scrape = scrapes[-1]
    grid = scrapes
    total = np.zeros(len(grid))
    resets = 0
    for _, rows in ordered:
        seen_first = float(rows["time"].iloc[0])
        usable = np.isfinite(rows["value"].to_numpy(dtype=float))
        if not usable.any():  # only NaN/Inf: a gap from end to end
            continue
        times = rows["time"].to_numpy(dtype=float)[usable]
        values = rows["value"].to_numpy(dtype=float)[usable]
        steps = np.diff(values)
        resets += int((steps < 0).sum())
        steps = np.where(steps < 0, values[1:], steps)  # a reset: restarted at 0
        increase = np.concatenate([[0.0], np.cumsum(steps)])
        if seen_first > first_scrape:  # appeared during the run: it started from 0
            base = _continued_from(ended, times[0], values[0])
            before = scrapes[scrapes < seen_first][-1]
            times = np.concatenate([[before], times])
            increase = np.concatenate([[0.0], increase + (values[0] - base)])
        if times[-1] < last_scrape:
            ended.append((float(times[-1]), float(values[-1])))
        total += np.interp(grid, times, increase, left=0.0, right=float(increase[-1]))
    return Counter(grid, total, len(finite), resets)


def _continued_from(ended: list[tuple[float, float]], start: float, value: float) -> float:
    """The value a series first seen at ``start`` continues from: the last value of a series
    that vanished before ``start`` and does not exceed ``value`` (a label change), else 0."""
    for index, (seen, last) in enumerate(ended):
        if seen < start and last <= value:
            del ended[index]
            return last
    return 0.0


def per_window(series: Counter, edges: np.ndarray) -> np.ndarray:
    """Increase of a counter over each window ``[edges[i], edges[i+1])`` (interpolated at
    the edges; flat outside the scraped span: the monitor scrapes once before the load
    starts and once after it ends). NaN for every window when the counter is absent."""
    if not len(series.times):
        return np.full(len(edges) - 1, np.nan)
    return np.diff(series.at(edges))


def stage_counters(
    raw: pd.DataFrame, names: tuple[str, ...], model: str | None
) -> tuple[list[Counter], list[str], list[str]]:
    """The stages of a time (queue or compute) that the server exposes, and which not."""
    found, present, missing = [], [], []
    for name in names:
        stage = counter(raw, name, model)
        if len(stage.times):
            found.append(stage)
            present.append(name)
        else:
            missing.append(name)
    return found, present, missing


def server_windows(
    raw: pd.DataFrame, kind: str, edges: np.ndarray, model: str | None = None
) -> pd.DataFrame:
    """Per window: server-side requests finished, mean queue and compute ms per request.

    Inputs: raw server samples, the server kind (a key of SERVER_METRICS), window edges
    (seconds), the target model's name (None: every model). When some stages of a time are
    not exposed, the stages that are exposed are summed (``stages_exposed`` says which).
    """
    result = pd.DataFrame({"t": edges[:-1]})
    mapping = SERVER_METRICS.get(kind)
    if mapping is None or raw.empty:
        for column in ("server_requests", "server_queue_ms", "server_compute_ms"):
            result[column] = np.nan
        return result
    requests = per_window(counter(raw, mapping.requests, model), edges)
    result["server_requests"] = requests
    for column, names in (
        ("server_queue_ms", mapping.queue),
        ("server_compute_ms", mapping.compute),
    ):
        stages, _, _ = stage_counters(raw, names, model)
        if not stages:
            result[column] = np.nan
            continue
        total = np.sum([per_window(stage, edges) for stage in stages], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            result[column] = np.where(requests > 0, total * mapping.to_ms / requests, np.nan)
    return result


def stages_exposed(raw: pd.DataFrame, kind: str, model: str | None = None) -> dict[str, object]:
    """Which counters of the kind's mapping the server exposed for the model (run.json)."""
    mapping = SERVER_METRICS.get(kind)
    if mapping is None:
        return {}
    requests = counter(raw, mapping.requests, model)
    info: dict[str, object] = {
        "requests": mapping.requests if len(requests.times) else None,
        "requests_series": requests.series,
        "requests_resets": requests.resets,
        "model": model,
    }
    for part, names in (("queue", mapping.queue), ("compute", mapping.compute)):
        _, present, missing = stage_counters(raw, names, model)
        info[f"{part}_stages"] = present
        if missing and present:
            info[f"{part}_stages_missing"] = missing
    return info


def cumulative(raw: pd.DataFrame, name: str, model: str | None = None) -> pd.Series:
    """The counter's increase since the first scrape, indexed by scrape time (seconds)."""
    found = counter(raw, name, model)
    return pd.Series(found.increase, index=found.times, dtype=float)
