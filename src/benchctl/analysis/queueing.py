"""M/M/c queueing math for replica sizing: Erlang C, waiting and response-time quantiles.

Rates are per second and times in seconds, except in ``size_replicas``, which speaks the
units of a capacity report (milliseconds, requests per second). The fleet is one M/M/c
queue: Poisson arrivals, exponential service, FCFS, ``c`` identical servers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from benchctl.analysis.brent import brent_root
from benchctl.analysis.cost import monthly_cost

_TABLE_EXTRA = 3  # rows shown after the chosen replica count


def erlang_c(servers: int, offered_load: float) -> float:
    """P(an arrival waits) in M/M/c (Erlang C) with ``servers`` c and ``offered_load`` a = lambda/mu
    Erlangs; 1.0 when a >= c.

    Uses the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), which never forms a^c or c!, then
    C = c B / (c - a (1 - B)) (the standard relation between Erlang B and Erlang C); stable for
    thousands of servers. Raises ValueError for servers < 1 or an offered load that is negative, NaN
    or infinite.
    """
    if servers < 1:
        raise ValueError(f"servers must be >= 1, got {servers}")
    if not math.isfinite(offered_load) or offered_load < 0:
        raise ValueError(f"offered_load must be a finite number >= 0, got {offered_load}")
    if offered_load >= servers:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return servers * blocking / (servers - offered_load * (1.0 - blocking))


def mmc_wait_exceedance(servers: int, arrival_rate: float, service_rate: float, t: float) -> float:
    """P(W > t) for the M/M/c queueing delay W: C exp(-(c mu - lambda) t), with C = ``erlang_c``;
    1.0 when unstable (lambda >= c mu) or t < 0.

    ``servers``: c; ``arrival_rate`` lambda and ``service_rate`` mu (per server) in requests/s;
    ``t`` in seconds. Returns a probability in [0, 1]. Raises ValueError for an arrival rate < 0 or
    a service rate <= 0, or either not finite.
    """
    _check_rates(arrival_rate, service_rate)
    if arrival_rate >= servers * service_rate or t < 0:
        return 1.0
    wait = erlang_c(servers, arrival_rate / service_rate)
    return wait * math.exp(-(servers * service_rate - arrival_rate) * t)


def mmc_response_survival(
    servers: int, arrival_rate: float, service_rate: float, t: float
) -> float:
    """P(T > t) for the response time T = W + S (FCFS; S ~ Exp(μ) independent of W).

    W is 0 with probability 1 - C and Exp(α), α = cμ - λ, otherwise, so
    P(T > t) = (1 - C)·e^{-μt} + C·P(Exp(α) + Exp(μ) > t). The hypoexponential tail is
    symmetric in its two rates; with m = min(α, μ), d = |α - μ| it is
    e^{-mt}·(1 + m·(1 - e^{-dt})/d), whose limit d → 0 is e^{-μt}·(1 + μt) (α == μ).

    ``servers``: c; ``arrival_rate`` lambda and ``service_rate`` mu (per server) in requests/s;
    ``t`` in seconds. Returns a probability in [0, 1] (1.0 when unstable, lambda >= c mu). Raises
    ValueError for an arrival rate < 0 or a service rate <= 0, or either not finite.
    """
    _check_rates(arrival_rate, service_rate)
    if arrival_rate >= servers * service_rate:
        return 1.0
    wait = erlang_c(servers, arrival_rate / service_rate)
    return _survival(t, wait, servers * service_rate - arrival_rate, service_rate)


def _survival(t: float, wait: float, alpha: float, service_rate: float) -> float:
    if t <= 0:
        return 1.0
    low, gap = min(alpha, service_rate), abs(alpha - service_rate)
    growth = t if gap * t < 1e-12 else -math.expm1(-gap * t) / gap
    both = math.exp(-low * t) * (1.0 + low * growth)
    return (1.0 - wait) * math.exp(-service_rate * t) + wait * both


def mmc_response_quantile(
    servers: int, arrival_rate: float, service_rate: float, q: float
) -> float:
    """The q-quantile (seconds) of M/M/c response time; math.inf when λ >= cμ.

    Inverts ``mmc_response_survival`` with Brent's method (``brent.brent_root``, scipy's
    ``brentq`` step for step) on a bracket grown by doubling.

    ``servers``: c; ``arrival_rate`` lambda and ``service_rate`` mu (per server) in requests/s;
    ``q`` in (0, 1). Raises ValueError for q outside (0, 1), an arrival rate < 0 or a service rate
    <= 0, or either not finite.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    _check_rates(arrival_rate, service_rate)
    if arrival_rate >= servers * service_rate:
        return math.inf
    target = 1.0 - q
    wait = erlang_c(servers, arrival_rate / service_rate)
    alpha = servers * service_rate - arrival_rate

    def excess(t: float) -> float:
        return _survival(t, wait, alpha, service_rate) - target

    upper = -math.log(target) / min(alpha, service_rate)
    while excess(upper) > 0:
        upper *= 2.0
    return brent_root(excess, 0.0, upper, xtol=1e-15, rtol=1e-12, maxiter=200)


@dataclass(frozen=True)
class ReplicaOption:
    """One row of the sizing table: N replicas at peak traffic.

    ``meets_slo``: the predicted percentile is within the SLO, unless ``measured_broken``.
    ``within_headroom``: utilization <= 1 - headroom. A count is chosen when both hold.
    """

    replicas: int
    utilization: float
    predicted_quantile_ms: float
    meets_slo: bool
    cost_per_month: float | None
    within_headroom: bool = True
    # the rate per replica (peak / N) is at or above one the run measured to break the SLO
    # or to saturate the server: ``meets_slo`` is False whatever the model predicts
    measured_broken: bool = False

    @property
    def acceptable(self) -> bool:
        """True when this replica count can be chosen: the predicted percentile meets the SLO and
        the utilization is within the headroom (utilization <= 1 - headroom).
        """
        return self.meets_slo and self.within_headroom


