"""Bounded non-linear least squares in numpy, for the capacity fits (``fits.py``).

A Levenberg–Marquardt method (Levenberg 1944; Marquardt 1963) with Moré's scaling of the
damping by the Jacobian's column norms (Moré 1978, "The Levenberg-Marquardt algorithm:
implementation and theory"), each step solved as a linear least-squares problem (an SVD,
never the normal equations) and projected onto the bounds, a parameter held at a bound while
the gradient pushes it out (a projected Levenberg–Marquardt method: Kanzow, Yamashita and
Fukushima 2004). It stops by the same three tests as scipy's ``least_squares`` (the
relative drop of the cost, the relative size of the step, the gradient's largest component),
and gives the covariance the way scipy's ``curve_fit`` does (``covariance``). It replaces
``scipy.optimize.curve_fit`` on ``benchctl analyze``'s path, whose import alone cost about
0.3 s of CPU per command; it needs no more than numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_FTOL = 1e-10  # relative drop of the cost below which a (well-predicted) step stops the fit
_XTOL = 1e-10  # relative size of a step below which the fit stops
_GTOL = 1e-8  # the gradient's largest free component below which the fit stops (scipy's)
_MAX_ITERATIONS = 500
_DAMPING_START, _DAMPING_MAX = 1e-3, 1e20
_LN_MAX = 300.0  # the latency curve's log-parameters' upper bound (see latency_parameters)

Vector = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Solution:
    """A least-squares solution: ``x`` the parameters, ``residuals`` and ``jacobian`` at it
    (shape (m,) and (m, n)), ``cost`` the sum of squared residuals, ``converged`` False when
    the iterations ran out (``x`` is then the best point found)."""

    x: np.ndarray
    residuals: np.ndarray
    jacobian: np.ndarray
    cost: float
    converged: bool


def solve(
    residuals: Vector, jacobian: Vector, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> Solution:
    """Minimize sum(residuals(x)**2) over lower <= x <= upper by projected Levenberg–Marquardt.

    ``residuals``: x (shape (n,)) -> shape (m,); ``jacobian``: x -> d residuals / d x, shape
    (m, n); ``x0``: the start (clipped into the bounds); ``lower``/``upper``: shape (n,),
    -inf/inf for none. Each iteration solves min |J d + r|^2 + lam |D d|^2 (D: the Jacobian's
    column norms, Moré's scaling; lam the damping, divided by 10 after a step that lowers the
    cost, multiplied by 10 after one that does not) over the free parameters, projects x + d
    onto the bounds, and stops when the gradient's largest free component is below 1e-8, when
    an accepted step lowers the cost by less than 1e-10 of it while it was predicted to within
    a factor of 4, when a step is below 1e-10 of |x|, when no damping lowers the cost, or
    after 500 iterations (``converged`` False). Raises ValueError when the residuals at the
    start are not finite.
    """
    x = np.clip(np.asarray(x0, dtype=float), lower, upper)
    r = residuals(x)
    cost = float(r @ r)
    if not math.isfinite(cost):
        raise ValueError("least squares: the residuals at the start are not finite")
    jac = jacobian(x)
    damping = _DAMPING_START
    for _ in range(_MAX_ITERATIONS):
        gradient = jac.T @ r
        free = ~(((x <= lower) & (gradient > 0)) | ((x >= upper) & (gradient < 0)))
        if cost == 0.0 or not free.any() or np.max(np.abs(gradient[free])) < _GTOL:
            return Solution(x, r, jac, cost, True)
        step = _damped_step(jac[:, free], r, free, damping, x, lower, upper, residuals, cost)
        if step is None:
            return Solution(x, r, jac, cost, True)  # no damping lowers the cost: a minimum
        x_new, r_new, cost_new, predicted, damping = step
        moved = float(np.linalg.norm(x_new - x))
        drop = cost - cost_new
        x, r, cost = x_new, r_new, cost_new
        jac = jacobian(x)
        if (drop < _FTOL * (cost + drop) and drop > 0.25 * predicted) or moved < _XTOL * (
            _XTOL + float(np.linalg.norm(x))
        ):
            return Solution(x, r, jac, cost, True)
    return Solution(x, r, jac, cost, False)


def _damped_step(
    jac: np.ndarray,
    r: np.ndarray,
    free: np.ndarray,
    damping: float,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    residuals: Vector,
    cost: float,
) -> tuple[np.ndarray, np.ndarray, float, float, float] | None:
    """The first damped step (damping raised tenfold per try) that lowers the cost: (new x,
    its residuals, its cost, the cost drop the linear model predicted, the damping for the
    next iteration); None when the damping passes 1e20 first."""
    column = np.sqrt(np.maximum(np.sum(jac * jac, axis=0), np.finfo(float).tiny))
    k = jac.shape[1]
    target = np.concatenate([-r, np.zeros(k)])
    while damping <= _DAMPING_MAX:
        system = np.vstack([jac, np.diag(math.sqrt(damping) * column)])
        d = np.linalg.lstsq(system, target, rcond=None)[0]
        x_new = x.copy()
        x_new[free] += d
        x_new = np.clip(x_new, lower, upper)
        r_new = residuals(x_new)
        cost_new = float(r_new @ r_new)
        if math.isfinite(cost_new) and cost_new < cost:
            linear = r + jac @ (x_new - x)[free]
            predicted = cost - float(linear @ linear)
            return x_new, r_new, cost_new, predicted, max(damping / 10.0, 1e-15)
        damping *= 10.0
    return None


def covariance(solution: Solution) -> np.ndarray:
    """The parameters' covariance as scipy's ``curve_fit`` gives it (``absolute_sigma``
    False): the Moore–Penrose inverse of J^T J (singular values of J below eps x max(m, n) x
    the largest dropped) times the residual variance cost / (m - n); all inf when m <= n or
    the result is NaN. Shape (n, n)."""
    jac = solution.jacobian
    m, n = jac.shape
    with np.errstate(all="ignore"):
        _, s, vt = np.linalg.svd(jac, full_matrices=False)
        keep = s > np.finfo(float).eps * max(m, n) * s[0]
        s, vt = s[keep], vt[keep]
        cov = (vt.T / s**2) @ vt
        if m <= n or np.isnan(cov).any():
            return np.full((n, n), np.inf)
        return cov * (solution.cost / (m - n))


# --- the capacity fits' models ----------------------------------------------------------


def usl_parameters(n: np.ndarray, x: np.ndarray, lambda0: float) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, sigma, kappa) and their covariance (``covariance``) for the Universal
    Scalability Law X(N) = lambda N / D, D = 1 + sigma (N-1) + kappa N (N-1): ``n``
    concurrency and ``x`` throughput (req/s) per point, shape (k,); ``lambda0`` the start's
    lambda (sigma 0.01, kappa 1e-4); bounds lambda >= 0, sigma in [0, 1], kappa >= 0. Fitted
    by ``solve`` with the analytic Jacobian dX/dlambda = N/D, dX/dsigma = -lambda N (N-1)/D^2,
    dX/dkappa = -lambda N^2 (N-1)/D^2. Raises ValueError when the start is not finite."""

    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] * n / (1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0)) - x

    def jacobian(p: np.ndarray) -> np.ndarray:
        d = 1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0)
        slope = -p[0] * n * (n - 1.0) / d**2
        return np.column_stack([n / d, slope, slope * n])

    start = np.array([lambda0, 0.01, 1e-4])
    found = solve(residuals, jacobian, start, np.zeros(3), np.array([np.inf, 1.0, np.inf]))
    return found.x, covariance(found)


