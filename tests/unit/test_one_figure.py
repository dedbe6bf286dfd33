"""One replica figure everywhere (the headline's headroom-adjusted count), one deployment
chosen, and what the monthly cost assumes: known answers by hand."""

from benchctl.analysis.answer import cost_sentence
from benchctl.analysis.autoscaler_simulation import (
    default_hpa_candidates,
    default_kpa_candidates,
    simulate_hpa,
)
from benchctl.analysis.autoscaling_choice import mark_chosen
from benchctl.analysis.deployment import RAW
from benchctl.analysis.replica_sizing import autoscaled_cost
from benchctl.analysis.scaling_model import Recommendation
from benchctl.analysis.spikes import spike_advice
from tests.unit.test_autoscale import RPS_100, flat_model, spikes


def test_min_replicas_cron_and_min_scale_follow_the_headline_count():
    """Capacity 100 rps, bursts to 640 rps: ceil(640 / 100) = 7; with 20% headroom the
    headline is ceil(640 / 80) = 8. Given need=8, the advice, the cron desiredReplicas and
    the grids' top min replicas / min scale all say 8 (halves: ceil(8 / 2) = 4)."""
    traffic, model = spikes(cold=60)
    result = simulate_hpa(traffic, model, RPS_100)
    text = spike_advice(traffic, model, result, need=8, need_reason="the recommended count")
    assert "Set min replicas to 8 (the recommended count)" in text
    assert "pre-scale to 8 replicas" in text and "desiredReplicas 8 " in text
    hpa = default_hpa_candidates(flat_model(), peak=640, need=8)
    assert {p.min_replicas for p in hpa} == {1, 4, 8}
    kpa = default_kpa_candidates(flat_model(), peak=640, need=8)
    assert {p.min_scale for p in kpa} == {0, 1, 4, 8}


def test_exactly_one_deployment_is_chosen():
    hpa = Recommendation(RPS_100, None, True, "KEDA/HPA 2-12: chosen: cheapest candidate")  # type: ignore[arg-type]
    kpa = Recommendation(RPS_100, None, True, "KPA 4-12: chosen: cheapest candidate")  # type: ignore[arg-type]
    marked_hpa, marked_kpa = mark_chosen(hpa, kpa, RAW)
    assert marked_hpa.chosen and not marked_kpa.chosen
    assert "CHOSEN for manifests/" in marked_hpa.reason and "chosen:" not in marked_hpa.reason
    assert "the alternative, not chosen (manifests/alternative-serverless-kpa/)" in (
        marked_kpa.reason
    )
    assert "CHOSEN" not in marked_kpa.reason


def test_cost_says_what_it_assumes_and_the_autoscaled_cost():
    """5 replicas always on at 2.48 USD/h: 5 x 2.48 x 730 = 9,052 USD a month. The chosen
    KEDA simulation used 2,250 replica-seconds over 600 s of traffic: 3.75 replicas on
    average, 3.75 x 2.48 x 730 = 6,789 USD a month."""
    scaling = {
        "deployment": "RawDeployment",
        "traffic": {"seconds": 600.0},
        "hpa": {"result": {"replica_seconds": 2250.0}},
    }
    cost = {
        "currency": "USD",
        "price_per_replica_hour": 2.48,
        "per_million_at_capacity": 11.26,
        "per_month": 9052.0,
        "per_month_replicas": 5,
        **autoscaled_cost(scaling, 2.48),
    }
    assert cost["autoscaled"]["mean_replicas"] == 3.75
    assert round(cost["autoscaled"]["per_month"], 2) == 6789.0
    text = cost_sentence({"cost": cost})
    assert "9,052 USD per month for 5 replicas always on (730 h a month)" in text
    assert "(RawDeployment + KEDA) averaged 3.8 replicas over the 600 s" in text
    assert "about 6,789 USD per month" in text


def test_the_final_answer_names_the_cron_prescale_of_the_chosen_setting():
    """`run --slo` ends with the answer: when the chosen autoscaler needs KEDA cron pre-scaling
    (capacity.json autoscaling.cron_prescale), the answer says so beside the HPA line (the
    demo printed 'HPA: min_replicas=3' alone, whose reactive scaling broke the SLO 69 s)."""
    import io

    from rich.console import Console

    from benchctl.reports.terminal.answer import print_final_answer

    doc = {
        "single_replica": {"capacity_rps": 43.75, "bound": "measured"},
        "autoscaling": {
            "hpa": {"policy": {"min_replicas": 3, "max_replicas": 16}},
            "cron_prescale": {"desired_replicas": 6, "start": "4-59/10 * * * *",
                              "end": "7-59/10 * * * *"},
        },
    }  # fmt: skip
    out = io.StringIO()
    print_final_answer(Console(file=out, width=200), doc)
    text = out.getvalue()
    assert "HPA: min_replicas=3, max_replicas=16" in text
    assert "KEDA cron pre-scale: 6 replicas from '4-59/10 * * * *' to '7-59/10 * * * *'" in text
    without = io.StringIO()
    print_final_answer(Console(file=without, width=200), {**doc, "autoscaling": {}})
    assert "cron" not in without.getvalue()
