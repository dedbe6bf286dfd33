"""Per-model capacity of a model-mix run: one server hosting several models (issue 21).

A run whose target has ``models:`` sends each request to one model, picked by weight, so
every load level (a capacity search's level, a step's phase, or a window) measured every
model at once, at the same mix. Per model this module builds that model's own levels from
requests.parquet and bounds its capacity with ``benchctl.analysis.bounds.capacity_bound``,
the rule the server's headline uses:

* per level and model: the model's requests, its successes per second (``throughput_rps``),
  its SLO percentile over its successes (nearest rank, at least ``2 / (1 - q)`` of them, as
  ``benchctl.analysis.points.min_samples``) and its error rate;
* a level is good for the model when that percentile meets the SLO (a capacity search's
  level also needs the model's error rate within the search's ``max_error_rate`` and the
  level not overloaded: the server as a whole fell behind the mix's offered rate there);
* the model's rate at a level: a search level's offered rate times the model's share of
  the level's requests (offered, as the search's band); a step phase's or window's
  ``throughput_rps`` (as the headline's points from those sources).

The answer per model is one of: ``measured`` (the model met the SLO at one level and broke
it at the next: the crossing lies between), ``lower`` (never broke: at least the best
level), ``upper`` (broke at every level measured: below the lowest rate measured, when
latency does not fall as load rises), or ``none`` (no level held enough of the model's
successes for the percentile). No curve is fitted per model: the figure is the best level
measured to meet the SLO, the band's low end. Beside each model's own rate the server's
rate in all (every model of the mix) at the same levels says at which total traffic that
model's SLO broke; the model that broke at the lowest total rate limits the server at
this mix (``limiting_model``).

When a run's windows hold too few of a model's successes (a short or slow mix), the whole
measured run (warm-up left out) is that model's one level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchctl.analysis.bounds import LOWER, MEASURED, Level, capacity_bound, unsettled
from benchctl.analysis.percentiles import percentile
from benchctl.analysis.phase_completions import file_completions_by_model
from benchctl.analysis.phase_intervals import measured_end
from benchctl.analysis.points import min_samples, one_offered_rate
from benchctl.analysis.request_reader import distinct_values, iter_batches
from benchctl.analysis.slo import Slo
from benchctl.analysis.summary import phase_seconds
from benchctl.errors import InputError
from benchctl.rundir.names import REQUESTS
from benchctl.rundir.reader import parquet_columns
from benchctl.rundir.requests import WARMUP

UPPER, NONE = "upper", "none"  # broke at every level measured; no level to judge by
WHOLE_RUN = "whole run"  # the label of the one level a run without usable windows gives
_COLUMNS = ["t_intended", "latency_ms", "ok", "phase", "model"]
_RATE_WORDS = {"offered": "offered to the server", "served": "served by the server"}
_DEFAULT_MAX_ERROR_RATE = 0.01  # the capacity scenario's default (benchctl.config)


@dataclass
class _Cell:
    """One model's requests at one level: how many, and its successes' latencies (ms)."""

    requests: int = 0
    latencies: list[np.ndarray] = field(default_factory=list)

    def add(self, requests: int, latencies: np.ndarray) -> None:
        """Count ``requests`` more and keep their successes' ``latencies`` (ms, shape (n,))."""
        self.requests += requests
        if latencies.size:
            self.latencies.append(latencies)

    def ok(self) -> np.ndarray:
        """Every kept success latency (ms), shape (n,); empty when none."""
        return np.concatenate(self.latencies) if self.latencies else np.array([])


@dataclass(frozen=True)
class _Measured:
    """What was read from requests.parquet: per level, per model (``cells[level][model]``),
    and the same for the whole measured run (``whole[model]``)."""

    cells: dict[str, dict[str, _Cell]]
    whole: dict[str, _Cell]
    seconds: dict[str, float]  # level -> seconds it lasted
    whole_seconds: float
    completed: dict[str, dict[str, int]] | None = None  # phase: model: completions in it


