"""A/B and canary runs as a user runs them (installed ``benchctl``, fresh directory, default
``runs/``, the user's own target profiles in ./benchctl.d/), on real KServe servers
(issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from benchctl.splits import arms_of_users
from benchctl.targets.launch import LaunchedServer
from tests.e2e.helpers import benchctl

FAST_MS, SLOW_MS = 1.0, 10.0  # CPU each arm's server keeps busy per request

PROFILE = """\
kind: kserve
protocol: rest-v2
launch:
  server: kserve
  cost_ms: {cost}
"""


def _profiles(cwd: Path, **texts: str) -> None:
    folder = cwd / "benchctl.d" / "targets"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text)


def test_canary_arms_launched_users_pinned_and_the_slower_arm_fails(tmp_path: Path) -> None:
    """Two launched KServe servers (control at 1 ms of CPU a request, canary at 10 ms),
    a 70/30 split over 2 load processes and 30 sticky users (``users:`` in the scenario).
    The canary's median latency is at least its 10 ms cost, the control's about 1-3 ms
    here: the p50 difference (>= 7 ms) is far past the 0.5 ms / 10% tolerance, so latency
    and latency_p50 fail and the score is at most 50% (verdict ``fail``)."""
    _profiles(tmp_path, stable=PROFILE.format(cost=FAST_MS), canary=PROFILE.format(cost=SLOW_MS))
    scenarios = tmp_path / "benchctl.d" / "scenarios"
    scenarios.mkdir(parents=True)
    (scenarios / "canary.yaml").write_text("kind: steady\nrate: 30\nduration: 10s\nusers: 30\n")
    done = benchctl(
        "run", "canary", "--target", "stable", "--split", "stable=70,canary=30",
        "--launch", "--workers", "2", "--set", "warmup=2s", cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    info = done.run_json()
    # telemetry samples the control's server: its count is checked against its arm only
    check = info["telemetry"]["self_check"]
    assert check["arms"] == ["stable"] and check["agree"], check
    arms = info["arms"]["arms"]
    assert [a["name"] for a in arms] == ["stable", "canary"]
    urls = {a["spec"]["url"] for a in arms}
    assert len(urls) == 2 and all(u.startswith("http://127.0.0.1:") for u in urls)
    assert (done.run_dir / "arm-canary" / "kserve.log").is_file()
    rows = done.requests()
    sent = rows[rows.error.astype(str) != "dropped"]
    assert set(sent.arm.astype(str)) == {"stable", "canary"}
    assert set(sent.worker) == {0, 1}
    # every user stays on the arm its id hashes to, whichever load process sent it
    pinned = arms_of_users(30, [70.0, 30.0])
    for user, group in sent.groupby(sent.user.astype(int)):
        assert set(group.arm.astype(str)) == {("stable", "canary")[pinned[user]]}
    summary = json.loads((done.run_dir / "summary.json").read_text())["split"]
    assert summary["control"] == "stable"
    canary = summary["arms"]["canary"]
    assert canary["latency_ms"]["p50"] >= SLOW_MS
    assert canary["users"] == sum(pinned)  # all canary users sent something in 10 s
    verdict = summary["verdicts"]["canary"]
    assert verdict["metrics"]["latency_p50"]["class"] == "fail", verdict
    assert verdict["verdict"] == "fail" and verdict["score"] <= 50.0
    assert "canary verdicts vs stable" in done.stdout
    report = benchctl("report", str(done.run_dir), cwd=tmp_path)
    assert report.returncode == 0, report.output()
    html = (done.run_dir / "report.html").read_text()
    assert 'id="by-arm"' in html and "Canary verdicts against stable" in html
    assert html.count("<td>canary</td><td>latency_p50</td>") == 1
    # gate: one arm of the run as the baseline, another as the candidate (RUN@ARM)
    (tmp_path / "rules.yaml").write_text(
        "phase: overall\nmin_samples: 20\nrules:\n  - {metric: p50_ms, max_increase: 10%}\n"
    )
    gated = benchctl(
        "gate", "--baseline", f"{done.run_dir}@stable", "--candidate", f"{done.run_dir}@canary",
        "--rules", "rules.yaml", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert gated.returncode == 1, gated.output()  # the canary's p50 rose far past 10%
    assert "@canary" in gated.stdout and "fail" in gated.stdout
    missing = benchctl(
        "gate", "--baseline", f"{done.run_dir}@stable", "--candidate", f"{done.run_dir}@nope",
        "--rules", "rules.yaml", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 2 and "no arm 'nope'" in missing.stderr
    compared = benchctl(  # compare: the arms side by side (RUN@ARM), each its own column
        "compare", f"{done.run_dir}@stable", f"{done.run_dir}@canary", cwd=tmp_path, timeout=60
    )
    assert compared.returncode == 0, compared.output()
    assert f"{done.run_dir.name}@canary" in compared.stdout
    for arm in info["arms"]["arms"]:  # nothing left running
        port = int(arm["spec"]["url"].rsplit(":", 1)[1])
        assert not any(
            c.laddr and c.laddr.port == port and c.status == "LISTEN"
            for c in psutil.net_connections("tcp")
        )


def test_two_identical_arms_on_one_server_show_no_difference(
    tmp_path: Path, kserve: LaunchedServer
) -> None:
    """Arms ``a`` and ``b`` are the same launched KServe under two names, 50/50. Each
    metric is tested at alpha = 0.05/4, so all four pass with probability >= 95%; a
    verdict of ``fail`` (two or more metrics flagged) would be well under 1% by chance."""
    text = (
        f"kind: kserve\nprotocol: rest-v2\nurl: {kserve.http_url}\n"
        f"metrics_url: {kserve.metrics_url}\n"
    )
    _profiles(tmp_path, a=text, b=text)
    done = benchctl(
        "run", "steady", "--target", "a", "--split", "a=50,b=50", "--users", "400",
        "--rate", "40", "--duration", "8s", "--set", "warmup=2s", cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    check = done.run_json()["telemetry"]["self_check"]  # both arms are the sampled server
    assert check["arms"] == ["a", "b"] and check["agree"], check
    split = json.loads((done.run_dir / "summary.json").read_text())["split"]
    pinned = arms_of_users(400, [50.0, 50.0])
    assert split["arms"]["b"]["users"] <= sum(pinned)  # users who sent in 6 s, of b's cohort
    verdict = split["verdicts"]["b"]
    assert verdict["verdict"] != "fail", verdict
    assert verdict["score"] >= 75.0


def test_bad_split_is_one_line_exit_2(tmp_path: Path) -> None:
    done = benchctl("run", "steady", "--split", "kserve=95", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--split" in done.stderr
    done = benchctl("run", "steady", "--users", "5", cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "argument --users: needs --split" in done.stderr


def test_shadow_kserve_and_triton_agree_and_another_model_does_not(tmp_path: Path) -> None:
    """Served: a launched KServe; shadow: a launched Triton with the same reference model
    (same seeded weights, same generated input): every pair's outputs agree (max |diff|
    <= 1e-4, argmax equal), one pair per request the served arm answered, over 2 load
    processes. Then a shadow KServe with one hidden layer fewer (other weights): the
    outputs differ, so ``outputs_agree`` is False (the check can fail)."""
    _profiles(
        tmp_path,
        served=PROFILE.format(cost=FAST_MS),
        triton="kind: triton\nprotocol: rest-v2\nlaunch:\n  server: triton\n",
        other="kind: kserve\nprotocol: rest-v2\nlaunch:\n  server: kserve\n  hidden_layers: 3\n",
    )
    done = benchctl(
        "run", "steady", "--target", "served", "--shadow", "triton", "--launch",
        "--workers", "2", "--rate", "20", "--duration", "6s", "--set", "warmup=1s",
        "--no-telemetry", cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    rows = done.requests()
    shadow = json.loads((done.run_dir / "summary.json").read_text())["shadow"]
    assert shadow["pairs"] == int(rows.ok.sum()) > 0
    assert shadow["served_ok"] == shadow["pairs"] and shadow["shadow_ok"] == shadow["pairs"]
    assert shadow["compared"] == shadow["pairs"]
    assert shadow["outputs_agree"] is True and shadow["max_abs_diff"] <= 1e-4
    assert shadow["argmax_agreement"] == 1.0
    pairs = pq.read_table(done.run_dir / "shadow.parquet")
    assert set(pairs.column("worker").to_pylist()) == {0, 1}
    assert "outputs compared" in done.stdout
    report = benchctl("report", str(done.run_dir), cwd=tmp_path)
    assert report.returncode == 0, report.output()
    html = (done.run_dir / "report.html").read_text()
    assert 'id="shadow"' in html and "outputs agree:\n<strong>yes</strong>" in html
    done = benchctl(
        "run", "steady", "--target", "served", "--shadow", "other", "--launch",
        "--rate", "20", "--duration", "4s", "--set", "warmup=1s", "--no-telemetry",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    shadow = json.loads((done.run_dir / "summary.json").read_text())["shadow"]
    assert shadow["compared"] > 0 and shadow["outputs_agree"] is False
    assert shadow["max_abs_diff"] > 1e-4
