"""A run in which nothing succeeded is not a success (case protocol/11): a target answering
307 to every POST gives a ``failed`` run, exit 1, with a reason naming the dominant error.
(A real server does not redirect its infer endpoint; the stand-in does.)"""

from __future__ import annotations

from .helpers import benchctl
from .standin import V2Standin, write_target


def test_all_redirects_fail_the_run(tmp_path):
    with V2Standin(redirect=True) as standin:
        target = write_target(tmp_path / "t.yaml", standin.url)
        done = benchctl(
            "run", "steady", "--target", str(target), "--rate", "10", "--duration", "2s",
            "--set", "warmup=0s", "--no-telemetry", cwd=tmp_path,
        )  # fmt: skip
        redirected = standin.counts.get("infer_307", 0)
    assert done.returncode == 1, done.output()
    info = done.run_json()
    assert info["status"] == "failed"
    rows = done.requests()
    assert len(rows) == redirected > 0
    assert not rows["ok"].any()
    assert info["reason"].startswith(f"nothing succeeded: 0 of {len(rows)} requests ok")
    assert f"http_3xx ({redirected}, HTTP 307)" in info["reason"]
    assert "Traceback" not in done.stdout + done.stderr
