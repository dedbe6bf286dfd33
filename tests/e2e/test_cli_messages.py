"""Help and error messages as a fresh user meets them, through the installed benchctl from
a fresh directory: a mistyped flag gets a suggestion, --duration on a spike names the
fields to --set, a strict '<' SLO is refused, p99.9 on a small run says how many samples it
needs, help texts for RUN / DIR / --runs-dir / --rules, a closed pipe is exit 0, and an
interrupted search's report suggests its own SLO."""

import json
import subprocess
import sys
from pathlib import Path

from benchctl.reports.capacity_sections import analyze_command, run_slo
from tests.unit.test_gate import make_run

BENCHCTL = Path(sys.executable).with_name("benchctl")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BENCHCTL), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_mistyped_flag_suggests_the_option_and_the_help(tmp_path: Path) -> None:
    done = run("run", "spike", "--targt", "kserve", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "unrecognized arguments: --targt kserve; did you mean --target?" in done.stderr
    assert "(see `benchctl run --help`)" in done.stderr


def test_duration_on_a_spike_names_the_fields(tmp_path: Path) -> None:
    done = run("run", "spike", "--target", "kserve", "--duration", "10s", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--set periods=2 or --set period=5m" in done.stderr


def test_strict_less_than_slo_is_refused(tmp_path: Path) -> None:
    done = run("analyze", "runs/x", "--slo", "p99<100ms", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "argument --slo: 'p99<100ms': write <=" in done.stderr and "p99<=100ms" in done.stderr


def test_p999_on_a_small_run_says_too_few_samples(tmp_path: Path) -> None:
    """768 requests, all ok (error rate 0; make_run also drops ~0.1%): far below the
    2 / (1 - 0.999) = 2,000 successes a p99.9 point needs."""
    path = make_run(tmp_path, "small", seed=5, requests=768, error_rate=0.0)
    done = run("analyze", str(path), "--slo", "p99.9<=100ms", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "too few samples for p99.9" in done.stderr
    assert "at least 2,000 successful requests" in done.stderr
    assert "no successful requests" not in done.stderr


def test_help_texts_name_runs_dirs_and_the_rules_example(tmp_path: Path) -> None:
    report = " ".join(run("report", "--help", cwd=tmp_path).stdout.split())
    assert "a run directory, e.g. runs/<id>" in report
    history = " ".join(run("history", "--help", cwd=tmp_path).stdout.split())
    assert "DIR a folder of run directories" in history
    runs = " ".join(run("run", "--help", cwd=tmp_path).stdout.split())
    assert "--runs-dir DIR folder the run directory is made in" in runs
    gate = " ".join(run("gate", "--help", cwd=tmp_path).stdout.split())
    example = gate.split("an annotated example: ")[1].split()[0]
    assert Path(example).is_file() and example.endswith("gate.yaml")


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`benchctl scenarios | true`: the reader is gone before benchctl writes (it takes
    over a second to start): rich's own handling would exit 1; benchctl exits 0, quietly."""
    done = subprocess.run(
        f"'{BENCHCTL}' scenarios | true; echo rc=${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "rc=0" in done.stdout and done.stderr == ""


def test_report_of_an_interrupted_search_suggests_its_own_slo(tmp_path: Path) -> None:
    """No capacity.json; the run was `run capacity --slo p99<=100ms`: the suggestion is
    that SLO, not the example p99<=200ms."""
    path = make_run(tmp_path, "cut", seed=6, requests=500, status="interrupted")
    info = json.loads((path / "run.json").read_text())
    info["command"] = ["benchctl", "run", "capacity", "--target", "kserve", "--slo", "p99<=100ms"]
    (path / "run.json").write_text(json.dumps(info))
    assert run_slo(path) == "p99<=100ms"
    assert analyze_command(path, run_slo(path)).endswith("--slo 'p99<=100ms'")
    done = run("report", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (path / "report.html").read_text()
    assert "p99&lt;=100ms" in page and "p99&lt;=200ms" not in page
