"""A root of a scalar function on a bracket by Brent's method, in plain Python.

The M/M/c response-time quantile (``queueing.mmc_response_quantile``) inverts a survival
function; it used ``scipy.optimize.brentq``, whose import alone (scipy.optimize and
scipy.linalg) was about 0.3 s of CPU for every ``benchctl analyze``. This is the same
method, step for step (Brent 1973, "Algorithms for Minimization without Derivatives",
ch. 4, in the variant of scipy's ``brentq``: inverse quadratic extrapolation or secant
interpolation when it shortens the step enough, else bisection), so it returns the same
float as scipy's for the same function, bracket and tolerances.
"""

from __future__ import annotations

from collections.abc import Callable


def brent_root(
    f: Callable[[float], float],
    a: float,
    b: float,
    *,
    xtol: float = 2e-12,
    rtol: float = 8.881784197001252e-16,
    maxiter: int = 100,
) -> float:
    """A zero of ``f`` in [a, b] to within xtol + rtol x |root| (f(a) and f(b) of opposite
    signs or zero). Raises ValueError when f(a) and f(b) have the same sign, RuntimeError
    when ``maxiter`` steps do not converge (as scipy's ``brentq``)."""
    f_prev, f_cur = f(a), f(b)
    if f_prev * f_cur > 0:
        raise ValueError("f(a) and f(b) must have different signs")
    if f_prev == 0:
        return a
    if f_cur == 0:
        return b
    x_prev, x_cur = a, b
    x_blk = f_blk = s_prev = s_cur = 0.0
    for _ in range(maxiter):
        if f_prev * f_cur < 0:  # the root lies between x_prev and x_cur
            x_blk, f_blk = x_prev, f_prev
            s_prev = s_cur = x_cur - x_prev
        if abs(f_blk) < abs(f_cur):  # keep the best estimate in x_cur
            x_prev, x_cur, x_blk = x_cur, x_blk, x_cur
            f_prev, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = (xtol + rtol * abs(x_cur)) / 2
        s_bis = (x_blk - x_cur) / 2
        if f_cur == 0 or abs(s_bis) < delta:
            return x_cur
        s_prev, s_cur = _step(x_prev, x_cur, x_blk, f_prev, f_cur, f_blk, s_prev, s_cur, delta)
        x_prev, f_prev = x_cur, f_cur
        if abs(s_cur) > delta:
            x_cur += s_cur
        else:
            x_cur += delta if s_bis > 0 else -delta
        f_cur = f(x_cur)
    raise RuntimeError(f"Brent's method did not converge in {maxiter} iterations")


def _step(
    x_prev: float,
    x_cur: float,
    x_blk: float,
    f_prev: float,
    f_cur: float,
    f_blk: float,
    s_prev: float,
    s_cur: float,
    delta: float,
) -> tuple[float, float]:
    """(the previous step, the next step): an interpolated one when it is short enough,
    else half the bracket."""
    s_bis = (x_blk - x_cur) / 2
    if abs(s_prev) > delta and abs(f_cur) < abs(f_prev):
        if x_prev == x_blk:  # secant
            s_try = -f_cur * (x_cur - x_prev) / (f_cur - f_prev)
        else:  # inverse quadratic
            d_prev = (f_prev - f_cur) / (x_prev - x_cur)
            d_blk = (f_blk - f_cur) / (x_blk - x_cur)
            s_try = -f_cur * (f_blk * d_blk - f_prev * d_prev) / (d_blk * d_prev * (f_blk - f_prev))
        if 2 * abs(s_try) < min(abs(s_prev), 3 * abs(s_bis) - delta):
            return s_cur, s_try
    return s_bis, s_bis
