"""Windows that met the SLO but held too few successes to be points (trial 7, F16).

A window becomes a capacity point only with at least 2 / (1 - q) successes
(``points.min_samples``: 200 for p99). On a ramp, the low-rate windows at the start may meet
the SLO yet hold fewer, so every point left broke it; "measure at lower load" is then
wrong advice: the run measured lower load, in windows too short for the percentile. Wider
windows (``analyze --window``) hold more successes each.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchctl.analysis.points import min_samples
from benchctl.analysis.slo import Slo


def thin_windows_note(windows: pd.DataFrame | None, slo: Slo) -> str | None:
    """Why no point met ``slo`` although some windows did: the best such window (the most
    successes; its start, successes, req/s and SLO percentile in ms), how many successes
    the percentile needs and the narrowest ``--window`` (a multiple of the current width)
    at which that window's rate would hold them. None when no window with too few
    successes met the SLO, or ``windows`` lacks ``t``, ``throughput_rps`` or the SLO's
    percentile column. Widths and times in seconds. Raises nothing."""
    needed = min_samples(slo.quantile)
    columns = {"t", "throughput_rps", slo.column}
    if windows is None or len(windows) < 2 or not columns <= set(windows.columns):
        return None
    width = float(np.median(np.diff(windows["t"].to_numpy(dtype=float))))
    if not width > 0:
        return None
    ok = (windows["throughput_rps"] * windows.get("seconds", width)).round()  # measured s
    met = windows[(windows[slo.column] <= slo.threshold_ms) & (ok < needed) & (ok > 0)]
    if met.empty:
        return None
    best = met.loc[ok[met.index].idxmax()]
    rate, count = float(best["throughput_rps"]), round(float(ok[best.name]))
    wider = width * math.ceil(needed / (rate * width))
    return (
        f"windows at lower load met it but held fewer than the {needed:,} successes "
        f"{slo.column} needs to be a point (the t={best['t']:g}s window: {count:,} successes "
        f"at {rate:,.1f} rps, {slo.column} {best[slo.column]:.1f} ms); try --window "
        f"{wider:g}s (wider windows hold more successes each)"
    )