def model_capacities(
    run_dir: Path,
    info: dict[str, Any],
    slo: Slo,
    *,
    source: str,
    search: dict[str, Any] | None = None,
    window_s: float = 5.0,
) -> dict[str, Any] | None:
    """capacity.json's ``models`` section for a model-mix run; None when the run's requests
    carried fewer than two models (or predate the ``model`` column).

    Inputs: ``run_dir`` holds the requests.parquet the capacity comes from (the run's own,
    or its linked capacity search's) and ``info`` its run.json (plan phases, start/end in
    s); ``slo``; ``source`` the kind of the headline's points (``search``, ``levels`` or
    ``windows``); ``search`` the search.json when ``source`` is ``search``; ``window_s`` the
    window width (s) for ``windows``.

    Output: ``{"source", "slo", "models": {name: {...}}, "limiting_model", "summary"}``;
    per model ``share`` (of the measured requests), ``capacity_rps`` (the model's own
    req/s, or null), ``bound`` (measured, lower, upper or none), ``band_rps`` ([low, high]
    of the model's own rate, or null), ``server_band_rps`` (the total rate of every model
    at the same two levels: offered for a search, served otherwise, as ``server_rate``
    says), ``levels`` (how many levels held enough of its successes),
    ``levels_measured`` (levels in all), ``successes`` (its successes after the warm-up),
    ``best_good_level``, ``first_bad_level`` and ``sentence``. Rates are req/s.
    Raises DamagedFileError (exit 2, one line) when requests.parquet is unreadable.
    """
    path = run_dir / REQUESTS
    if "model" not in parquet_columns(path):
        return None
    if len(distinct_values(path, "model")) < 2:  # one model or none: no mix (one column read)
        return None
    phases = (info.get("plan") or {}).get("phases") or []
    by_window = source == "windows" and not one_offered_rate(info)
    end = measured_end(run_dir, info)  # phases cut at an interrupted run's stop (trial 7)
    measured = _read(path, phases, window_s if by_window else None, end)
    if not by_window:  # a phase's throughput: its completions (phase_completions)
        measured = replace(measured, completed=file_completions_by_model(path, phases, end))
    names = sorted(measured.whole)
    if len(names) < 2:
        return None
    if source == "windows" and not by_window:  # one offered rate: windows differ by noise
        source = "one rate"
    models = _per_model(measured, names, slo, source=source, search=search)
    limiting = _limiting(models)
    lines = [models[name]["sentence"] for name in names]
    if limiting is not None:
        lines.append(_limiting_sentence(limiting, models[limiting], slo))
    return {
        "source": source,
        "slo": str(slo),
        "models": models,
        "limiting_model": limiting,
        "summary": lines,
    }


def _per_model(
    measured: _Measured,
    names: list[str],
    slo: Slo,
    *,
    source: str,
    search: dict[str, Any] | None,
) -> dict[str, dict[str, Any]]:
    """Each model's answer (``model_capacities``' per-model fields, sentence included) from
    its levels; with ``windows`` and too few successes per window, from the run as one
    level."""
    offered = _search_offered(search) if source == "search" else {}
    overloaded = _search_names(search, "overloaded") if source == "search" else set()
    loose = _search_names(search, "unsettled") if source == "search" else set()
    max_errors = _max_error_rate(search) if source == "search" else None
    total = sum(cell.requests for cell in measured.whole.values())
    models: dict[str, dict[str, Any]] = {}
    for name in names:
        levels, totals = _model_levels(measured, name, slo, offered, overloaded, max_errors, loose)
        kind = source
        if source == "one rate" or (not levels and source == "windows"):  # one level
            levels, totals = _whole_run_level(measured, name, slo)
            kind = WHOLE_RUN
        share = measured.whole[name].requests / total if total else 0.0
        models[name] = _answer(name, levels, totals, slo, share, kind, measured.whole[name])
        models[name]["levels_measured"] = 1 if kind == WHOLE_RUN else len(measured.cells)
        models[name]["sentence"] = _sentence(name, models[name], slo)
    return models


