"""``benchctl run … --repeat N`` from a user's shell: N runs with consecutive seeds, then
``benchctl gate`` with all of them as candidates (runs as the unit on both sides)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from benchctl.targets.launch import LaunchedServer
from tests.e2e.helpers import benchctl


def _steady(server: LaunchedServer) -> list[str]:
    return [
        "run", "steady", "--target", "kserve", "--target-set", f"url={server.http_url}",
        "--rate", "20", "--duration", "3s", "--set", "warmup=0s", "--no-telemetry",
    ]  # fmt: skip


def _seeds(folder: Path) -> list[int]:
    runs = sorted(p for p in folder.iterdir() if (p / "run.json").is_file())
    return [json.loads((p / "run.json").read_text())["scenario"]["spec"]["seed"] for p in runs]


def test_repeat_makes_n_runs_with_consecutive_seeds_and_gates_them(
    kserve: LaunchedServer, tmp_path: Path
) -> None:
    base = benchctl(*_steady(kserve), "--repeat", "2", "--runs-dir", "nights", cwd=tmp_path)
    assert base.returncode == 0, base.output()
    assert _seeds(tmp_path / "nights") == [1, 2]

    done = benchctl(
        *_steady(kserve), "--set", "seed=7", "--repeat", "3", "--runs-dir", "candidates",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.output()
    assert _seeds(tmp_path / "candidates") == [7, 8, 9]
    assert "3 of 3 runs made, 3 completed" in done.stdout
    candidates = sorted((tmp_path / "candidates").iterdir())
    for run_dir in candidates:
        assert f"--candidate {run_dir.relative_to(tmp_path)}" in done.stdout.replace("\n", " ")
    # the printed command works as printed from this fresh folder: its --rules is the
    # installed example's absolute path (examples/gate.yaml is no file here)
    (printed,) = [line for line in done.stdout.splitlines() if "benchctl gate " in line]
    argv = shlex.split(printed.replace("BASELINE_DIR", "nights"))
    rules_given = Path(argv[argv.index("--rules") + 1])
    assert rules_given.is_absolute() and rules_given.name == "gate.yaml"
    assert rules_given.is_file() and not (tmp_path / "examples").exists()
    as_printed = benchctl(*argv[1:], cwd=tmp_path)
    assert as_printed.returncode in (0, 1), as_printed.output()
    assert "no such file" not in as_printed.output()

    rules = tmp_path / "rules.yaml"
    rules.write_text("min_samples: 10\nrules:\n  - {metric: p50_ms, max_increase: 50%}\n")
    flags = [arg for run_dir in candidates for arg in ("--candidate", str(run_dir))]
    gate = benchctl(
        "gate", "--baseline", "nights", *flags, "--rules", str(rules),
        "--json", "gate.json", cwd=tmp_path,
    )  # fmt: skip
    assert gate.returncode in (0, 1), gate.output()
    (rule,) = json.loads((tmp_path / "gate.json").read_text())["rules"]
    assert (rule["runs_baseline"], rule["runs_candidate"]) == (2, 3)


@pytest.mark.parametrize(
    ("extra", "flag"), [(["--slo", "p99<=100ms"], "--slo"), (["--dry-run"], "--dry-run")]
)
def test_repeat_with_slo_or_dry_run_is_refused_in_one_line(
    tmp_path: Path, extra: list[str], flag: str
) -> None:
    done = benchctl("run", "steady", "--repeat", "2", *extra, cwd=tmp_path)
    assert done.returncode == 2, done.output()
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(
        f"benchctl run: error: argument --repeat: 2: cannot be combined with {flag}"
    )
    assert not (tmp_path / "runs").exists()


def test_repeat_zero_is_refused(tmp_path: Path) -> None:
    done = benchctl("run", "steady", "--repeat", "0", cwd=tmp_path)
    assert done.returncode == 2, done.output()
    assert "--repeat" in done.stderr and "Traceback" not in done.stderr
