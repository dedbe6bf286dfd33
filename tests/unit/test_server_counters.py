"""Server-side counters as Prometheus's increase() reads them: per series, the target model
only, resets, gaps, non-finite samples, label changes, missing stages (known answers).

Every scrape below is Prometheus text exposition parsed by the same parser the sampler uses.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from benchctl.telemetry.prometheus import parse_metrics
from benchctl.telemetry.server_metrics import counter, server_windows, stages_exposed

COLUMNS = ["time", "source", "metric", "labels", "value"]


def triton_text(series: dict[str, float | str], other: float | None = None) -> str:
    """nv_inference_request_success with the given label sets (text in braces) and values."""
    lines = ["# TYPE nv_inference_request_success counter"]
    lines += [f"nv_inference_request_success{{{key}}} {value}" for key, value in series.items()]
    if other is not None:
        lines.append(f'nv_inference_request_success{{model="other",version="1"}} {other}')
    return "\n".join(lines) + "\n"


def frame(texts: list[tuple[float, str]]) -> pd.DataFrame:
    rows = []
    for t, text in texts:
        rows += parse_metrics(text, t)
    return pd.DataFrame(rows, columns=COLUMNS)


MLP = 'model="mlp",version="1"'


def predict_only(scrapes: int, inf_sum_at: tuple[int, ...] = ()) -> pd.DataFrame:
    """KServe scrapes at t = 0, 1, ... scrapes-1 s exposing request_predict_seconds only (no
    pre/postprocess) for model mlp: 10 requests a second, 2 ms each (count 10*t, sum
    10*t*0.002 s); the _sum reads +Inf at the seconds in ``inf_sum_at``."""
    texts = []
    for t in range(scrapes):
        n = 10 * t
        total = "+Inf" if t in inf_sum_at else n * 0.002
        texts.append(
            (
                float(t),
                "# TYPE request_predict_seconds histogram\n"
                f'request_predict_seconds_count{{model_name="mlp"}} {n}\n'
                f'request_predict_seconds_sum{{model_name="mlp"}} {total}\n',
            )
        )
    return frame(texts)


def test_reset_in_the_target_series_while_another_model_has_its_own_traffic():
    """20 req/s to mlp for 12 s = 240 requests; mlp's series restarts at 0 after t=4 (model
    reload: 80 counted before it), the other model serves 7 req/s all along.
    Known answer: 80 (t=0..4) + 160 (t=4..12, counted from 0 after the reset) = 240."""
    texts = []
    for t in range(13):
        mlp = 20 * t if t <= 4 else 20 * (t - 4)
        texts.append((float(t), triton_text({MLP: mlp}, other=50_000 + 7 * t)))
    raw = frame(texts)
    target = counter(raw, "nv_inference_request_success", "mlp")
    assert (target.total, target.series, target.resets) == (240, 1, 1)
    # The other model's own traffic, when it is the target: 7 × 12 = 84.
    assert counter(raw, "nv_inference_request_success", "other").total == 84
    windows = server_windows(raw, "triton", np.arange(0.0, 12.1, 4.0), model="mlp")
    assert windows["server_requests"].tolist() == [80.0, 80.0, 80.0]


def test_gaps_series_missing_from_scrapes_and_non_finite_samples():
    """10 req/s for 10 s = 100. mlp's series is absent at t=3,4 and reads NaN at t=6, +Inf
    at t=7, -Inf at t=8: all gaps, interpolated across. Known answer: 100, and the window
    [0, 5) holds 50 (interpolated between t=2 and t=5)."""
    texts = []
    for t in range(11):
        value: float | str = 10 * t
        if t in (3, 4):
            texts.append((float(t), triton_text({}, other=50_000)))
            continue
        value = {6: "NaN", 7: "+Inf", 8: "-Inf"}.get(t, value)
        texts.append((float(t), triton_text({MLP: value}, other=50_000)))
    raw = frame(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning may reach the terminal
        assert counter(raw, "nv_inference_request_success", "mlp").total == 100
        windows = server_windows(raw, "triton", np.array([0.0, 5.0, 10.0]), model="mlp")
    assert windows["server_requests"].tolist() == [50.0, 50.0]


def test_label_change_continues_the_count():
    """The series gains a label at t=5 (same process, value continues): 10 req/s for 10 s.
    Known answer: 100, not 100 + 50 (the new series is not counted from 0)."""
    texts = []
    for t in range(11):
        labels = MLP if t < 5 else MLP + ',gpu_uuid="cpu"'
        texts.append((float(t), triton_text({labels: 10 * t})))
    raw = frame(texts)
    relabelled = counter(raw, "nv_inference_request_success", "mlp")
    assert (relabelled.total, relabelled.series, relabelled.resets) == (100, 2, 0)


def test_series_first_seen_during_the_run_counts_from_zero():
    """KServe histograms appear after their first observation: absent at t=0, then 3, 9.
    Known answer: 9 requests."""
    lines = "# TYPE request_predict_seconds histogram\n"
    texts = [(0.0, "# TYPE up gauge\nup 1\n")]
    for t, n in ((1.0, 3), (2.0, 9)):
        texts.append(
            (
                t,
                lines
                + f'request_predict_seconds_count{{model_name="mlp"}} {n}\n'
                + f'request_predict_seconds_sum{{model_name="mlp"}} {n * 0.002}\n',
            )
        )
    raw = frame(texts)
    assert counter(raw, "request_predict_seconds_count", "mlp").total == 9


def test_missing_compute_stage_sums_the_stages_that_exist():
    """KServe exposes predict but not preprocess/postprocess here: 2 ms per request.
    Known answer: compute 2.0 ms per request (not NaN), and the missing stages are named."""
    raw = predict_only(6)
    windows = server_windows(raw, "kserve", np.array([0.0, 5.0]), model="mlp")
    assert windows["server_requests"].tolist() == [50.0]
    assert windows["server_compute_ms"].tolist() == pytest.approx([2.0])
    info = stages_exposed(raw, "kserve", "mlp")
    assert info["compute_stages"] == ["request_predict_seconds_sum"]
    assert info["compute_stages_missing"] == [
        "request_preprocess_seconds_sum",
        "request_postprocess_seconds_sum",
    ]


def test_inf_histogram_sum_is_a_gap_not_the_rest_of_the_run():
    """_sum reads +Inf at t=2..3; 2 ms per request. Known answer: 2.0 ms in both windows."""
    raw = predict_only(9, inf_sum_at=(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        windows = server_windows(raw, "kserve", np.array([0.0, 4.0, 8.0]), model="mlp")
    assert windows["server_compute_ms"].tolist() == pytest.approx([2.0, 2.0])


def test_self_check_band_is_ok_minus_tolerance_to_sent_plus_tolerance():
    """tolerance = max(2, ceil(1% of sent)): 2 for 100 sent, 10 for 1000 sent.
    1000 sent, 990 ok: the band is 980..1010."""
    from benchctl.telemetry.selfcheck import compare_counts, tolerance

    assert (tolerance(100), tolerance(1000), tolerance(1001)) == (2, 10, 11)
    assert compare_counts(980, 1000, 990)["agree"] is True
    assert compare_counts(1010, 1000, 990)["agree"] is True
    low = compare_counts(979, 1000, 990)
    assert low["agree"] is False and "fewer than succeeded" in low["warning"]
    high = compare_counts(1011, 1000, 990)
    assert high["agree"] is False and "more than were sent" in high["warning"]


def test_telemetry_command_names_missing_stages(tmp_path):
    """A run whose server exposed predict but not pre/postprocess: `benchctl telemetry`
    says which stages the compute time sums and which were missing."""
    import json

    from rich.console import Console

    from benchctl.reports.terminal.telemetry import telemetry_view
    from benchctl.store import RunDir
    from benchctl.telemetry.summary import telemetry_summary

    raw = predict_only(6)
    windows = server_windows(raw, "kserve", np.array([0.0, 5.0]), model="mlp")
    windows.to_parquet(tmp_path / "telemetry_windows.parquet")
    info = {"telemetry": {"server_metrics": stages_exposed(raw, "kserve", "mlp")}}
    info |= {"scenario": {"name": "steady"}, "target": {"name": "kserve"}}  # every run has them
    (tmp_path / "run.json").write_text(json.dumps({"id": "r", "status": "completed", **info}))
    console = Console(record=True, width=200)
    console.print(telemetry_view(telemetry_summary(RunDir.open(tmp_path))))
    text = console.export_text()
    assert "server compute time: sum of request_predict_seconds_sum; not exposed: " in text
    assert "request_preprocess_seconds_sum, request_postprocess_seconds_sum" in text


def _counted_run(tmp_path, rows: int, server: list[float], counts_sent: int | None):
    """A finished run directory: ``rows`` successful request rows, per-window server counts
    and (optionally) run.json counts.sent, the generator's own counter."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"ok": [True] * rows, "error": [None] * rows}, schema=None),
        tmp_path / "requests.parquet",
    )
    pq.write_table(pa.table({"server_requests": server}), tmp_path / "telemetry_windows.parquet")
    info = {"counts": {"sent": counts_sent}} if counts_sent is not None else {}
    (tmp_path / "run.json").write_text(json.dumps(info))
    return tmp_path


