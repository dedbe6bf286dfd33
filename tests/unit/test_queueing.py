"""M/M/c math against exact and published answers."""

import itertools
import math
from fractions import Fraction

import pytest

from benchctl.analysis.queueing import (
    erlang_c,
    mmc_response_quantile,
    mmc_response_survival,
    mmc_wait_exceedance,
    size_replicas,
)


def erlang_c_exact(servers: int, load: Fraction) -> Fraction:
    """The textbook closed form (Kleinrock, Queueing Systems I, M/M/m) in exact rationals."""
    head = sum(load**k / math.factorial(k) for k in range(servers))
    tail = load**servers / math.factorial(servers) * Fraction(servers) / (servers - load)
    return tail / (head + tail)


# Known answers (each also equals the exact rational of the defining formula):
# - C(1, a) = a and C(2, a) = a²/(2 + a), the one- and two-server closed forms
#   (follow from the M/M/m formula): (2, 1) → 1/3; (2, 1.5) → 9/14 ≈ 0.6429, the
#   two 1 Mbps lines at 150 packets/s of 10 kbit in Wolfram Language's ErlangC reference.
# - C(3, 2) = 4/9; C(10, 8) = 4194304/10250507 ≈ 0.4092 (10 agents at 8 Erlangs).
# - Wolfram's ErlangC support-centre problem (30 calls/h, 5 min each, a = 2.5) needs 6 staff
#   for P(delay) <= 10%: C(5, 2.5) ≈ 0.1304 > 0.1 >= C(6, 2.5) ≈ 0.0474.
@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (1, 0.3, 0.3),
        (2, 1.0, 1 / 3),
        (2, 1.5, 9 / 14),
        (3, 2.0, 4 / 9),
        (10, 8.0, 0.4092),
        (5, 2.5, 0.1304),
        (6, 2.5, 0.0474),
    ],
)
def test_erlang_c_matches_published_values(servers: int, load: float, expected: float):
    assert erlang_c(servers, load) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(("servers", "load"), [(10, 8), (100, 90), (1000, 950), (1000, 999)])
def test_erlang_c_matches_exact_rationals_up_to_a_thousand_servers(servers: int, load: int):
    exact = float(erlang_c_exact(servers, Fraction(load)))
    assert erlang_c(servers, float(load)) == pytest.approx(exact, rel=1e-10)


def test_erlang_c_is_one_when_overloaded_and_zero_without_load():
    assert erlang_c(4, 4.0) == 1.0
    assert erlang_c(4, 7.5) == 1.0
    assert erlang_c(4, 0.0) == 0.0


def test_erlang_c_falls_as_servers_are_added():
    values = [erlang_c(c, 8.0) for c in range(9, 30)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values))


def test_wait_exceedance_is_erlang_c_times_exponential_tail():
    # c=2, λ=1.5, μ=1 → C = 9/14, cμ-λ = 0.5
    assert mmc_wait_exceedance(2, 1.5, 1.0, 0.0) == pytest.approx(9 / 14)
    assert mmc_wait_exceedance(2, 1.5, 1.0, 2.0) == pytest.approx(9 / 14 * math.exp(-1.0))
    assert mmc_wait_exceedance(2, 2.5, 1.0, 2.0) == 1.0


@pytest.mark.parametrize(
    ("lam", "mu", "q"),
    [(150.0, 200.0, 0.99), (10.0, 200.0, 0.5), (199.0, 200.0, 0.999), (0.0, 5.0, 0.9)],
)
def test_mm1_response_time_is_exponential(lam: float, mu: float, q: float):
    exact = -math.log(1 - q) / (mu - lam)
    assert mmc_response_quantile(1, lam, mu, q) == pytest.approx(exact, rel=1e-9)


def test_response_survival_when_wait_rate_equals_service_rate():
    # c=3, λ=100, μ=50: cμ-λ = μ, so P(T>t) = e^{-μt}(1 + Cμt) with C(3, 2) = 4/9
    t = 0.05
    expected = math.exp(-50 * t) * (1 + 4 / 9 * 50 * t)
    assert mmc_response_survival(3, 100.0, 50.0, t) == pytest.approx(expected, rel=1e-12)
    nearby = mmc_response_survival(3, 100.0, 50.0 * (1 + 1e-9), t)
    assert nearby == pytest.approx(expected, rel=1e-6)


