"""Model mixes as a user runs them (installed ``benchctl``, fresh directory, default
``runs/``, the user's own target profile in ./benchctl.d/): one launched KServe, MLServer or
Triton serving the reference model twice, at two costs, and traffic split between them by
weight; per-model capacity from ``benchctl analyze``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import benchctl

SMALL_MS, BIG_MS = 2.0, 20.0  # CPU each model keeps its one worker busy per request
RATE = 20.0

TARGET = """\
kind: kserve
protocol: rest-v2
models:
  - {{name: small, weight: {small}}}
  - {{name: big, weight: {big}}}
launch:
  server: kserve
  models:
    small: {{cost_ms: {small_ms}}}
    big: {{cost_ms: {big_ms}}}
"""


def _mix_run(
    cwd: Path, name: str, small: float, big: float, server: str = "kserve"
) -> dict[str, Any]:
    folder = cwd / "benchctl.d" / "targets"
    folder.mkdir(parents=True, exist_ok=True)
    text = TARGET.format(small=small, big=big, small_ms=SMALL_MS, big_ms=BIG_MS)
    (folder / f"{name}.yaml").write_text(text.replace("kserve", server))
    done = benchctl(
        "run", "steady", "--target", name, "--launch", "--rate", f"{RATE:g}",
        "--duration", "10s", "--set", "warmup=2s", "--no-telemetry", cwd=cwd, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert set(rows.model.astype(str)) == {"small", "big"}
    report = benchctl("report", str(done.run_dir), cwd=cwd)
    assert report.returncode == 0, report.output()
    html = (done.run_dir / "report.html").read_text()
    assert 'id="by-model"' in html and "small" in html
    return json.loads((done.run_dir / "summary.json").read_text())["models"]


def test_cheap_model_slows_when_the_costly_models_share_rises(tmp_path: Path) -> None:
    """One worker serves both models in turn (KServe's predict runs on its event loop), so
    a small request waits for any big one in service. Pollaczek-Khinchine (M/G/1) mean wait
    W = lambda E[S^2] / (2 (1 - rho)) with the set costs alone, at 20 req/s:
    big share 5%:  E[S^2] = 0.95*2^2 + 0.05*20^2 = 23.8 ms^2, rho = 0.058, W ~ 0.25 ms;
    big share 75%: E[S^2] = 0.25*2^2 + 0.75*20^2 = 301 ms^2, rho = 0.31,  W ~ 4.4 ms.
    Real per-request overheads only add to both; the small model's mean latency must rise
    by more than half the predicted 4.1 ms."""
    _assert_small_slows(tmp_path, "kserve", "mix")


def test_mlserver_cheap_model_slows_when_the_costly_models_share_rises(tmp_path: Path) -> None:
    """The same on a launched MLServer serving both models (launch.models: one model folder
    each) with one worker: MLServer then runs every model's predict in the server process,
    on its event loop (parallel_workers 0), and the reference runtime's predict is
    synchronous, so a small request waits for any big one in service: the same M/G/1 case
    as KServe's above, predicted mean wait ~0.25 ms at a 5% big share and ~4.4 ms at 75%
    (rise 4.1 ms); the small model's mean must rise by more than half of that."""
    _assert_small_slows(tmp_path, "mlserver", "ml")


def _assert_small_slows(tmp_path: Path, server: str, prefix: str) -> None:
    """A 19:1 then a 1:3 small:big mix on ``server``: shares follow the weights (about 150
    requests a run: binomial s.e. <= 0.04), the small model's mean rises by more than 2 ms
    (half the M/G/1 prediction), the big model pays its cost, nothing fails."""
    light = _mix_run(tmp_path, f"{prefix}-light", small=19, big=1, server=server)
    heavy = _mix_run(tmp_path, f"{prefix}-heavy", small=1, big=3, server=server)
    assert abs(light["small"]["share"] - 0.95) < 0.1
    assert abs(heavy["big"]["share"] - 0.75) < 0.15
    calm = light["small"]["latency_ms"]["mean"]
    busy = heavy["small"]["latency_ms"]["mean"]
    assert busy > calm + 2.0, (calm, busy)
    assert heavy["big"]["latency_ms"]["p50"] >= BIG_MS
    assert heavy["big"]["errors"] == heavy["small"]["errors"] == 0


def test_per_model_capacity_of_a_mix_on_one_mlserver(tmp_path: Path) -> None:
    """A step run (8, 16, 24 req/s in all, 3 small : 1 big) on one launched MLServer, then
    ``benchctl analyze --slo p50<=40ms`` and ``benchctl report`` as a user runs them.
    Known from the set costs: a big request keeps the worker busy 60 ms (wall clock), so
    big's median is at least 60 ms > 40 ms at every level: its capacity is only bounded
    above (below its rate where it was judged, at most 1/4 of 24 = 6 req/s plus Poisson
    noise), and big limits the server. small needs 2 ms; at 24 req/s the worker is busy
    24 x (0.75 x 2 + 0.25 x 60) ms = 40% of the time, so most small requests find it free
    and small's median stays far below 40 ms: it is at least measured to meet the SLO at
    its lowest level (about 0.75 x 8 = 6 req/s); on a quiet host it never breaks (at least
    about 0.75 x 24 = 18 req/s), but other work on a shared host can slow its median, so
    only what the costs guarantee is asserted."""
    folder = tmp_path / "benchctl.d" / "targets"
    folder.mkdir(parents=True)
    text = TARGET.format(small=3, big=1, small_ms=SMALL_MS, big_ms=60.0)
    (folder / "mlmix.yaml").write_text(text.replace("kserve", "mlserver"))
    done = benchctl(
        "run", "step", "--target", "mlmix", "--launch", "--set", "rates=[8,16,24]",
        "--set", "step_duration=5s", "--set", "warmup=1s", "--no-telemetry",
        cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    run = str(done.run_dir)
    analyzed = benchctl("analyze", run, "--slo", "p50<=40ms", cwd=tmp_path)
    assert analyzed.returncode == 0, analyzed.output()
    section = json.loads((done.run_dir / "capacity.json").read_text())["models"]
    big, small = section["models"]["big"], section["models"]["small"]
    assert section["source"] == "levels"
    assert big["bound"] == "upper" and big["capacity_rps"] is None, big
    assert 0.0 < big["band_rps"][1] <= 1.5 * 24 / 4, big
    assert small["bound"] in ("lower", "measured"), small
    assert small["capacity_rps"] >= 0.5 * 0.75 * 8, small
    assert section["limiting_model"] == "big"
    printed = " ".join(analyzed.stdout.split())
    assert "Model big: below" in printed and "limited by big" in printed, analyzed.output()
    report = benchctl("report", run, cwd=tmp_path)
    assert report.returncode == 0, report.output()
    html = (done.run_dir / "report.html").read_text()
    assert 'id="model-capacity"' in html and 'data-bound="upper"' in html


def test_run_slo_answers_per_model_from_the_capacity_search(tmp_path: Path) -> None:
    """``benchctl run steady --slo`` on a mix (the whole job: a capacity search on the same
    launched MLServer, the scenario, analysis, report), with the user's own shorter capacity
    scenario in ./benchctl.d/scenarios/ (12 s at most: one level, 8 req/s in all). big
    costs 60 ms > p50<=40ms, so wherever it was judged it broke the SLO: bounded above, and
    it limits the server; the answer says so for each model, from the search's levels
    (offered rates)."""
    folder = tmp_path / "benchctl.d"
    (folder / "targets").mkdir(parents=True)
    (folder / "scenarios").mkdir()
    text = TARGET.format(small=3, big=1, small_ms=SMALL_MS, big_ms=60.0)
    (folder / "targets" / "mlmix.yaml").write_text(text.replace("kserve", "mlserver"))
    (folder / "scenarios" / "capacity.yaml").write_text(
        "kind: capacity\nstart_rate: 8\nmax_rate: 64\nwindow: 2s\nwindow_samples: 10\n"
        "max_hold: 8s\nmax_duration: 12s\nsettle: 1s\ncooldown: 1s\n"
    )
    done = benchctl(
        "run", "steady", "--target", "mlmix", "--launch", "--rate", "8", "--duration", "6s",
        "--set", "warmup=1s", "--slo", "p50<=40ms", "--no-telemetry", cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    printed = " ".join(done.stdout.split())
    assert "Model big: below" in printed and "limited by big" in printed, done.output()
    assert "offered to the server in all" in printed, done.output()
    section = json.loads((done.run_dir / "capacity.json").read_text())["models"]
    assert section["source"] == "search" and section["limiting_model"] == "big"
    assert section["models"]["big"]["bound"] == "upper"


def test_triton_launch_serves_a_mix_at_two_costs(tmp_path: Path) -> None:
    """Triton with launch.models: one repository entry per model, each at its own set cost.
    A big request cannot finish before its 20 ms of CPU (p50 >= 20 ms); a small one needs
    2 ms, and with its own stub it does not wait behind big ones: p50 < 20 ms."""
    folder = tmp_path / "benchctl.d" / "targets"
    folder.mkdir(parents=True)
    text = TARGET.format(small=1, big=1, small_ms=SMALL_MS, big_ms=BIG_MS)
    (folder / "tmix.yaml").write_text(text.replace("kserve", "triton"))
    done = benchctl(
        "run", "steady", "--target", "tmix", "--launch", "--rate", "10",
        "--duration", "6s", "--set", "warmup=1s", "--no-telemetry", cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    models = json.loads((done.run_dir / "summary.json").read_text())["models"]
    assert models["big"]["latency_ms"]["p50"] >= BIG_MS > models["small"]["latency_ms"]["p50"]
    assert models["big"]["errors"] == models["small"]["errors"] == 0


def test_torchserve_launch_serves_a_mix_at_two_costs(tmp_path: Path) -> None:
    """TorchServe with launch.models: one .mar per model, each with its own worker process,
    at its own set cost. A big request cannot finish before its 20 ms of CPU (p50 >= 20 ms);
    a small one needs 2 ms and, with its own worker, does not wait behind big ones:
    p50 < 20 ms. Both models answer without errors."""
    folder = tmp_path / "benchctl.d" / "targets"
    folder.mkdir(parents=True)
    text = TARGET.format(small=1, big=1, small_ms=SMALL_MS, big_ms=BIG_MS)
    text = text.replace(
        "kind: kserve\nprotocol: rest-v2",
        "kind: torchserve\nprotocol: torchserve-rest\npayload: {dims: {input-0: [64]}}",
    )  # TorchServe publishes no input metadata: the reference model's row of 64
    (folder / "tsmix.yaml").write_text(text.replace("server: kserve", "server: torchserve"))
    done = benchctl(
        "run", "steady", "--target", "tsmix", "--launch", "--rate", "10",
        "--duration", "6s", "--set", "warmup=1s", "--no-telemetry", cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    models = json.loads((done.run_dir / "summary.json").read_text())["models"]
    assert models["big"]["latency_ms"]["p50"] >= BIG_MS > models["small"]["latency_ms"]["p50"]
    assert models["big"]["errors"] == models["small"]["errors"] == 0
