"""gRPC answers larger than gRPC's 4 MB default receive limit (case protocol/12) are received:
channels default to unlimited message sizes, as NVIDIA's own client sets them, and the limits
are settable in the target's ``grpc:`` section. And the gRPC ``timeout`` is a deadline.
Stand-in: tests/e2e/grpc_standin.py (a real server answering 6 MB would need a custom model).
"""

from __future__ import annotations

from .grpc_standin import GrpcV2Standin, write_grpc_target
from .helpers import benchctl

SIX_MB = 6 * 1024 * 1024
FOUR_MB = 4 * 1024 * 1024


def steady(tmp_path, target, rate="5", duration="3s"):
    return benchctl(
        "run", "steady", "--target", str(target), "--rate", rate, "--duration", duration,
        "--set", "warmup=0s", "--set", "arrivals=constant", "--no-telemetry", cwd=tmp_path,
    )  # fmt: skip


def test_six_megabyte_answers_are_received_by_default(tmp_path):
    with GrpcV2Standin(out_bytes=SIX_MB) as standin:
        done = steady(tmp_path, write_grpc_target(tmp_path / "t.yaml", standin.address))
        answered = standin.answered
    assert done.returncode == 0, done.output()
    rows = done.requests()
    assert len(rows) == answered > 0  # 5 req/s x 3 s, constant gaps: 15 expected
    assert bool(rows["ok"].all()), rows["error"].value_counts().to_dict()
    assert (rows["bytes_received"] > SIX_MB).all()


def test_receive_limit_is_settable_in_the_target(tmp_path):
    target = write_grpc_target(
        tmp_path / "t.yaml", "PLACEHOLDER", f"grpc: {{max_receive_message_bytes: {FOUR_MB}}}"
    )
    with GrpcV2Standin(out_bytes=SIX_MB) as standin:
        target.write_text(target.read_text().replace("PLACEHOLDER", standin.address))
        done = steady(tmp_path, target)
    rows = done.requests()
    assert len(rows) > 0, done.output()
    assert set(rows["error"]) == {"grpc_RESOURCE_EXHAUSTED"}


def test_grpc_timeout_is_a_deadline(tmp_path):
    # Every answer takes 3 s; the target's 1 s timeout must end each call at ~1 s.
    with GrpcV2Standin(delay=3.0) as standin:
        target = write_grpc_target(tmp_path / "t.yaml", standin.address, timeout="1s")
        done = steady(tmp_path, target, rate="2", duration="2s")
    rows = done.requests()
    assert len(rows) > 0, done.output()
    assert set(rows["error"]) == {"timeout"}
    assert rows["service_ms"].between(950, 2000).all(), rows["service_ms"].tolist()
