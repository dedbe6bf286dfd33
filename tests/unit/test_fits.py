"""Curve fits recover the parameters of data generated from known models."""

import math

import numpy as np
import pytest

from benchctl.analysis.fits import (
    DemandFit,
    capacity_from_points,
    fit_latency_curve,
    fit_service_demand,
    fit_usl,
    saturating_resource,
)

MU = 200.0  # M/M/1 service rate, req/s
Q = 0.99


def usl_data(noise: float = 0.01, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    n = np.arange(1, 65, dtype=float)
    x = 100.0 * n / (1 + 0.05 * (n - 1) + 0.002 * n * (n - 1))
    return n, x * (1 + noise * np.random.default_rng(seed).standard_normal(n.size))


def mm1_curve(top: float, noise: float = 0.03, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """p99 of M/M/1 response time, -ln(0.01)/(μ - λ), in ms with multiplicative noise."""
    x = np.linspace(10.0, top, 25)
    latency = 1000 * -math.log(1 - Q) / (MU - x)
    return x, latency * np.exp(noise * np.random.default_rng(seed).standard_normal(x.size))


def mm1_capacity(slo_ms: float) -> float:
    return MU + math.log(1 - Q) / (slo_ms / 1000)


def test_usl_recovers_known_parameters_and_peak():
    fit = fit_usl(*usl_data())
    assert fit.lambda_ == pytest.approx(100, rel=0.02)
    assert fit.sigma == pytest.approx(0.05, abs=0.005)
    assert fit.kappa == pytest.approx(0.002, rel=0.05)
    assert fit.peak_concurrency == pytest.approx(math.sqrt(0.95 / 0.002), rel=0.03)
    assert fit.max_throughput == pytest.approx(fit.predict(fit.peak_concurrency))
    assert fit.r2 > 0.99 and fit.n_points == 64 and fit.measured_max_concurrency == 64
    assert 0 < fit.sigma_se < 0.005 and 0 < fit.kappa_se < 1e-4
    assert not fit.peak_extrapolated
    assert fit.predict(np.array([1.0, 2.0])).shape == (2,)


def test_usl_without_coherency_has_no_peak():
    n = np.arange(1, 33, dtype=float)
    fit = fit_usl(n, 50 * n / (1 + 0.1 * (n - 1)))
    assert fit.kappa == pytest.approx(0, abs=1e-9)
    assert fit.peak_concurrency > 1000 * fit.measured_max_concurrency  # inf when κ is 0.0
    assert fit.max_throughput == pytest.approx(500, rel=1e-3)  # the λ/σ asymptote


def test_usl_needs_three_concurrency_levels():
    with pytest.raises(ValueError, match="at least 3 distinct concurrency levels, got 2"):
        fit_usl(np.array([1.0, 1.0, 2.0, 2.0]), np.array([10.0, 11.0, 19.0, 20.0]))
    with pytest.raises(ValueError, match="same length"):
        fit_usl(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0]))


@pytest.mark.parametrize("slo_ms", [50.0, 100.0, 200.0])
def test_latency_fit_finds_mm1_capacity(slo_ms: float):
    x, latency = mm1_curve(top=190.0)
    fit = fit_latency_curve(x, latency, Q)
    estimate = fit.capacity_at(slo_ms)
    assert estimate.throughput == pytest.approx(mm1_capacity(slo_ms), rel=0.03)
    assert not estimate.extrapolated
    assert estimate.lower <= estimate.throughput <= estimate.upper
    assert fit.x_max == pytest.approx(MU, rel=0.02)
    assert fit.r2 > 0.95
    measured = capacity_from_points(x, latency, slo_ms)
    assert measured is not None
    assert measured == pytest.approx(estimate.throughput, rel=0.05)  # fit agrees with points


def test_latency_fit_predict_and_knee():
    fit = fit_latency_curve(*mm1_curve(top=190.0), Q)
    assert fit.predict(fit.x_max) == math.inf
    assert fit.predict(fit.x_max + 10) == math.inf
    assert fit.predict(100.0) == pytest.approx(1000 * -math.log(0.01) / 100, rel=0.05)
    knee = fit.knee()  # latency twice its zero-load value; M/M/1: half of μ
    assert fit.predict(knee) == pytest.approx(2 * fit.predict(0.0))
    assert knee == pytest.approx(MU / 2, rel=0.05)


def test_latency_fit_flags_extrapolation_beyond_measured_load():
    x, latency = mm1_curve(top=100.0)  # measured only up to 50% of μ
    estimate = fit_latency_curve(x, latency, Q).capacity_at(100.0)
    assert estimate.extrapolated
    assert estimate.throughput > x.max()
    assert estimate.lower < mm1_capacity(100.0) < estimate.upper  # band covers the truth
    assert estimate.upper - estimate.lower > 10  # and is honest about how little is known


def test_capacity_band_is_seeded():
    fit = fit_latency_curve(*mm1_curve(top=150.0), Q)
    assert fit.capacity_at(100.0) == fit.capacity_at(100.0)


def test_latency_fit_bad_input():
    x, latency = mm1_curve(top=190.0)
    with pytest.raises(ValueError, match="at least 4 windows"):
        fit_latency_curve(x[:3], latency[:3], Q)
    with pytest.raises(ValueError, match="quantile"):
        fit_latency_curve(x, latency, 99.0)
    with pytest.raises(ValueError, match="finite"):
        fit_latency_curve(np.append(x, np.nan), np.append(latency, 1.0), Q)
    with pytest.raises(ValueError, match="zero-load latency"):
        fit_latency_curve(x, latency, Q).capacity_at(1.0)
    assert capacity_from_points(x, latency, 1.0) is None


def test_service_demand_from_utilization_law():
    x = np.linspace(10, 150, 15)
    busy = x * 0.005 + 0.0005 * np.random.default_rng(1).standard_normal(x.size)
    fit = fit_service_demand(x, busy)
    assert fit.ms_per_request == pytest.approx(5.0, rel=0.02)
    assert fit.intercept == pytest.approx(0.0, abs=0.002)
    assert fit.r2 > 0.99
    with pytest.raises(ValueError, match="2 distinct throughputs"):
        fit_service_demand(np.array([5.0, 5.0, 5.0]), np.array([0.1, 0.1, 0.1]))


def test_saturating_resource_picks_the_first_to_fill():
    demands = {
        "cpu": (DemandFit(0.020, 0.5, 1.0), 8.0),  # (8 - 0.5)/0.020 = 375 req/s
        "gpu": (DemandFit(0.004, 0.1, 1.0), 1.0),  # (1 - 0.1)/0.004 = 225 req/s
        "nic": (DemandFit(-0.001, 0.0, 0.1), 1.0),  # never saturates
    }
    assert saturating_resource(demands) == ("gpu", pytest.approx(225.0))
    with pytest.raises(ValueError, match="none saturates"):
        saturating_resource({"nic": demands["nic"]})
