"""Whether a compared run's SLO verdict is established (trial 5, finding 6).

``benchctl compare A B --slo "p99<=30ms"`` said REST "no" (p99 56.3 ms) and gRPC "yes"
(14.6 ms) from one run each of 378 requests on a host at 94% CPU, with the generator's own
send lag 47% of REST's p99; a split run on a quiet host measured 4.35 vs 4.47 ms. A verdict
is not established when the run was measured under a flag or when its percentile's
interval holds the SLO's threshold:

- busy host: other processes kept the host's CPU busy (analysis/contradictions.py
  ``busy_host``, from the run's telemetry windows after the warm-up);
- generator saturated: a load process above 80% CPU for 5 s (run.json ``generator``);
- send lag: the generator woke late by more than a tenth of the latency (run.json
  ``generator.send_lag_warning``, analysis/accuracy.py LAG_SHARE_WARN), and its p99 is at
  least the distance between the run's percentile and the threshold (the generator's own
  delay could decide the verdict);
- too few samples: fewer successes than the percentile needs (``min_samples``);
- interval: the distribution-free order-statistic interval of the run's percentile at 95%
  (``x_(l) <= xi_q <= x_(u)``, B ~ Binomial(n, q); Hollander & Wolfe, sec. 3.6; the
  gate's ``quantile_bounds``) holds the threshold, so another run of the same could give
  the other verdict.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from scipy import stats

from benchctl.analysis.contradictions import busy_host
from benchctl.analysis.gate import LoadedRun
from benchctl.analysis.slo import Slo
from benchctl.rundir.requests import WARMUP

CONFIDENCE = 0.95  # two-sided, of a percentile's interval
MAX_KEPT = 2_000_000  # latencies held to find the interval's order statistics; beyond: skip


def percentile_interval(
    run: LoadedRun, quantile: float, confidence: float = CONFIDENCE
) -> tuple[int, float, float] | None:
    """(n, low, high): the successes after the warm-up and the order-statistic interval (ms)
    of their ``quantile`` (0 < q < 1) at two-sided ``confidence``; low 0 / high inf where
    the sample is too small for that bound. Only the values from rank l up are kept (read
    in batches); None without successes or when more than MAX_KEPT would be kept."""
    key = f"phase=={WARMUP}"
    n = 0
    for batch in run.batches(["ok"], equals={"phase": WARMUP}):
        n += int((batch["ok"] & ~batch[key]).sum())
    if n == 0 or not 0 < quantile < 1:
        return None
    tail = (1.0 - confidence) / 2.0
    low_rank = int(stats.binom.ppf(tail, n, quantile))
    high_rank = int(stats.binom.ppf(1.0 - tail, n, quantile)) + 1
    first = max(low_rank, 1)  # the lowest rank needed
    keep = n - first + 1
    if keep > MAX_KEPT:
        return None
    top = np.empty(0)
    for batch in run.batches(["latency_ms", "ok"], equals={"phase": WARMUP}):
        top = np.concatenate([top, batch["latency_ms"][batch["ok"] & ~batch[key]]])
        if len(top) > keep:
            top = np.partition(top, len(top) - keep)[len(top) - keep :]
    top = np.sort(top)  # ranks first..n

    def at(rank: int) -> float:
        return float(top[rank - first])

    low = at(low_rank) if low_rank >= 1 else 0.0
    high = at(high_rank) if high_rank <= n else math.inf
    return n, low, high


def measured_windows(run: LoadedRun, path: Any) -> Any:
    """The telemetry windows at ``path`` (telemetry_windows.parquet) from the end of the
    run's warm-up on, as a DataFrame; None when absent or unreadable."""
    from benchctl.rundir import read_optional_parquet

    read = read_optional_parquet(path)
    if read.problem is not None or read.frame is None:
        return None
    frame = read.frame
    warmup_end = max((e for name, _, e in run.phases if name == WARMUP), default=0.0)
    return frame[frame["t"] >= warmup_end] if "t" in frame else frame


