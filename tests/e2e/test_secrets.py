"""Header values never reach disk (case protocol/16 and faults/literal-token-in-engine-spec):
a literal token in the target's headers, a header with an innocuous name (X-Session), a
header given on the command line, and one from ``${VAR}``: the server gets them all (it
answers 401 otherwise), and no file under the run directory holds any of them. A header
named in ``safe_headers`` is stored in clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import benchctl
from .standin import V2Standin, write_target

TOKEN = "literal-SECRET-AAAA"
SESSION = "literal-SECRET-BBBB"
CLI = "cli-SECRET-CCCC"
FROM_ENV = "env-SECRET-DDDD"


def files_holding(run_dir: Path, secret: str) -> list[str]:
    return [
        str(p.relative_to(run_dir))
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and secret.encode() in p.read_bytes()
    ]


@pytest.mark.parametrize("workers", ["0", "2"])  # 2: the master hands headers to its workers
def test_literal_and_cli_header_values_are_in_no_run_file(tmp_path, workers):
    with V2Standin(token=TOKEN) as standin:
        target = write_target(
            tmp_path / "t.yaml",
            standin.url,
            "headers:",
            f'  Authorization: "Bearer {TOKEN}"',
            f'  X-Session: "{SESSION}"',
            '  X-Env: "${BENCH_TEST_SECRET}"',
            '  X-Trace: "trace-visible-1"',
            "safe_headers: [x-trace]",
        )
        done = benchctl(
            "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
            "--set", "warmup=0s", "--target-set", f"headers.X-Cli={CLI}", "--workers", workers,
            cwd=tmp_path,
            env={"BENCH_TEST_SECRET": FROM_ENV},
        )  # fmt: skip
        seen = standin.headers_seen[-1]
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) > 0 and bool(rows["ok"].all()), rows["error"].value_counts().to_dict()
    # The engine sent every header with its real value.
    assert seen["Authorization"] == f"Bearer {TOKEN}"
    assert (seen["X-Session"], seen["X-Cli"], seen["X-Env"]) == (SESSION, CLI, FROM_ENV)
    assert done.run_dir is not None
    for secret in (TOKEN, SESSION, CLI, FROM_ENV):
        assert files_holding(done.run_dir, secret) == [], secret
        assert secret not in done.stdout + done.stderr
    headers = done.run_json()["target"]["spec"]["headers"]
    assert headers["X-Trace"] == "trace-visible-1"  # marked safe
    assert headers["Authorization"] == "<redacted>"
    assert headers["X-Env"] == "<redacted> (from ${BENCH_TEST_SECRET})"
    assert "headers.X-Cli=<redacted>" in done.run_json()["command"]