def with_model_bounds(error: InputError, found: dict[str, Any] | None) -> InputError:
    """``error`` (no level met the SLO for the mix as a whole, so there is no headline)
    with each model's bound appended, for a model-mix run: a mix whose costly model can
    never meet the SLO still says, in the same one line, what the others sustain. ``found``
    is the run's ``model_capacities`` (None for a run that is not a model mix: ``error``
    itself is returned). Raises nothing."""
    if found is None:
        return error
    parts = [_short(name, answer) for name, answer in found["models"].items()]
    return InputError(f"{error}. Per model at this mix (its own req/s): {'; '.join(parts)}")


def _short(name: str, answer: dict[str, Any]) -> str:
    bound, band = answer["bound"], answer["band_rps"]
    if bound == MEASURED:
        return f"{name} {_rps(answer['capacity_rps'])} (measured, up to {_rps(band[1])})"
    if bound == LOWER:
        return f"{name} at least {_rps(answer['capacity_rps'])}"
    if bound == UPPER:
        return f"{name} below {_rps(band[1])} (broke the SLO at every level)"
    return f"{name}: no figure (too few successes for the percentile)"


def model_capacity_lines(document: dict[str, Any]) -> list[str]:
    """The plain-text lines (no markup) of a capacity.json's ``models`` section for the
    terminal and the report: one per model, then the limiting model; [] when the document
    has no such section (one model) or it is damaged."""
    section = document.get("models") if isinstance(document, dict) else None
    lines = section.get("summary") if isinstance(section, dict) else None
    if not isinstance(lines, list):
        return []
    return [line for line in lines if isinstance(line, str)]


