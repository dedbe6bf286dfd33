"""The run checks its own telemetry against a real KServe ModelServer (127.0.0.1): the
server's request count agrees with what benchctl sent, and when another client shares the
server during the run the disagreement is recorded in run.json, printed on the terminal
and shown in the report. Runs the installed ``benchctl`` from a fresh directory."""

import json
import time
import urllib.request
from pathlib import Path

from benchctl.reports.html import write_report
from benchctl.targets.launch import LaunchedServer
from benchctl.telemetry.selfcheck import tolerance

from ..e2e.helpers import benchctl
from .conftest import target_overrides


def _run(server: LaunchedServer, cwd: Path) -> tuple:
    sets = [f"--target-set={item}" for item in target_overrides(server)]
    return benchctl(
        "run",
        "steady",
        "--target",
        "kserve",
        *sets,
        f"--target-set=metrics_url={server.metrics_url}",
        "--rate",
        "20",
        "--duration",
        "4s",
        "--set",
        "warmup=0",
        "--scrape-interval",
        "1s",
        cwd=cwd,
    )


def test_server_count_agrees_with_requests_sent(kserve: LaunchedServer, tmp_path: Path):
    """Known answer: KServe's request_predict_seconds_count rises by exactly the requests
    benchctl sent (20 req/s × 4 s ≈ 80): the self-check agrees and warns of nothing."""
    done = _run(kserve, tmp_path)
    assert done.returncode == 0, done.output()
    info = done.run_json()
    check = info["telemetry"]["self_check"]
    sent = info["counts"]["sent"]
    assert check["agree"] is True and check["sent"] == sent, check
    assert abs(check["server_requests"] - sent) <= tolerance(sent)
    assert "self-check" not in done.stdout and not info["telemetry"].get("warnings")


def _infer_body(server: LaunchedServer) -> bytes:
    with urllib.request.urlopen(f"{server.http_url}/v2/models/mlp", timeout=5) as response:
        meta = json.loads(response.read())
    tensor = meta["inputs"][0]
    shape = [1 if d < 0 else d for d in tensor["shape"]]
    size = 1
    for d in shape:
        size *= d
    inputs = [
        {
            "name": tensor["name"],
            "shape": shape,
            "datatype": tensor["datatype"],
            "data": [0.5] * size,
        }
    ]
    return json.dumps({"inputs": inputs}).encode()


def test_another_client_on_the_server_is_flagged(kserve: LaunchedServer, tmp_path: Path):
    """A second client sends 100 requests to the same model during the run. Known answer:
    the server counts sent + 100, above the band sent + max(2, 1% of sent), so run.json
    holds a warning, the terminal shows it and the report carries the banner.

    The other client starts when the run's first progress line shows traffic (the baseline
    scrape is taken before traffic starts), not after a fixed sleep: on a busy machine the CLI
    can take longer than any fixed delay to start. The run lasts 10 s so the 100 requests
    (well under a second against a local server) end long before its final scrape."""
    from .faults import Cli

    body = _infer_body(kserve)
    sets = [f"--target-set={item}" for item in target_overrides(kserve)]
    cli = Cli(
        ["run", "steady", "--target", "kserve", *sets,
         f"--target-set=metrics_url={kserve.metrics_url}", "--rate", "20", "--duration", "10s",
         "--set", "warmup=0", "--scrape-interval", "1s"],
        tmp_path,
    )  # fmt: skip
    cli.wait_for("achieved")
    for _ in range(100):  # bounded
        request = urllib.request.Request(
            f"{kserve.http_url}/v2/models/mlp/infer",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    assert cli.process.poll() is None, "the run ended before the other client finished"
    assert cli.wait() == 0, cli.text()
    info = cli.run_json()
    check = info["telemetry"]["self_check"]
    assert check["agree"] is False
    assert abs(check["server_requests"] - (check["sent"] + 100)) <= tolerance(check["sent"])
    assert info["telemetry"]["warnings"] == [check["warning"]]
    stdout = cli.out.read_text(errors="replace")
    assert "telemetry self-check" in stdout and "disagrees" in stdout
    shown = benchctl("telemetry", str(cli.run_dir()), cwd=tmp_path)
    assert shown.returncode == 0 and "self-check: server-side request count" in shown.stdout
    html = write_report(cli.run_dir()).read_text()
    assert "Server metrics disagree with the run" in html


def test_a_killed_worker_agrees_with_the_generators_counter_not_only_the_rows(tmp_path: Path):
    """A launched KServe, ``--workers 2`` at 100 req/s, one worker SIGKILLed: the server
    counted the requests the dead worker sent but never recorded. The self-check compares the
    server's count with run.json ``counts.sent`` (the workers' own counters) as well as the
    rows: it agrees (within max(2, 1%) of counts.sent) instead of blaming another client, and
    ``sent`` in the check is that counter."""
    import psutil

    from .faults import Cli

    cli = Cli(
        ["run", "steady", "--target", "kserve", "--launch", "--workers", "2", "--rate", "100",
         "--duration", "20s", "--set", "warmup=0", "--scrape-interval", "1s"],
        tmp_path,
    )  # fmt: skip
    cli.wait_for("achieved")
    time.sleep(3)
    workers = [p for p in psutil.Process(cli.pid).children() if "worker" in p.cmdline()]
    assert len(workers) == 2
    workers[0].kill()
    assert cli.wait() == 3, cli.text()
    info = cli.run_json()
    counts, check = info["counts"], info["telemetry"]["self_check"]
    assert check["sent"] == counts["sent"] and check["rows"] == counts["rows"], (check, counts)
    assert check["agree"] is True and "warning" not in check, (check, counts)
    assert abs(check["server_requests"] - counts["sent"]) <= tolerance(counts["sent"])
    if check["server_requests"] > counts["rows"] + tolerance(counts["rows"]):
        assert "never recorded" in check["note"]
