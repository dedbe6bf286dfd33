"""``timeout:`` is a whole-request deadline (case protocol/03): an answer whose headers come
at once but whose body trickles in one byte every 0.1 s (about 10 s in all) is recorded as a
``timeout`` when the 2 s deadline passes, not ``ok`` at 10.5 s nor ``cancelled`` at the end.
A real server cannot be made to trickle, so this uses the v2 stand-in in tests/e2e/standin.py.
"""

from __future__ import annotations

from .helpers import benchctl
from .standin import V2Standin, write_target

TIMEOUT_S = 2.0


def test_trickled_body_is_a_timeout_at_the_deadline(tmp_path):
    # Requests 2 and 4 trickle; at a constant 5 req/s they are sent at ~0.2 s and ~0.6 s,
    # so their 2 s deadlines fall at ~2.2 s and ~2.6 s, well inside the 6 s run.
    with V2Standin(trickle=frozenset({2, 4}), trickle_delay=0.1) as standin:
        target = write_target(tmp_path / "t.yaml", standin.url, timeout="2s")
        done = benchctl(
            "run", "steady", "--target", str(target), "--rate", "5", "--duration", "6s",
            "--set", "warmup=0s", "--set", "arrivals=constant", "--no-telemetry", cwd=tmp_path,
        )  # fmt: skip
        assert standin.counts.get("trickled") == 2
    assert done.returncode == 0, done.output()
    rows = done.requests()
    timeouts = rows[rows["error"] == "timeout"]
    assert len(timeouts) == 2, rows["error"].value_counts().to_dict()
    # service time = the deadline, give or take the event loop's wake-up (~ms) on a busy
    # machine; the body alone would take ~10 s (about 100 bytes x 0.1 s).
    assert timeouts["service_ms"].between(TIMEOUT_S * 1000 - 50, TIMEOUT_S * 1000 + 1000).all()
    others = rows.drop(timeouts.index)
    assert bool(others["ok"].all()), others["error"].value_counts().to_dict()
    assert "cancelled" not in set(rows["error"])
