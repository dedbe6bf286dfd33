"""The lines a fresh user sees (trial 4), through the installed ``benchctl`` from a fresh
folder with default options: refused before any load (``--dry-run`` or no server), one
stderr line naming the flag or file, the field and what is allowed, exit 2."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import benchctl, refused


def test_rate_zero_is_refused(tmp_path: Path) -> None:
    done = benchctl("run", "steady", "--rate", "0", "--duration", "10s", "--dry-run", cwd=tmp_path)
    assert refused(done) == (
        "benchctl run: error: argument --rate: a rate is > 0 req/s (e.g. 50), got '0' "
        "(see `benchctl run --help`)"
    )


def test_duration_zero_names_the_flag(tmp_path: Path) -> None:
    done = benchctl("run", "steady", "--duration", "0", "--dry-run", cwd=tmp_path)
    assert refused(done) == (
        "benchctl run: error: argument --duration: must be > 0 (e.g. 90s, 10m), got '0' "
        "(see `benchctl run --help`)"
    )


def test_trace_on_the_command_line_is_read_from_the_current_folder(tmp_path: Path) -> None:
    """Three arrivals at 0.1, 0.5 and 1.0 s: the dry run plans exactly 3 requests."""
    (tmp_path / "good.csv").write_text("time\n0.1\n0.5\n1.0\n")
    done = benchctl("run", "replay", "--set", "trace=./good.csv", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.output()
    assert "3 requests" in done.stdout, done.output()
    missing = benchctl("run", "replay", "--set", "trace=nope.csv", "--dry-run", cwd=tmp_path)
    nope = (tmp_path / "nope.csv").resolve()
    assert refused(missing) == (
        f"benchctl run: error: argument --set: trace=nope.csv: cannot read nope.csv ({nope}): "
        "No such file or directory (see `benchctl run --help`)"
    )


def test_rate_hints_name_fields_of_the_kind(tmp_path: Path) -> None:
    sweep = refused(benchctl("run", "sweep", "--rate", "50", "--dry-run", cwd=tmp_path))
    assert sweep == (
        "benchctl run: error: argument --rate: does not apply to a sweep scenario: it is "
        "closed loop (requests in flight, not a rate): --set 'levels=[1,2,4]' or --set "
        "max_concurrency=N (see `benchctl run --help`)"
    )
    replay = refused(benchctl("run", "replay", "--rate", "5", "--dry-run", cwd=tmp_path))
    assert replay == (
        "benchctl run: error: argument --rate: does not apply to a replay scenario: its rates "
        "are the trace's: --time-scale 0.5 plays it twice as fast (see `benchctl run --help`)"
    )


def test_misleading_lines_now_say_what_is_there(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    assert refused(benchctl("run", "./adir", cwd=tmp_path)) == (
        "benchctl: error: ./adir: is a folder, not a scenario file (give a YAML file)"
    )
    gate = benchctl(
        "gate", "--rules", "adir", "--baseline", "adir", "--candidate", "adir", cwd=tmp_path
    )
    assert "adir: is a folder, not a YAML file" in refused(gate)
    assert refused(benchctl("analyze", "nosuchdir", "--slo", "p99<=1s", cwd=tmp_path)) == (
        "benchctl: error: nosuchdir: no such folder; give a run directory (see `benchctl runs`)"
    )
    (tmp_path / "r.yaml").write_text("rules:\n  - metric: p99_ms\n    max_incrase: 10%\n")
    typo = benchctl(
        "gate", "--rules", "r.yaml", "--baseline", "adir", "--candidate", "adir", cwd=tmp_path
    )
    assert "field 'rules.0.max_incrase': unknown field (did you mean 'max_increase'?)" in refused(
        typo
    )


def test_report_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    done = benchctl("report", "runs/x", "-o", "nodir/sub/r.html", cwd=tmp_path)
    assert refused(done) == (
        "benchctl report: error: argument -o/--output: nodir/sub/r.html: no such folder "
        "nodir/sub; make it first or give another path (see `benchctl report --help`)"
    )
    assert not (tmp_path / "nodir").exists()


def test_help_shows_run_at_arm_examples_and_defaults(tmp_path: Path) -> None:
    for name in ("report", "compare", "history", "telemetry", "gate"):
        done = benchctl(name, "--help", cwd=tmp_path)
        assert done.returncode == 0, done.output()
        assert "\nexample" in done.stdout and f"  benchctl {name} " in done.stdout, name
    for name in ("compare", "gate"):
        assert "RUN@ARM" in benchctl(name, "--help", cwd=tmp_path).stdout
    gate = " ".join(benchctl("gate", "--help", cwd=tmp_path).stdout.split())
    assert "(default: the rules file's baseline.last, 5 unless set)" in gate
    analyze = " ".join(benchctl("analyze", "--help", cwd=tmp_path).stdout.split())
    assert "--config-dir DIR folder with scenarios/ (and targets/) that override" in analyze
