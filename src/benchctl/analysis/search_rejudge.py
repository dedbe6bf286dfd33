"""A capacity search judged again under another SLO (``benchctl analyze --slo`` on a search
run whose search.json was decided under a different SLO).

search.json's levels carry the search's own SLO percentile (``latency_ms``) and verdict
(``good``): under another SLO both are wrong (a p99<=200ms search's "good" level at
144 ms p99 is not good under p99<=50ms). Each level is judged again from its own measured
requests: the successes of that level (``phase``) intended between ``measured_from`` and
``decided_at`` (seconds on the search run's clock, as search.json keeps them), their
nearest-rank percentile at the new SLO's quantile, good when that is within the new
threshold and the level had no error-rate or achieved-vs-offered problem (those do not depend
on the SLO). A level with fewer successes than the new percentile needs (``min_samples``)
is kept with ``latency_ms`` None: it cannot be judged, so it is no point of the capacity.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from benchctl.analysis.percentiles import percentile
from benchctl.analysis.points import min_samples
from benchctl.analysis.slo import Slo, parse_slo
from benchctl.analysis.summary import read_requests
from benchctl.errors import InputError
from benchctl.rundir import REQUESTS


def same_slo(search: dict[str, Any], slo: Slo) -> bool:
    """Was ``search`` (search.json) decided under ``slo``? (``p99<=0.2s`` is ``p99<=200ms``.)
    A search.json without a readable ``slo`` counts as the same (nothing to re-judge by)."""
    try:
        return parse_slo(str(search.get("slo"))) == slo
    except InputError:
        return True


def rejudge_search(
    search: dict[str, Any], slo: Slo, search_dir: Path
) -> tuple[dict[str, Any], str | None]:
    """(search.json with every level judged under ``slo``, a note for the warnings) — or
    (``search`` itself, None) when it was decided under ``slo`` already.

    ``search_dir``: the search run's folder (its requests.parquet). Each level's
    ``latency_ms`` becomes its ``slo`` percentile (ms) over its measured successes,
    ``samples`` their count and ``good`` the new verdict; ``search_slo`` keeps the old SLO.
    DamagedFileError (exit 2): requests.parquet unreadable."""
    if same_slo(search, slo):
        return search, None
    frame = read_requests(search_dir / REQUESTS, ("t_intended", "latency_ms", "ok", "phase"))
    phase = frame["phase"].astype(str).to_numpy()
    intended = frame["t_intended"].to_numpy(dtype=float)
    ok = frame["ok"].to_numpy(dtype=bool)
    latency = frame["latency_ms"].to_numpy(dtype=float)
    need = min_samples(slo.quantile)
    rejudged = copy.deepcopy(search)
    rejudged["search_slo"], rejudged["slo"] = search.get("slo"), str(slo)
    for level in rejudged.get("levels", []):
        if level.get("interrupted"):  # stopped before decided: no verdict, under any SLO
            continue
        start = float(level.get("measured_from") or level.get("start") or 0.0)
        end = float(level.get("decided_at") or np.inf)
        inside = (phase == level["name"]) & ok & (intended >= start) & (intended <= end)
        values = latency[inside & np.isfinite(latency)]
        level["samples"] = int(values.size)
        level["latency_ms"] = percentile(values, slo.percentile) if values.size >= need else None
        other_problem = bool(level.get("overloaded")) or float(
            level.get("error_rate") or 0.0
        ) > float((search.get("settings") or {}).get("max_error_rate", 0.01))
        level["good"] = bool(
            level["latency_ms"] is not None
            and level["latency_ms"] <= slo.threshold_ms
            and not other_problem
        )
    note = (
        f"the capacity search ran under {search.get('slo')}; its levels are judged again "
        f"under {slo} from each level's measured requests (a search under {slo} would place "
        "its levels around this SLO's crossing and bound it more tightly)"
    )
    return rejudged, note