def _read(
    path: Path, phases: list[dict[str, Any]], window_s: float | None, end: float | None = None
) -> _Measured:
    """Per level (phase name, or window start ``t=Ns`` when ``window_s`` is given) and model,
    the requests and successes' latencies, warm-up and requests without a model left out.
    A window is a request's completion time (intended send + latency), as the headline's
    windows (``benchctl.analysis.windows``); a failure with no latency counts at its send.
    Read in batches; each batch is grouped with one sort (O(rows log rows)), never a mask
    per level."""
    cells: dict[str, dict[str, _Cell]] = {}
    whole: dict[str, _Cell] = {}
    for batch in iter_batches(path, _COLUMNS):
        phase = batch["phase"]
        keep = ~pd.isna(batch["model"]) & (phase != WARMUP) & ~pd.isna(phase)
        if not keep.any():
            continue
        model = batch["model"][keep].astype(str)
        latency, ok = batch["latency_ms"][keep], batch["ok"][keep].astype(bool)
        if window_s is None:
            level = phase[keep].astype(str)
        else:
            done = batch["t_intended"][keep] + np.nan_to_num(latency, nan=0.0) / 1000.0
            starts, where = np.unique(np.floor(done / window_s), return_inverse=True)
            level = np.array([f"t={t * window_s:g}s" for t in starts], dtype=object)[where]
        good = ok & np.isfinite(latency)
        labels, level_code = np.unique(level.astype(str), return_inverse=True)
        names, model_code = np.unique(model, return_inverse=True)
        pair = level_code.astype(np.int64) * len(names) + model_code
        order = np.argsort(pair, kind="stable")
        keys, first, counts = np.unique(pair[order], return_index=True, return_counts=True)
        latency, good = latency[order], good[order]
        for key, begin, count in zip(keys.tolist(), first.tolist(), counts.tolist(), strict=True):
            label, name = str(labels[key // len(names)]), str(names[key % len(names)])
            rows = slice(begin, begin + count)
            found = latency[rows][good[rows]]
            cells.setdefault(label, {}).setdefault(name, _Cell()).add(count, found)
            whole.setdefault(name, _Cell()).add(count, found)
    cut = phase_seconds(phases, end)  # end: where an interrupted run stopped (None: whole)
    seconds = cut if window_s is None else dict.fromkeys(cells, window_s)
    measured = sum(s for name, s in cut.items() if name != WARMUP)
    return _Measured(cells, whole, seconds, measured)


def _model_levels(
    measured: _Measured,
    name: str,
    slo: Slo,
    offered: dict[str, float],
    overloaded: set[str],
    max_errors: float | None,
    loose: frozenset[str] | set[str] = frozenset(),
) -> tuple[list[Level], dict[str, float]]:
    """The model's levels (its own rate) and, per level label, the server's rate in all; a
    search level in ``loose`` (``bounds.unsettled``) where the model met its SLO is
    unsettled: neither met nor broke it."""
    need = min_samples(slo.quantile)
    levels, totals = [], {}
    for label, models in measured.cells.items():
        cell, seconds = models.get(name), measured.seconds.get(label)
        if cell is None or not seconds:
            continue
        ok = cell.ok()
        if len(ok) < need:
            continue
        everyone = sum(c.requests for c in models.values())
        latency = percentile(ok, slo.quantile * 100)
        done = (measured.completed or {}).get(label) or {n: len(c.ok()) for n, c in models.items()}
        throughput = done.get(name, 0) / seconds
        good = bool(latency <= slo.threshold_ms)
        if label in offered:  # a search level: offered rates, the search's other bounds
            share = cell.requests / everyone if everyone else 0.0
            rate, server = offered[label] * share, offered[label]
            errors = 1.0 - len(ok) / cell.requests if cell.requests else 0.0
            good = good and errors <= (max_errors or 0.0) and label not in overloaded
        else:
            rate = throughput
            server = sum(done.values()) / seconds
        unsure = good and label in loose
        level = Level(label, rate, throughput, float(latency), good and not unsure)
        levels.append(replace(level, overloaded=label in overloaded, unsettled=unsure))
        totals[label] = server
    return levels, totals


def _whole_run_level(
    measured: _Measured, name: str, slo: Slo
) -> tuple[list[Level], dict[str, float]]:
    """The whole measured run as the model's one level (throughput over the measured
    seconds), or no level when even the run holds too few of its successes."""
    ok = measured.whole[name].ok()
    seconds = measured.whole_seconds
    if len(ok) < min_samples(slo.quantile) or seconds <= 0:
        return [], {}
    latency = float(percentile(ok, slo.quantile * 100))
    rate = len(ok) / seconds
    server = sum(len(c.ok()) for c in measured.whole.values()) / seconds
    level = Level(WHOLE_RUN, rate, rate, latency, latency <= slo.threshold_ms)
    return [level], {WHOLE_RUN: server}


def _answer(
    name: str,
    levels: list[Level],
    totals: dict[str, float],
    slo: Slo,
    share: float,
    source: str,
    whole: _Cell,
) -> dict[str, Any]:
    found = capacity_bound(levels, slo.threshold_ms)
    result: dict[str, Any] = {
        "share": share,
        "source": source,
        "levels": len(levels),
        "capacity_rps": None,
        "bound": NONE,
        "band_rps": None,
        "server_band_rps": None,
        "best_good_level": None,
        "first_bad_level": None,
    }
    if found is not None:
        low, high = found.band
        top = found.first_bad.label if found.first_bad else found.best_good.label
        server_high = totals[top] if found.bound == MEASURED else totals[found.best_good.label]
        result.update(
            capacity_rps=found.capacity_rps,
            bound=found.bound,
            band_rps=[low, high],
            server_band_rps=[totals[found.best_good.label], server_high],
            best_good_level=found.best_good.label,
            first_bad_level=found.first_bad.label if found.first_bad else None,
        )
    elif levels:  # every level broke the SLO for this model
        lowest = min(levels, key=lambda level: level.rate_rps)
        result.update(
            bound=UPPER,
            band_rps=[0.0, lowest.rate_rps],
            server_band_rps=[0.0, totals[lowest.label]],
            first_bad_level=lowest.label,
        )
    result["server_rate"] = "offered" if source == "search" else "served"
    result["successes"] = len(whole.ok())
    return result


def _sentence(name: str, result: dict[str, Any], slo: Slo) -> str:
    bound, band, server = result["bound"], result["band_rps"], result["server_band_rps"]
    kind = _RATE_WORDS[result["server_rate"]]  # the server's rate in all: offered or served
    where = (
        "the whole run"
        if result["source"] == WHOLE_RUN
        else f"the {result['levels']} level(s) with enough of its successes "
        f"(of {result['levels_measured']})"
    )
    if bound == MEASURED:
        return (
            f"Model {name}: {_rps(result['capacity_rps'])} of its own traffic under {slo} "
            f"(measured: between {_rps(band[0])}, which met it, and {_rps(band[1])}, which "
            f"broke it; {_rps(server[0])} to {_rps(server[1])} {kind} in all "
            "at this mix)."
        )
    if bound == LOWER:
        return (
            f"Model {name}: at least {_rps(result['capacity_rps'])} of its own traffic under "
            f"{slo}: it never broke the SLO in {where}; up to {_rps(server[0])} {kind} in all"
            " at this mix."
        )
    if bound == UPPER:
        return (
            f"Model {name}: below {_rps(band[1])} of its own traffic under {slo}: it broke the "
            f"SLO in {where}, the lowest at {_rps(band[1])} ({_rps(server[1])} {kind} in all"
            " at this mix); measure lower load for its capacity."
        )
    return (
        f"Model {name}: no capacity figure under {slo}: no level held the "
        f"{min_samples(slo.quantile):,} successful requests its {slo.column} needs "
        f"(it had {result['successes']:,} after the warm-up in all); use a lower percentile or a "
        "longer run."
    )


def _limiting_sentence(name: str, found: dict[str, Any], slo: Slo) -> str:
    """The line naming the model that limits the server at this mix. From the whole run (one
    offered rate) there is no "first" level: the model's own percentile broke the SLO at the
    run's rate, while the headline judges every model's requests together."""
    rate = f"{_rps(_broke_at(found))} {_RATE_WORDS[found['server_rate']]} in all"
    if found["source"] == WHOLE_RUN:
        return (
            f"At this mix {name} limits the server: its own {slo.column} broke the SLO over "
            f"the whole run, at {rate} (the headline judges every model's requests together)."
        )
    return f"At this mix the server is limited by {name}: its {slo.column} broke first, at {rate}."


def _limiting(models: dict[str, dict[str, Any]]) -> str | None:
    """The model whose SLO broke at the lowest rate offered to the server in all; None when
    no model broke it."""
    broke = {name: _broke_at(found) for name, found in models.items()}
    known = {name: rate for name, rate in broke.items() if rate is not None}
    return min(known, key=lambda name: (known[name], name)) if known else None


def _broke_at(found: dict[str, Any]) -> float | None:
    """The server's rate in all at the level where the model first broke its SLO."""
    if found.get("bound") not in (MEASURED, UPPER) or not found.get("server_band_rps"):
        return None
    return float(found["server_band_rps"][1])


def _search_offered(search: dict[str, Any] | None) -> dict[str, float]:
    return {
        str(lv["name"]): float(lv["offered_rps"])
        for lv in (search or {}).get("levels", [])
        if isinstance(lv, dict) and _number(lv.get("offered_rps")) and "name" in lv
    }


def _search_names(search: dict[str, Any] | None, flag: str) -> set[str]:
    """The names of search.json's levels that are ``overloaded`` or ``unsettled``."""
    test = unsettled if flag == "unsettled" else (lambda lv: bool(lv.get(flag)))
    levels = (search or {}).get("levels", [])
    return {str(lv.get("name")) for lv in levels if isinstance(lv, dict) and test(lv)}


def _max_error_rate(search: dict[str, Any] | None) -> float:
    value = ((search or {}).get("settings") or {}).get("max_error_rate")
    return float(value) if _number(value) else _DEFAULT_MAX_ERROR_RATE


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rps(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} rps"