def verdict_doubts(
    run: LoadedRun, overall: dict[str, Any], windows: Any, slo: Slo, slo_met: Any
) -> tuple[str, ...]:
    """Why ``run``'s verdict on ``slo`` (``slo_met``: True/False, or a "too few samples"
    text) is not established: short reasons, () when it is. ``overall``: the run's (or
    arm's) summary ``overall``; ``windows``: its telemetry windows after the warm-up (a
    DataFrame, or None without telemetry)."""
    if not isinstance(slo_met, bool):
        return (str(slo_met),) if slo_met else ()
    reasons = []
    cpus = (run.info.get("host") or {}).get("cpus") if isinstance(run.info, dict) else None
    if windows is not None and (busy := busy_host(windows, cpus)):
        host = re.search(r"host CPU averaged (\d+)%", busy)
        others = re.search(r"other processes used about ([\d.]+) cores", busy)
        reasons.append(
            f"busy host (CPU {host.group(1) if host else '?'}%, other processes about "
            f"{others.group(1) if others else '?'} of {cpus} cores)"
        )
    generator = run.info.get("generator") if isinstance(run.info.get("generator"), dict) else {}
    if run.saturated:
        reasons.append("generator saturated")
    lag = (generator.get("send_lag_ms") or {}).get("p99")
    value = (overall.get("latency_ms") or {}).get(slo.column)
    margin = abs(value - slo.threshold_ms) if isinstance(value, int | float) else None
    flagged = bool(generator.get("send_lag_warning")) and isinstance(lag, int | float)
    if flagged and margin is not None and lag >= margin:  # the lag could decide the verdict
        reasons.append(
            f"send lag p99 {lag:.3g} ms (the generator's own delay) is as large as the "
            f"{margin:.3g} ms between its {slo.column} and {slo.threshold_ms:g} ms"
        )
    found = percentile_interval(run, slo.quantile)
    if found is not None:
        n, low, high = found
        if low <= slo.threshold_ms <= high:
            upper = "unbounded" if math.isinf(high) else f"{high:.3g} ms"
            reasons.append(
                f"{slo.column} {CONFIDENCE:.0%} interval {low:.3g} ms to {upper} from "
                f"{n:,} requests holds {slo.threshold_ms:g} ms"
            )
    return tuple(reasons)


ESTABLISHED = "the runs' different verdicts are an established difference"
BUSY = "busy host"


def established_difference(
    sides: list[tuple[str, LoadedRun, Any, tuple[str, ...], Any]], slo: Slo
) -> str | None:
    """The line saying two runs' different SLO verdicts are an established difference, or
    None (then the compare output keeps "not an established difference").

    ``sides``: per run (label, run, verdict True/False, its doubts, its telemetry windows
    after the warm-up). Established when the verdicts differ, the only doubt on either is a
    busy host, the percentile's intervals are disjoint in the verdicts' direction and the
    host was alike busy in both. Intervals: each run's order-statistic interval at 97.5%
    (both hold at 95%, Bonferroni: the gate's ``latency_ratio`` construction, item 1 of
    trial 8), so the ratio's interval ``[L_worse / U_better - 1, ...]`` lies above 0. Alike
    busy: other processes' cores (``contradictions.other_cores``) differ by less than a
    quarter of the host's cores (the gate's busy-host rule), since a busy host moves a run
    as a whole and only a difference in load could make the difference."""
    from benchctl.analysis.contradictions import other_cores

    if len(sides) != 2 or {s[2] for s in sides} != {True, False}:
        return None
    if not all(s[3] and all(d.startswith(BUSY) for d in s[3]) for s in sides):
        return None  # no doubt at all (nothing to settle) or one an interval cannot settle
    better, worse = sorted(sides, key=lambda s: not s[2])  # the one meeting the SLO first
    level = 1.0 - (1.0 - CONFIDENCE) / 2.0
    bounds = [percentile_interval(s[1], slo.quantile, level) for s in (better, worse)]
    if bounds[0] is None or bounds[1] is None or not bounds[0][2] < bounds[1][1]:
        return None
    cpus = (better[1].info.get("host") or {}).get("cpus")
    loads = [other_cores(s[4], cpus) if s[4] is not None else None for s in (better, worse)]
    if loads[0] is None or loads[1] is None or abs(loads[0] - loads[1]) >= cpus / 4:
        return None
    (_, b_low, b_high), (_, w_low, w_high) = bounds
    return (
        f"{ESTABLISHED}: {slo.column} {better[0]} {b_low:.3g}-{b_high:.3g} ms vs {worse[0]} "
        f"{w_low:.3g}-{_ms(w_high)} (intervals at {level:.1%} each, {CONFIDENCE:.0%} both) do "
        f"not overlap on a host alike busy (other processes {loads[0]:.2f} vs {loads[1]:.2f} "
        f"of {cpus} cores); each run's own yes/no still is not (a quiet host could move both)"
    )


def _ms(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:.3g} ms"