def test_response_quantile_falls_with_servers_and_is_inf_when_unstable():
    quantiles = [mmc_response_quantile(c, 100.0, 30.0, 0.99) for c in range(4, 12)]
    assert all(b < a for a, b in itertools.pairwise(quantiles))
    assert quantiles[-1] > -math.log(0.01) / 30.0  # never below the service time's own p99
    assert mmc_response_quantile(3, 90.0, 30.0, 0.99) == math.inf
    assert mmc_response_quantile(3, 120.0, 30.0, 0.99) == math.inf


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="servers"):
        erlang_c(0, 1.0)
    with pytest.raises(ValueError, match="quantile"):
        mmc_response_quantile(2, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="service_rate"):
        mmc_response_quantile(2, 1.0, 0.0, 0.5)


def test_size_replicas_hand_computed():
    # 100 req/s, 20 ms service (μ = 50/s), one server per replica, p99 <= 100 ms.
    # N=2 is unstable. N=3: C(3,2) = 4/9, cμ-λ = μ, so P(T>t) = e^{-50t}(1 + 200t/9);
    # at t = 0.100, 0.006738·3.222 = 0.0217 > 0.01 → p99 > 100 ms.
    # N=4: C(4,2) = 4/23, cμ-λ = 100, P(T>t) = (27/23)e^{-50t} - (4/23)e^{-100t};
    # at t = 0.100, 0.007910 - 0.000008 = 0.0079 < 0.01 → p99 < 100 ms, so N = 4.
    chosen, table = size_replicas(
        peak_rps=100, service_time_ms=20, slo_quantile=0.99, slo_ms=100, price_per_replica_hour=2.0
    )
    assert chosen == 4
    assert [row.replicas for row in table] == [3, 4, 5, 6, 7]
    three, four = table[0], table[1]
    assert not three.meets_slo and four.meets_slo
    t3, t4 = three.predicted_quantile_ms / 1000, four.predicted_quantile_ms / 1000
    assert math.exp(-50 * t3) * (1 + 200 * t3 / 9) == pytest.approx(0.01, rel=1e-9)
    assert 27 / 23 * math.exp(-50 * t4) - 4 / 23 * math.exp(-100 * t4) == pytest.approx(
        0.01, rel=1e-9
    )
    assert three.utilization == pytest.approx(2 / 3)
    assert four.cost_per_month == pytest.approx(4 * 2.0 * 730)


def test_size_replicas_headroom_binds_when_latency_is_loose():
    common = dict(peak_rps=100, service_time_ms=20, slo_quantile=0.99, slo_ms=1000)
    assert size_replicas(**common, headroom=0.2)[0] == 3  # utilization 0.667 <= 0.8
    chosen, table = size_replicas(**common, headroom=0.4)
    assert chosen == 4  # 0.667 > 0.6; 0.5 <= 0.6
    # "meets SLO" says only that: 3 replicas meet it (p99 well under 1 s), outside headroom.
    three = table[0]
    assert three.replicas == 3 and three.meets_slo and not three.within_headroom
    assert table[1].meets_slo and table[1].within_headroom


def test_size_replicas_counts_servers_per_replica_and_caps():
    chosen, table = size_replicas(
        peak_rps=100, service_time_ms=20, slo_quantile=0.99, slo_ms=100, servers_per_replica=4
    )
    assert chosen == 1 and table[0].cost_per_month is None  # M/M/4 as above
    none, rows = size_replicas(
        peak_rps=100, service_time_ms=20, slo_quantile=0.99, slo_ms=50, max_replicas=50
    )  # service p99 alone is 92 ms
    assert none is None and [row.replicas for row in rows] == [3, 4, 5, 6]
    assert size_replicas(
        peak_rps=1000, service_time_ms=20, slo_quantile=0.99, slo_ms=100, max_replicas=10
    ) == (None, [])
