"""A shadow run's pairs (``--shadow``, load/shadow.py): merged into ``shadow.parquet`` and
summarized for summary.json ``shadow``.

Per request (warm-up included: the pairs carry wall-clock send times only): the served
and shadow latencies from the same send start (ms), the per-request difference shadow -
served, and the agreement of the first output tensor where both answered and both outputs
could be read as numbers of the same size: max absolute difference, argmax agreement per
row (classifiers), exact equality. ``outputs_agree`` is True when every compared pair's
argmax agreed and the largest absolute difference is at most ``AGREE_ABS`` (float32
rounding of the reference model's outputs is ~1e-7; other servers' kernels may differ by
more: the numbers are there to judge).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from benchctl.analysis.percentiles import nearest_rank
from benchctl.rundir.names import SHADOW, SHADOW_PARTS
from benchctl.rundir.reader import read_parquet, read_table
from benchctl.rundir.writer import atomic_output

AGREE_ABS = 1e-4
CONFIDENCE = 0.95  # of the paired latency interval


def merge_shadow(run_dir: Path) -> Path | None:
    """``shadow.parts/*.parquet`` into ``shadow.parquet`` (atomic rename, parts removed);
    None when there are no pairs. Refuses (OSError) to write through a symlink."""
    folder = run_dir / SHADOW_PARTS
    target = run_dir / SHADOW
    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not parts:
        return target if target.is_file() else None
    if target.is_symlink():
        raise OSError(f"{target} is a symlink: not written through")
    import pyarrow as pa

    table = pa.concat_tables([read_table(p) for p in parts])
    with atomic_output(target) as temporary:
        pq.write_table(table, temporary, compression="zstd")
    for part in parts:
        part.unlink(missing_ok=True)
    for leftover in [*folder.glob("*.tmp"), *folder.glob("*.tmp.parquet")]:  # crashed writes
        leftover.unlink(missing_ok=True)
    if not any(folder.iterdir()):
        folder.rmdir()
    return target


def shadow_summary(run_dir: Path | Any, served: str, shadow: str) -> dict[str, Any]:
    """summary.json ``shadow`` of a shadow run directory (``run_dir``: a path or RunDir).

    ``served``/``shadow``: the arms' names. Returns ``{"served", "shadow", "pairs", ...}``: counts,
    shadow errors by kind, latency percentiles in ms (served, shadow, their per-request difference,
    the share where the shadow was slower as a fraction, the paired verdict), output agreement (max
    absolute difference in the output's unit, argmax agreement and exact-equality shares as
    fractions); only ``pairs`` 0 without shadow parts. Merges the parts first (``merge_shadow``):
    OSError when shadow.parquet cannot be written or would be written through a symlink; pyarrow's
    errors for unreadable parts, KeyError for parts without the expected columns.
    """
    path = merge_shadow(Path(getattr(run_dir, "path", run_dir)))
    base: dict[str, Any] = {"served": served, "shadow": shadow}
    if path is None:
        return {**base, "pairs": 0}
    frame = read_parquet(path)
    both = frame[frame["served_ok"] & frame["shadow_ok"]]
    compared = frame[frame["compared"]]
    result = {
        **base,
        "pairs": len(frame),
        "served_ok": int(frame["served_ok"].sum()),
        "shadow_ok": int(frame["shadow_ok"].sum()),
        "shadow_errors": {
            str(k): int(v)
            for k, v in frame.loc[~frame["shadow_ok"], "shadow_error"].value_counts().items()
        },
        "latency_ms": {
            "served": _percentiles(both["served_ms"]),
            "shadow": _percentiles(both["shadow_ms"]),
            "difference": _percentiles(both["shadow_ms"] - both["served_ms"]),
            "shadow_slower_share": float((both["shadow_ms"] > both["served_ms"]).mean())
            if len(both)
            else None,
            "paired": paired_difference(both["shadow_ms"] - both["served_ms"]),
        },
        "compared": len(compared),
        "max_abs_diff": float(compared["max_abs_diff"].max()) if len(compared) else None,
        "argmax_agreement": float(compared["argmax_agree"].mean()) if len(compared) else None,
        "equal_share": float(compared["equal"].mean()) if len(compared) else None,
        "agree_abs": AGREE_ABS,
    }
    result["outputs_agree"] = (
        bool(result["argmax_agreement"] == 1.0 and result["max_abs_diff"] <= AGREE_ABS)
        if len(compared)
        else None
    )
    return result


def median_interval(values: Any, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Distribution-free confidence interval for the median of ``values`` (1-D, any unit):
    the order statistics ``[x_(j), x_(n+1-j)]`` with the largest ``j`` such that
    ``P(Binomial(n, 1/2) <= j - 1) <= (1 - confidence) / 2`` (the sign-test interval; e.g.
    Hollander, Wolfe & Chicken, *Nonparametric Statistical Methods*, 3rd ed., sec. 3.6).
    Coverage is at least ``confidence`` for independent draws from any continuous
    distribution. None when there are too few values (n < 6 at 95%) for any such interval.

    ``confidence`` in (0, 1) (default CONFIDENCE = 0.95). Returns (low, high) in the values' unit.
    Raises nothing of its own.
    """
    from scipy.stats import binom

    data = np.sort(np.asarray(values, dtype=float))
    n = len(data)
    tail = (1.0 - confidence) / 2.0
    j = 0
    while j + 1 <= n // 2 and binom.cdf(j, n, 0.5) <= tail:
        j += 1
    if j == 0:
        return None
    return float(data[j - 1]), float(data[n - j])


def paired_difference(difference: Any) -> dict[str, Any]:
    """The shadow's latency verdict from per-request differences shadow - served (ms, one per
    request both answered, from the same send): the median difference (nearest rank), its
    95% sign-test interval (``median_interval``) and a verdict: ``shadow slower`` when the
    whole interval is above 0, ``shadow faster`` when below, ``no difference detected``
    otherwise, ``too few pairs`` when no interval exists. Pairing removes the load's
    moment-to-moment variation, which both arms saw at once. The interval assumes the
    differences are independent; requests close in time share server state, so treat a
    verdict near the interval's edge with care.

    ``difference``: 1-D, ms. Returns ``{"median_ms", "ci95_ms": [low, high] in ms, "verdict"}``
    (None for both numbers with too few pairs). Raises nothing of its own.
    """
    data = np.asarray(difference, dtype=float)
    interval = median_interval(data) if len(data) else None
    if interval is None:
        return {"median_ms": None, "ci95_ms": None, "verdict": "too few pairs"}
    (median,) = nearest_rank(data, (50,))
    low, high = interval
    verdict = (
        "shadow slower" if low > 0 else "shadow faster" if high < 0 else "no difference detected"
    )
    return {"median_ms": float(median), "ci95_ms": [low, high], "verdict": verdict}


def _percentiles(values: Any) -> dict[str, float | None]:
    data = np.asarray(values, dtype=float)
    if not len(data):
        return {"p50": None, "p99": None, "mean": None}
    p50, p99 = nearest_rank(data, (50, 99))
    return {"p50": float(p50), "p99": float(p99), "mean": float(data.mean())}


def shadow_lines(shadow: dict[str, Any]) -> list[str]:
    """The terminal's lines for a shadow run.

    ``shadow``: summary.json's ``shadow`` object (``shadow_summary``). Returns the lines: pairs and
    successes, latency p50/p99 in ms of both arms and of their per-request difference, the paired
    verdict with its 95% interval (ms), output agreement. KeyError for an object without those keys
    (0 pairs needs only ``shadow``).
    """
    if not shadow.get("pairs"):
        return [f"shadow {shadow['shadow']}: no pairs recorded"]
    lat = shadow["latency_ms"]

    def ms(part: dict[str, Any]) -> str:
        if part["p50"] is None:
            return "-"
        return f"p50 {part['p50']:.2f} ms, p99 {part['p99']:.2f} ms"

    agree = shadow["outputs_agree"]
    paired = lat.get("paired") or {}  # absent in runs written before it existed
    verdict = []
    if paired.get("ci95_ms"):
        low, high = paired["ci95_ms"]
        verdict = [
            f"  paired latency: {paired['verdict']} (median shadow - served "
            f"{paired['median_ms']:+.2f} ms, 95% interval {low:+.2f} to {high:+.2f} ms)"
        ]
    elif paired:
        verdict = [f"  paired latency: {paired['verdict']}"]
    return [
        f"shadow {shadow['shadow']} (served: {shadow['served']}): {shadow['pairs']:,} pairs "
        f"over the whole run (warm-up included), served ok {shadow['served_ok']:,}, shadow ok "
        f"{shadow['shadow_ok']:,}",
        f"  latency from the same actual send (not the intended time): served "
        f"{ms(lat['served'])}; shadow {ms(lat['shadow'])}; "
        f"shadow - served per request {ms(lat['difference'])}",
        f"  outputs compared {shadow['compared']:,}: max |diff| "
        + ("-" if shadow["max_abs_diff"] is None else f"{shadow['max_abs_diff']:.3g}")
        + ", argmax agreement "
        + ("-" if shadow["argmax_agreement"] is None else f"{shadow['argmax_agreement']:.1%}")
        + f", agree (argmax all equal, max |diff| <= {shadow['agree_abs']:g}): "
        + ("-" if agree is None else ("yes" if agree else "NO")),
        *verdict,
    ]