def log_latency(x: np.ndarray, top: float, p: np.ndarray) -> np.ndarray:
    """ln L(x) (ln ms) at throughputs ``x`` (req/s) for p = (base ms, ln scale, ln gap):
    L = base + scale / (top + gap - x), x_max = top + gap."""
    return np.log(p[0] + np.exp(p[1]) / (top + np.exp(p[2]) - x))


def latency_parameters(
    x: np.ndarray, observed: np.ndarray, top: float, p0: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """(base, ln scale, ln gap) and their covariance (``covariance``) for ``log_latency``:
    ``x`` throughput (req/s) and ``observed`` ln latency (ln ms) per window, shape (k,);
    ``top`` the highest throughput; ``p0`` the start; base >= 0, ln scale and ln gap at most
    300 (``_LN_MAX``). Fitted by ``solve`` with the analytic Jacobian of f = ln u,
    u = base + S q, q = 1/(top + G - x), S = e^(ln scale), G = e^(ln gap): df/dbase = 1/u,
    df/d(ln scale) = S q/u, df/d(ln gap) = -S G q^2/u. Raises ValueError when the start is
    not finite."""

    def residuals(p: np.ndarray) -> np.ndarray:
        return log_latency(x, top, p) - observed

    def jacobian(p: np.ndarray) -> np.ndarray:
        scale, gap = math.exp(p[1]), math.exp(p[2])
        q = 1.0 / (top + gap - x)
        u = p[0] + scale * q
        return np.column_stack([1.0 / u, scale * q / u, -scale * gap * q * q / u])

    # ln scale and ln gap at most 300 (e^300 ~ 1e130: a gap that large is no asymptote at
    # all): above about 709 math.exp overflows, and a fit drifting there (trial 7's
    # retrograde sweep, whose latency does not rise with throughput) stops at the bound
    lower = np.array([0.0, -np.inf, -np.inf])
    upper = np.array([np.inf, _LN_MAX, _LN_MAX])
    found = solve(residuals, jacobian, np.clip(np.array(p0), lower, upper), lower, upper)
    return found.x, covariance(found)
