"""A run stopped by Ctrl-C during its warm-up (trial 5, finding 9), against a real KServe
ModelServer on 127.0.0.1 with the installed ``benchctl`` run as a user runs it.

Before: the terminal said "only 0 requests sent" though the warm-up had sent requests, and
``benchctl report`` suggested ``benchctl analyze ... --slo 'p99<=200ms'``, which fails with
"no successful requests after the warm-up". Now the count says what it counts (after the
warm-up, and how many the warm-up sent) and the report says why there is nothing to analyze.
"""

from __future__ import annotations

import html
import json
import os
import signal
import time
from pathlib import Path

from benchctl.targets.launch import LaunchedServer
from tests.e2e.helpers import benchctl

from .faults import Cli, kserve_args


def test_ctrl_c_in_the_warm_up_counts_and_advises_right(kserve: LaunchedServer, tmp_path: Path):
    """20 req/s with a 30 s warm-up, Ctrl-C about 2 s in: every request sent is a warm-up
    request (none after it), so the right counts are 0 after the warm-up and W during it,
    W = the warm-up rows of requests.parquet that are not dropped (> 0)."""
    load = ["--rate", "20", "--duration", "40s", "--set", "warmup=30s", "--no-telemetry"]
    cli = Cli(["run", "steady", *kserve_args(kserve), *load], tmp_path)
    cli.wait_for("achieved")
    time.sleep(1.5)
    os.kill(cli.pid, signal.SIGINT)
    assert cli.wait() == 3, cli.text()
    run = cli.run_dir()
    summary = json.loads((run / "summary.json").read_text())
    sent = summary["phases"]["warmup"]["sent"]
    assert sent > 0 and summary["overall"]["sent"] == 0, summary
    text = " ".join(cli.text().split())
    assert (
        f"no throughput: no request was sent after the warm-up ({sent:,} were sent during it; "
        "rates and percentiles count only the requests after it)"
    ) in text, cli.text()
    assert "only 0 requests" not in text

    report = benchctl("report", str(run), cwd=tmp_path)
    assert report.returncode == 0, report.output()
    page = html.unescape((run / "report.html").read_text())
    assert "benchctl analyze" not in page
    assert (
        "Nothing to analyze: no request succeeded after the warm-up "
        f"({sent:,} were sent during the warm-up, which analysis leaves out)."
    ) in page
    analyze = benchctl("analyze", str(run), "--slo", "p99<=200ms", cwd=tmp_path)
    assert analyze.returncode != 0 and "no successful requests after the warm-up" in (
        analyze.stderr
    ), analyze.output()