def test_self_check_compares_the_server_with_the_generators_sent_counter(tmp_path):
    """A worker killed holding 19 requests (case kill-worker-loses-rows): 551 rows, the
    generator's counter says 570 sent (run.json counts.sent), the server counted 300 + 274 =
    574. Against the rows alone the band is 551 ± max(2, ceil(5.51)) = 545..557 and 574 would
    blame another client; against the counter it is 551 - 6 .. 570 + 6 = 545..576: they agree,
    with a note that 19 sent requests are missing from the rows."""
    from benchctl.telemetry.selfcheck import check_server_counts

    run = _counted_run(tmp_path, 551, [300.0, 274.0], 570)
    info: dict = {"server_metrics": {"requests": True}}
    check = check_server_counts(run, info)
    assert (check["server_requests"], check["sent"], check["rows"]) == (574, 570, 551)
    assert (check["tolerance"], check["agree"]) == (6, True)
    assert "warning" not in check and "19 of them never recorded" in check["note"]
    assert "warnings" not in info
    # the counter passed in (at finalize, before run.json has counts) is used the same way
    (run / "run.json").write_text("{}")
    assert check_server_counts(run, {"server_metrics": {"requests": True}}, 570)["agree"] is True
    # without the counter only the rows are known: 574 > 557 is a disagreement
    alone = check_server_counts(run, {"server_metrics": {"requests": True}})
    assert alone["agree"] is False and "more than were sent" in alone["warning"]


def test_self_check_flags_a_server_count_above_the_generators_counter(tmp_path):
    """551 rows, counter 560, server 600: band 545..560 + ceil(5.6) = 566; 600 disagrees."""
    from benchctl.telemetry.selfcheck import check_server_counts

    run = _counted_run(tmp_path, 551, [600.0], 560)
    check = check_server_counts(run, {"server_metrics": {"requests": True}})
    assert (check["sent"], check["tolerance"], check["agree"]) == (560, 6, False)
    assert "600 disagrees with the 560 requests sent" in check["warning"]
