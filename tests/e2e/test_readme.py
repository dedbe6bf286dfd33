"""Every command in the README's "Using it" block, executed as written against a real KServe:
the installed ``benchctl``, a fresh working directory, the default relative ``runs/``.

The commands are read from README.md itself, so the README cannot drift from the product: a
command added there runs here. Only durations (and, to keep the shared machine quiet, rates)
are shortened; every flag stays. Targets other than ``--launch`` ones are pointed at one
KServe launched once for the test session with ``--target-set url=...``/``grpc_address=...``.
Placeholders (``runs/<id>``, ``runs/<a>``, ``nightly/``) become the runs made above them.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from benchctl.targets.launch import LaunchedServer

from .helpers import Finished, benchctl

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"

# Shortened values: (flag or --set key) -> value. Rates are lowered too: this machine is
# shared, and the test checks that the commands work, not how fast the server is.
SHORTER = {
    "--duration": "3s",
    "--time-scale": "0.01",  # spike: three 6 s periods instead of three 1 min ones
    "--rate": "20",
    "rates": "[20,40,80,120]",
    "step_duration": "2s",
    "max_concurrency": "4",
}


def usage_commands() -> list[str]:
    """The commands of the README's "## Using it" code block, comments removed."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Using it") :]
    block = section[section.index("```") + 3 :]
    block = block[: block.index("```")]
    commands = []
    for line in block.splitlines():
        command = line.split("  #")[0].strip()
        if command.startswith("benchctl "):
            commands.append(command)
    return commands


def shortened(argv: list[str]) -> list[str]:
    """The same flags with shorter durations (and lower rates), warm-up at most 1 s."""
    out = []
    for i, arg in enumerate(argv):
        previous = argv[i - 1] if i else ""
        if previous in SHORTER:
            out.append(SHORTER[previous])
        elif previous == "--set" and arg.split("=")[0] in SHORTER:
            out.append(f"{arg.split('=')[0]}={SHORTER[arg.split('=')[0]]}")
        else:
            out.append(arg)
    if out[:1] == ["run"] and "--dry-run" not in out:
        out += ["--set", "warmup=500ms"]
        if out[1] == "sweep":
            out += ["--set", "hold=1s"]
        if out[1] == "steady" and "--duration" not in out:  # steady.yaml's 2 min
            out += ["--duration", SHORTER["--duration"]]
    return out


def test_every_readme_usage_command_runs(tmp_path: Path, kserve: LaunchedServer) -> None:
    commands = usage_commands()
    assert len(commands) >= 10, commands  # the block was found and read
    shutil.copytree(README.parent / "examples", tmp_path / "examples")  # as in a checkout
    runs: dict[str, Path] = {}  # "step", "steady", "steady-workers", ... -> its run directory
    nightly = tmp_path / "nightly"
    failures: list[str] = []  # every command runs; all failures are reported together
    for command in commands:
        argv = shortened(shlex.split(command)[1:])
        if argv[0] == "run" and "--launch" not in argv and "--dry-run" not in argv:
            argv += ["--target-set", f"url={kserve.http_url}"]
            argv += ["--target-set", f"grpc_address={kserve.grpc_address}"]
        argv = [_placeholder(arg, runs, nightly, argv[0]) for arg in argv]
        done = benchctl(*argv, cwd=tmp_path, timeout=300)
        expected = (0, 1) if argv[0] == "gate" else (0,)  # gate: pass or a measured regression
        if done.returncode not in expected or "Traceback" in done.stdout + done.stderr:
            failures.append(f"{command}\n{argv}\n{done.output()}")
            continue
        if argv[0] == "run" and "--dry-run" not in argv:
            assert done.run_dir is not None and done.run_dir.parent == tmp_path / "runs"
            info = done.run_json()
            assert info["status"] == "completed", info.get("reason")
            assert len(done.requests()) > 0
            runs[_run_key(argv, runs)] = done.run_dir
            if argv[1] == "steady" and not nightly.exists():
                nightly.mkdir()  # the nightly folder holds the first steady run
                shutil.copytree(done.run_dir, nightly / done.run_dir.name)
        _check_outputs(argv, done, tmp_path)
    assert not failures, "\n\n".join(failures)


def _run_key(argv: list[str], runs: dict[str, Path]) -> str:
    key = argv[1] if argv[1] not in runs else f"{argv[1]}-{len(runs)}"
    return key


def _placeholder(arg: str, runs: dict[str, Path], nightly: Path, command: str) -> str:
    """runs/<id> -> the step run (levels to analyze), or for gate the last steady run (the
    nightly folder holds the first); <a>, <b> -> the two steady runs."""
    steady = [path for key, path in runs.items() if key.startswith("steady")]
    some_run = runs.get("step") or next(iter(runs.values()), None)
    mapping = {
        "runs/<id>": steady[-1] if command == "gate" and steady else some_run,
        "runs/<a>": steady[0] if steady else None,
        "runs/<b>": steady[-1] if steady else None,
        "nightly/": nightly,
    }
    if arg in mapping:
        assert mapping[arg] is not None, f"no run yet for {arg}"
        return str(mapping[arg])
    assert not re.search(r"<\w+>", arg), f"README placeholder {arg!r} is not known to this test"
    return arg


def _check_outputs(argv: list[str], done: Finished, cwd: Path) -> None:
    """What each command promises to leave behind."""
    if argv[0] == "run" and "--report" in argv:
        assert done.run_dir is not None and (done.run_dir / "report.html").is_file()
    if argv[0] == "analyze":
        assert (Path(argv[1]) / "capacity.json").is_file(), done.output()
    if argv[0] == "report":
        assert (Path(argv[1]) / "report.html").is_file(), done.output()
    if argv[0] == "gate" and "--junit" in argv:
        assert (cwd / argv[argv.index("--junit") + 1]).is_file(), done.output()
    if argv[0] == "history":
        assert (Path(argv[1]) / "history.html").is_file(), done.output()
    if argv[0] == "runs":
        assert "completed" in done.stdout
