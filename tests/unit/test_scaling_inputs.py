"""What a run gives the autoscaler simulation: the mean latency for Little's law, the KEDA
query per server, and the consistency check against the headline replica count."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchctl.analysis.autoscaler_simulation import (
    HpaPolicy,
    Recommendation,
    ReplicaModel,
    Traffic,
    simulate_hpa,
)
from benchctl.analysis.autoscaling_section import _consistency
from benchctl.analysis.fits import fit_latency_curve
from benchctl.analysis.scaling_inputs import mean_latency, rate_query

MU = 200.0  # M/M/1 service rate (req/s)


def mm1_fit():
    """The p99 of M/M/1 response time is ln(100)/(mu - x) s: an exact curve to fit."""
    x = np.array([40.0, 80.0, 120.0, 160.0, 180.0])
    return fit_latency_curve(x, 1000 * math.log(100) / (MU - x), 0.99)


def test_mean_latency_from_measured_windows_shares_the_fits_saturation():
    """Windows whose mean latency is M/M/1's 1000/(mu - x) ms: base 0, scale 1000 ms x rps,
    with x_max the p99 fit's (mu = 200): in flight at 150 rps = 150/50 = 3 (L = rho/(1-rho))."""
    fit = mm1_fit()
    x = np.array([20.0, 60.0, 100.0, 140.0, 170.0, 190.0])
    windows = pd.DataFrame({"throughput_rps": x, "mean_latency_ms": 1000.0 / (MU - x)})
    mean, source = mean_latency(fit, windows, MU)
    assert mean is not None and "measured mean latency of 6 windows" in source
    assert mean.x_max == pytest.approx(fit.x_max)
    assert mean.x_max == pytest.approx(MU, rel=1e-6)
    assert mean.base_ms == pytest.approx(0.0, abs=1e-6)
    assert mean.scale == pytest.approx(1000.0, rel=1e-6)
    assert mean.in_flight(150.0) == pytest.approx(3.0, rel=1e-6)


def test_mean_latency_without_windows_assumes_the_exponential_tail():
    """No windows: the p99 curve's queueing part over ln(1/(1 - 0.99)) = 4.605: M/M/1's mean."""
    mean, source = mean_latency(mm1_fit(), None, MU)
    assert mean is not None and "exponential tail" in source
    assert mean.ms(100.0) == pytest.approx(1000.0 / (MU - 100.0), rel=1e-6)  # 10 ms


def test_mean_latency_without_a_curve_is_the_measured_mean():
    """The mean over the windows' requests (Little's law's W), no longer the median of the
    window means (5 ms): 1 s windows at 5, 10 and 15 req/s hold 5, 10 and 15 requests, so
    (5 x 4 + 10 x 5 + 15 x 9) / 30 = 205 / 30 = 6.8333 ms."""
    windows = pd.DataFrame({"throughput_rps": [5.0, 10.0, 15.0], "mean_latency_ms": [4, 5, 9]})
    mean, source = mean_latency(None, windows, 40.0)
    assert mean is not None and (mean.scale, mean.x_max) == (0.0, 40.0)
    assert mean.base_ms == pytest.approx(205 / 30)
    assert "measured mean latency 6.83 ms over the requests of 3 windows at 5.0-15.0 rps" in source
    assert mean_latency(None, None, 40.0)[0] is None


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        ("triton", 'sum(rate(nv_inference_request_success{namespace="ml",model="m1"}[60s]))'),
        (
            "torchserve",
            'sum(rate(ts_inference_requests_total{namespace="ml",model_name="m1"}[60s]))',
        ),
        ("kserve", 'sum(rate(request_predict_seconds_count{namespace="ml",model_name="m1"}[60s]))'),
        ("mlserver", 'sum(rate(model_infer_request_success{namespace="ml",model="m1"}[60s]))'),
    ],
)
def test_every_query_selects_the_model_and_namespace(kind: str, query: str):
    assert rate_query(kind, "m1", "ml", 60) == query


def test_consistency_says_why_the_simulation_runs_fewer_than_the_headline():
    """100 -> 400 rps at 60 s, 100 rps per replica, HPA target 100: 4 replicas at the peak.
    Against a headline of 5 (with 20% headroom: ceil(400 / 80)) the check says so and why;
    against a headline of 4 it is satisfied."""

    def latency_ms(rate):
        return np.where(np.asarray(rate) < 120, 50.0, np.inf)

    model = ReplicaModel(100, 120, latency_ms, cold_start_s=30, slo_ms=100)
    traffic = Traffic.from_arrays([0, 60, 600], [100, 400, 400])
    result = simulate_hpa(traffic, model, HpaPolicy(1, 10, "rps_per_replica", 100))
    choice = Recommendation(HpaPolicy(1, 10, "rps_per_replica", 100), result, True, "")
    fewer = _consistency(choice, 5, model, 0.2, traffic)
    assert fewer is not None and not fewer["at_least_recommended"]
    assert fewer["simulated_at_peak"] == 4
    assert "fewer than the 5 recommended" in fewer["text"] and "20% headroom" in fewer["text"]
    assert "SLO is violated 45 s" in fewer["text"]
    same = _consistency(choice, 4, model, 0.2, traffic)
    assert same is not None and same["at_least_recommended"]
    assert _consistency(choice, None, model, 0.2, traffic) is None


def test_a_rejected_asymptote_is_not_the_mean_latency_curves_x_max():
    """Trial 7 (F17): analyze declared the fit's asymptote no saturation rate (r² 0.87 < 0.9)
    and kept saturation_at_least_rps 70.25 (the most the run served), yet the Knative curve
    used the asymptote as x_max. README: x_max is the largest of capacity_rps, saturation_rps
    and saturation_at_least_rps. Here the M/M/1 fit's asymptote is 200 req/s, but the
    replica model's saturation is max(capacity 120, None, served 150) = 150 req/s: x_max is
    150, with or without windows (windows at 20..140 req/s of M/M/1 mean 1/(200 - x) s)."""
    from benchctl.analysis.scaling_inputs import served_saturation

    single = {"capacity_rps": 120.0, "saturation_rps": None, "saturation_at_least_rps": 150.0}
    saturation = served_saturation(single)
    assert saturation == 150.0
    fit = mm1_fit()
    assert fit.x_max == pytest.approx(MU, rel=1e-6)
    mean, source = mean_latency(fit, None, saturation)
    assert mean is not None and mean.x_max == 150.0
    assert "200 rps is not a saturation rate here" in source
    x = np.arange(20.0, 141.0, 20.0)
    windows = pd.DataFrame({"throughput_rps": x, "mean_latency_ms": 1000.0 / (MU - x)})
    mean, source = mean_latency(fit, windows, saturation)
    assert mean is not None and mean.x_max == 150.0
    assert "fitted as base" in source and "(150 - x)" in source