def size_replicas(
    *,
    peak_rps: float,
    service_time_ms: float,
    slo_quantile: float,
    slo_ms: float,
    servers_per_replica: int = 1,
    headroom: float = 0.2,
    price_per_replica_hour: float | None = None,
    max_replicas: int = 1000,
    capacity_rps: float | None = None,
    broken_rps: float | None = None,
) -> tuple[int | None, list[ReplicaOption]]:
    """Smallest replica count N whose fleet, M/M/(N·k) at λ = peak_rps, meets the SLO.

    The pooled M/M/c queue is one queue before every replica, which a Service spreading
    requests over replicas (each with its own queue) is not: at λ/N near one replica's
    service rate it predicts a short tail where each replica's own queue grows. So with
    ``broken_rps`` (req/s per replica the run measured to break the SLO or to saturate
    the server) a row whose λ/N >= broken_rps does not meet the SLO (``measured_broken``).

    N is chosen when the predicted ``slo_quantile`` of response time is <= ``slo_ms`` (the
    row's ``meets_slo``) and utilization λ/(N·k·μ) <= 1 - headroom (``within_headroom``),
    two separate columns. With ``capacity_rps`` (req/s one replica sustains under the SLO)
    ``within_headroom`` is instead λ/N <= capacity_rps x (1 - headroom): the headroom is
    kept on the capacity the sizing rests on (a model mix's, ``analysis.mix_sizing``), so
    N is never below ceil(λ / (capacity_rps x (1 - headroom))). Returns (N, or None if
    ``max_replicas`` cannot, and the table from the first stable N through N + 3, capped at
    max_replicas; without an N, the first four stable counts). ValueError for a value out
    of range (``capacity_rps`` must be > 0 when given)."""
    _check_sizing(
        peak_rps, service_time_ms, slo_quantile, slo_ms, servers_per_replica, headroom, max_replicas
    )
    if capacity_rps is not None and not (math.isfinite(capacity_rps) and capacity_rps > 0):
        raise ValueError(f"capacity_rps must be > 0, got {capacity_rps}")
    service_rate = 1000.0 / service_time_ms
    per_replica = servers_per_replica * service_rate
    first_stable = math.floor(peak_rps / per_replica) + 1
    if first_stable > max_replicas:
        return None, []

    def option(n: int) -> ReplicaOption:
        servers = n * servers_per_replica
        utilization = peak_rps / (n * per_replica)
        quantile_ms = 1000.0 * mmc_response_quantile(servers, peak_rps, service_rate, slo_quantile)
        cost = None if price_per_replica_hour is None else monthly_cost(n, price_per_replica_hour)
        broken = broken_rps is not None and peak_rps / n >= broken_rps
        meets = quantile_ms <= slo_ms and not broken
        within = utilization <= 1.0 - headroom + 1e-12
        if capacity_rps is not None:  # headroom on the capacity, not on the service rate
            within = peak_rps / n <= capacity_rps * (1.0 - headroom) * (1 + 1e-12)
        return ReplicaOption(n, utilization, quantile_ms, meets, cost, within, broken)

    chosen = _smallest_meeting(option, first_stable, max_replicas)
    last = chosen + _TABLE_EXTRA if chosen is not None else first_stable + _TABLE_EXTRA
    table = [option(n) for n in range(first_stable, min(last, max_replicas) + 1)]
    return chosen, table


def _smallest_meeting(option: Callable[[int], ReplicaOption], low: int, high: int) -> int | None:
    """Bisection for the smallest n in [low, high] that meets the SLO within the headroom
    (both monotone in n)."""
    if not option(high).acceptable:
        return None
    while low < high:
        middle = (low + high) // 2
        if option(middle).acceptable:
            high = middle
        else:
            low = middle + 1
    return low


def _check_rates(arrival_rate: float, service_rate: float) -> None:
    if not math.isfinite(arrival_rate) or arrival_rate < 0:
        raise ValueError(f"arrival_rate must be a finite number >= 0, got {arrival_rate}")
    if not math.isfinite(service_rate) or service_rate <= 0:
        raise ValueError(f"service_rate must be a finite number > 0, got {service_rate}")


def _check_sizing(
    peak_rps: float,
    service_time_ms: float,
    slo_quantile: float,
    slo_ms: float,
    servers_per_replica: int,
    headroom: float,
    max_replicas: int,
) -> None:
    checks = [
        (peak_rps > 0 and math.isfinite(peak_rps), f"peak_rps must be > 0, got {peak_rps}"),
        (
            service_time_ms > 0 and math.isfinite(service_time_ms),
            f"service_time_ms must be > 0, got {service_time_ms}",
        ),
        (0 < slo_quantile < 1, f"slo_quantile must be in (0, 1), got {slo_quantile}"),
        (slo_ms > 0, f"slo_ms must be > 0, got {slo_ms}"),
        (servers_per_replica >= 1, f"servers_per_replica must be >= 1, got {servers_per_replica}"),
        (0 <= headroom < 1, f"headroom must be in [0, 1), got {headroom}"),
        (max_replicas >= 1, f"max_replicas must be >= 1, got {max_replicas}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
