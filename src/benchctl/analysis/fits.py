"""Curve fits for capacity: USL scalability, latency vs throughput, service demand.

Each fit takes plain arrays (one value per measured window or concurrency level) and returns
a frozen result with goodness of fit and parameter standard errors. Bad input raises
ValueError with a one-line message.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from benchctl.analysis.least_squares import latency_parameters, log_latency, usl_parameters

_BAND = (5.0, 95.0)  # percentiles of the resampled capacity
_DRAWS = 1000
_LOG_LIMIT = 700.0  # exp(700) ~ 1e304: a drawn log-parameter is clipped here, never inf
FIT_R2_MIN = 0.9  # r2 (on log latency) below which a fitted curve is no figure


# --- USL ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class USLFit:
    """Universal Scalability Law X(N) = λN / (1 + σ(N-1) + κN(N-1)), fitted."""

    lambda_: float
    sigma: float
    kappa: float
    lambda_se: float
    sigma_se: float
    kappa_se: float
    r2: float
    peak_concurrency: float  # sqrt((1-σ)/κ); inf when κ == 0
    max_throughput: float  # X at the peak; λ/σ (an asymptote) when κ == 0; inf when both are 0
    n_points: int
    measured_max_concurrency: float

    def predict(self, n: ArrayLike) -> float | np.ndarray:
        """Throughput at concurrency ``n`` (scalar or array)."""
        return _scalar_or_array(
            _usl(np.asarray(n, dtype=float), self.lambda_, self.sigma, self.kappa)
        )

    @property
    def peak_extrapolated(self) -> bool:
        """True when the peak lies beyond the highest measured concurrency."""
        return self.peak_concurrency > self.measured_max_concurrency


def fit_usl(concurrency: np.ndarray, throughput: np.ndarray) -> USLFit:
    """Fit Gunther's Universal Scalability Law X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1))
    by non-linear least squares (sigma in [0, 1], kappa >= 0; ``least_squares.usl_parameters``:
    projected Levenberg-Marquardt from lambda at the lowest concurrency, sigma 0.01, kappa 1e-4).

    ``concurrency``: N per point (in-flight requests, shape (k,), > 0); ``throughput``: X per point
    (requests/s, shape (k,), >= 0). Returns a USLFit with lambda (requests/s per unit of
    concurrency), sigma, kappa, their standard errors, r2, the peak concurrency sqrt((1 - sigma) /
    kappa) (inf when kappa = 0) and the throughput there. Raises ValueError for arrays that are not
    1-D of one length, empty or not finite, for N <= 0 or X < 0, and for fewer than 3 distinct
    concurrencies. A fit that has not converged in 500 iterations gives its best point.
    """
    n, x = _pair(concurrency, throughput, "concurrency", "throughput")
    if np.any(n <= 0) or np.any(x < 0):
        raise ValueError("USL fit needs concurrency > 0 and throughput >= 0")
    if np.unique(n).size < 3:
        raise ValueError(
            f"USL fit needs at least 3 distinct concurrency levels, got {np.unique(n).size}"
        )
    lowest = n == n.min()
    lambda0 = max(float(np.mean(x[lowest] / n[lowest])), 1e-12)
    with _quiet():
        popt, pcov = usl_parameters(n, x, lambda0)
    lam, sigma, kappa = (float(v) for v in popt)
    se = _standard_errors(pcov)
    if kappa > 0:
        peak = math.sqrt(max(1.0 - sigma, 0.0) / kappa)
        top = float(_usl(np.asarray(max(peak, 1.0)), lam, sigma, kappa))
    else:
        peak = math.inf
        top = lam / sigma if sigma > 0 else math.inf
    return USLFit(
        lambda_=lam,
        sigma=sigma,
        kappa=kappa,
        lambda_se=se[0],
        sigma_se=se[1],
        kappa_se=se[2],
        r2=_r2(x, _usl(n, *popt)),
        peak_concurrency=peak,
        max_throughput=top,
        n_points=int(n.size),
        measured_max_concurrency=float(n.max()),
    )


def _usl(n: np.ndarray, lam: float, sigma: float, kappa: float) -> np.ndarray:
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


# --- latency vs throughput ----------------------------------------------------------------


@dataclass(frozen=True)
class CapacityEstimate:
    """Highest throughput meeting a latency SLO, with a 5–95% band from the fit."""

    throughput: float
    extrapolated: bool  # beyond the highest measured throughput
    lower: float
    upper: float


@dataclass(frozen=True)
class LatencyFit:
    """L(x) = base_ms + scale / (x_max - x): a latency quantile vs offered throughput.

    For M/M/1 the q-quantile of response time is -ln(1-q)/(μ - x), i.e. base 0,
    scale 1000·(-ln(1-q)) ms·rps and x_max = μ. r2 is computed on log latency, the scale
    of the fit. ``params``/``cov`` are the fitted (base_ms, ln scale, ln(x_max - measured
    max)) and their covariance, used to resample capacity.
    """

    base_ms: float
    scale: float
    x_max: float
    base_se: float
    scale_se: float
    x_max_se: float
    r2: float
    quantile: float
    n_points: int
    measured_max_throughput: float
    params: tuple[float, float, float] = field(repr=False, compare=False)
    cov: tuple[tuple[float, ...], ...] = field(repr=False, compare=False)

    def predict(self, x: ArrayLike) -> float | np.ndarray:
        """Predicted latency (ms) at throughput ``x``; inf at and beyond x_max."""
        xs = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            out = np.where(
                xs < self.x_max,
                self.base_ms + self.scale / np.maximum(self.x_max - xs, 0.0),
                np.inf,
            )
        return _scalar_or_array(out)

    def capacity_at(self, slo_ms: float, *, seed: int = 0, draws: int = _DRAWS) -> CapacityEstimate:
        """Highest throughput whose predicted latency is <= ``slo_ms``.

        The band is the 5–95% range of the same solution over ``draws`` parameter sets drawn
        (seeded) from the fit's covariance in its fitted coordinates; NaN when the
        covariance could not be estimated. Raises ValueError when even zero load misses it.
        """
        zero_load = self.base_ms + self.scale / self.x_max
        if not slo_ms > zero_load:
            raise ValueError(
                f"SLO {slo_ms:g} ms is not above the fitted zero-load latency "
                f"{zero_load:.3g} ms; no throughput meets it"
            )
        best = self.x_max - self.scale / (slo_ms - self.base_ms)
        lower, upper = self._band(slo_ms, seed, draws)
        return CapacityEstimate(best, best > self.measured_max_throughput, lower, upper)

    def knee(self, factor: float = 2.0) -> float:
        """Throughput where predicted latency reaches ``factor`` × its zero-load value.

        For a pure M/M/1 curve (base 0) and factor 2 this is x_max/2: 50% utilization.
        """
        if not factor > 1.0:
            raise ValueError(f"knee factor must be > 1, got {factor}")
        zero_load = self.base_ms + self.scale / self.x_max
        return self.x_max - self.scale / (factor * zero_load - self.base_ms)

    def distrust(self, slo_ms: float, resolution_rps: float) -> str | None:
        """Why this curve's SLO crossing cannot be a capacity figure, or None when it can.

        ``slo_ms``: the SLO bound (ms); ``resolution_rps``: the finest rate difference the
        points were measured to (one request over the shortest window or level, req/s).
        Reasons, joined by "; ": r2 below ``FIT_R2_MIN`` (0.9); a step, not a curve: the
        latency rises from ``base_ms`` to the SLO within ``scale / (slo_ms - base_ms)`` req/s
        of the asymptote x_max, no more than ``resolution_rps`` (trial 5: scale 5.6e-7 ms x
        req/s, base 17.36 ms, SLO 20 ms: 2.1e-7 req/s below x_max 147.6, finer than the 0.2
        req/s of a 5 s window); the points do not determine the scale (its standard error is
        not finite or exceeds it). Raises nothing.
        """
        reasons = []
        if not self.r2 >= FIT_R2_MIN:
            reasons.append(f"r² {self.r2:.2f} < {FIT_R2_MIN:g}")
        rise = self.scale / (slo_ms - self.base_ms) if slo_ms > self.base_ms else math.inf
        if rise <= resolution_rps:
            reasons.append(self._step_reason(rise, resolution_rps))
        if not (math.isfinite(self.scale_se) and self.scale_se <= self.scale):
            reasons.append(
                f"the points do not determine its scale (standard error {self.scale_se:.2g} "
                f"for {self.scale:.2g})"
            )
        return "; ".join(reasons) or None

    def _step_reason(self, rise: float, resolution_rps: float) -> str:
        """Why a curve whose latency reaches the SLO within ``rise`` req/s of its asymptote
        is no capacity figure: a step at x_max, or (x_max beyond 10x the highest measured
        throughput: trial 7's retrograde sweep fitted one at 1.9e130 rps) flat latency."""
        if self.x_max > 10.0 * self.measured_max_throughput:
            return (
                "latency does not rise with throughput over the measured rates (the curve is "
                "flat: no asymptote within 10x of them)"
            )
        return (
            f"it is a step at {self.x_max:,.1f} rps, not a measured curve (it reaches the SLO "
            f"within {rise:.2g} rps of its asymptote, finer than the {resolution_rps:g} rps "
            "a rate was measured to)"
        )

    def _band(self, slo_ms: float, seed: int, draws: int) -> tuple[float, float]:
        cov = np.asarray(self.cov, dtype=float)
        if not np.all(np.isfinite(cov)):
            return math.nan, math.nan
        rng = np.random.default_rng(seed)
        with _quiet():  # a covariance that is not positive semi-definite warns: not printed
            sample = rng.multivariate_normal(self.params, cov, size=draws, method="eigh")
            base = np.maximum(sample[:, 0], 0.0)
            # clipped: a loosely determined parameter draws values whose exp overflows (trial 5)
            scale = np.exp(np.clip(sample[:, 1], -_LOG_LIMIT, _LOG_LIMIT))
            x_max = self.measured_max_throughput + np.exp(
                np.clip(sample[:, 2], -_LOG_LIMIT, _LOG_LIMIT)
            )
            capacity = np.where(slo_ms > base, x_max - scale / (slo_ms - base), 0.0)
        low, high = np.percentile(np.maximum(capacity, 0.0), _BAND)
        return float(low), float(high)


def fit_latency_curve(
    throughput: np.ndarray, latency_ms: np.ndarray, quantile: float
) -> LatencyFit:
    """Fit L(x) = base + scale/(x_max - x), x_max > max(throughput), by least squares on log L.

    Log latency makes the residuals relative, so the steep windows near saturation do not
    drown the flat ones. A grid over x_max (closed-form base and scale at each) seeds the
    non-linear fit, which runs in (base, ln scale, ln(x_max - max throughput)), base >= 0, by
    projected Levenberg-Marquardt with the analytic Jacobian (``least_squares``; Moré 1978),
    the covariance as scipy's ``curve_fit`` gives it.

    ``throughput`` (requests/s) and ``latency_ms`` (ms, the ``quantile`` latency): one value per
    window, 1-D of one length; ``quantile`` in (0, 1). Returns a LatencyFit (base_ms in ms, scale in
    ms x requests/s, x_max in requests/s, their covariance, r2 on log latency). Raises ValueError
    for a quantile outside (0, 1), arrays that are not 1-D of one length, empty or not finite,
    throughput < 0 or latency <= 0, fewer than 4 windows at 3 distinct throughputs, or no throughput
    > 0. A fit that has not converged in 500 iterations gives its best point.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    x, latency = _pair(throughput, latency_ms, "throughput", "latency_ms")
    if np.any(x < 0) or np.any(latency <= 0):
        raise ValueError("latency fit needs throughput >= 0 and latency_ms > 0")
    if x.size < 4 or np.unique(x).size < 3:
        raise ValueError(
            f"latency fit needs at least 4 windows at 3 distinct throughputs, got {x.size} "
            f"windows at {np.unique(x).size}"
        )
    top = float(x.max())
    if top <= 0:
        raise ValueError("latency fit needs some throughput > 0")

    p0 = _latency_seed(x, latency, top)
    with _quiet():
        popt, pcov = latency_parameters(x, np.log(latency), top, p0)
    base, log_scale, log_gap = (float(v) for v in popt)
    se = _standard_errors(pcov)
    scale, gap = math.exp(log_scale), math.exp(log_gap)
    return LatencyFit(
        base_ms=base,
        scale=scale,
        x_max=top + gap,
        base_se=se[0],
        scale_se=scale * se[1],
        x_max_se=gap * se[2],  # delta method
        r2=_r2(np.log(latency), log_latency(x, top, popt)),
        quantile=quantile,
        n_points=int(x.size),
        measured_max_throughput=top,
        params=(base, log_scale, log_gap),
        cov=tuple(tuple(float(v) for v in row) for row in pcov),
    )


def _latency_seed(x: np.ndarray, latency: np.ndarray, top: float) -> list[float]:
    """Start values: for each x_max on a log grid, weighted linear LS for (base, scale)."""
    gaps = top * np.geomspace(1e-4, 1e2, 241)
    r = 1.0 / (top + gaps[:, None] - x[None, :])  # (grid, points)
    w = 1.0 / latency**2  # relative residuals
    sw, sr, srr = w.sum(), (w * r).sum(1), (w * r * r).sum(1)
    sy, sry = (w * latency).sum(), (w * r * latency).sum(1)
    det = sw * srr - sr**2
    with np.errstate(divide="ignore", invalid="ignore"):
        base = (srr * sy - sr * sry) / det
        scale = (sw * sry - sr * sy) / det
        only_scale = sry / srr  # base clipped to 0
    clipped = ~(base >= 0)
    base = np.where(clipped, 0.0, base)
    scale = np.where(clipped, only_scale, scale)
    scale = np.maximum(scale, 1e-12 * float(latency.min()) * top)
    fitted = base[:, None] + scale[:, None] * r
    loss = ((np.log(fitted) - np.log(latency)[None, :]) ** 2).sum(1)
    i = int(np.nanargmin(loss))
    floor = 1e-9 * float(np.median(latency))  # strictly inside the base >= 0 bound
    return [max(float(base[i]), floor), math.log(scale[i]), math.log(gaps[i])]


def capacity_from_points(
    throughput: np.ndarray, latency_ms: np.ndarray, slo_ms: float
) -> float | None:
    """The highest measured throughput (requests/s) whose latency meets the SLO; None when none
    does.

    ``throughput`` (requests/s) and ``latency_ms`` (ms): one value per measured point, 1-D of one
    length; ``slo_ms``: the bound (ms, inclusive). Raises ValueError for arrays that are not 1-D of
    one length, empty or not finite.
    """
    x, latency = _pair(throughput, latency_ms, "throughput", "latency_ms")
    meets = latency <= slo_ms
    return float(x[meets].max()) if meets.any() else None


# --- service demand -----------------------------------------------------------------------


@dataclass(frozen=True)
class DemandFit:
    """Utilization law busy = intercept + D·X; D is the service demand per request."""

    seconds_per_request: float
    intercept: float
    r2: float

    @property
    def ms_per_request(self) -> float:
        """The service demand D in milliseconds per request (``1000 x seconds_per_request``)."""
        return 1000.0 * self.seconds_per_request

    def saturation_throughput(self, capacity_units: float) -> float:
        """X where busy reaches ``capacity_units`` (cores, or 1.0 for a busy fraction)."""
        if self.seconds_per_request <= 0:
            return math.inf
        return max((capacity_units - self.intercept) / self.seconds_per_request, 0.0)


def fit_service_demand(throughput: np.ndarray, busy: np.ndarray) -> DemandFit:
    """The utilization law busy = intercept + D x X fitted by least squares (``np.polyfit``, degree
    1; Denning and Buzen's U = X D).

    ``throughput``: X per window (requests/s, shape (k,)); ``busy``: the resource's busy cores (or
    busy fraction) in the same windows, shape (k,). Returns a DemandFit: D in seconds (core-seconds)
    per request, the intercept in the unit of ``busy``, r2. Raises ValueError for arrays that are
    not 1-D of one length, empty or not finite, or for fewer than 3 windows or 2 distinct
    throughputs.
    """
    x, u = _pair(throughput, busy, "throughput", "busy")
    if x.size < 3 or np.unique(x).size < 2:
        raise ValueError(
            "service demand fit needs at least 3 windows at 2 distinct throughputs, "
            f"got {x.size} windows"
        )
    slope, intercept = np.polyfit(x, u, 1)
    return DemandFit(float(slope), float(intercept), _r2(u, slope * x + intercept))


def saturating_resource(demands: Mapping[str, tuple[DemandFit, float]]) -> tuple[str, float]:
    """The resource that saturates first and the throughput (requests/s) at which it does.

    ``demands``: resource name -> (its DemandFit, its capacity in the unit of busy: cores, or 1.0
    for a busy fraction). Each resource saturates at (capacity - intercept) / D. Returns (name,
    throughput) of the lowest finite one. Raises ValueError when no resource's busy time grows with
    throughput (every D <= 0).
    """
    limits = {name: fit.saturation_throughput(cap) for name, (fit, cap) in demands.items()}
    finite = {name: limit for name, limit in limits.items() if math.isfinite(limit)}
    if not finite:
        raise ValueError("no resource's busy time grows with throughput; none saturates")
    name = min(finite, key=finite.__getitem__)
    return name, finite[name]


# --- helpers ------------------------------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    """numpy's floating-point warnings silenced inside a fit: what they signal (a covariance
    that could not be estimated, an overflowing trial step) is carried by the result (inf
    standard errors, NaN band), never printed (trial 5: ``RuntimeWarning: overflow
    encountered in exp`` on analyze's terminal)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _pair(a: ArrayLike, b: ArrayLike, a_name: str, b_name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"{a_name} and {b_name} must be 1-D arrays of the same length, "
            f"got shapes {x.shape} and {y.shape}"
        )
    if x.size == 0:
        raise ValueError(f"{a_name} and {b_name} are empty")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"{a_name} and {b_name} must be finite (no NaN or inf)")
    return x, y


def _standard_errors(pcov: np.ndarray) -> list[float]:
    diag = np.diag(pcov)
    return [float(math.sqrt(v)) if np.isfinite(v) and v >= 0 else math.inf for v in diag]


def _r2(observed: np.ndarray, fitted: np.ndarray) -> float:
    total = float(np.sum((observed - observed.mean()) ** 2))
    residual = float(np.sum((observed - fitted) ** 2))
    return 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)


def _scalar_or_array(values: np.ndarray) -> float | np.ndarray:
    return float(values) if values.ndim == 0 else values
