"""benchctl.targets.registry: every fact about a server kind is its one entry in SERVERS.

Telemetry's counters, the KEDA trigger's counter, the KServe runtime of the manifests, the
display name, the v2 REST quirks, whether and how ``--launch`` starts it and which URLs a
launched one adds to the target are all read from the entry; the target profile accepts
exactly the registered kinds; and no module outside the registry keys a table by kind.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from benchctl.analysis.deployment import RUNTIME
from benchctl.analysis.scaling_inputs import GENERIC_COUNTER, SERVER_COUNTERS, rate_query
from benchctl.config import TargetSpec
from benchctl.run_setup import launched_target
from benchctl.targets.launch import LaunchedServer
from benchctl.targets.launch_torchserve import TorchServeServer
from benchctl.targets.registry import NOT_LAUNCHABLE, SERVERS
from benchctl.targets.v2_codec import FP16_JSON_KINDS, NO_BINARY_KINDS
from benchctl.targets.venvs import DISPLAY_NAMES
from benchctl.telemetry.server_metrics import SERVER_METRICS

SRC = Path(__file__).resolve().parents[2] / "src" / "benchctl"


def test_the_registered_kinds_are_the_five_servers_in_the_profile_order():
    """The order is the one the target profile's error message lists them in."""
    assert list(SERVERS) == ["kserve", "triton", "torchserve", "tfserving", "mlserver"]
    assert all(kind == entry.kind for kind, entry in SERVERS.items())


@pytest.mark.parametrize("kind", list(SERVERS))
def test_every_fact_about_a_server_is_read_from_its_entry(kind: str):
    entry = SERVERS[kind]
    assert SERVER_METRICS.get(kind) is entry.metrics
    assert SERVER_COUNTERS[kind] == entry.counter
    counter = entry.counter
    assert rate_query(kind, "m", "ns", 60.0) == (
        f'sum(rate({counter.name}{{namespace="ns",{counter.model_label}="m"}}[60s]))'
    )
    assert RUNTIME[kind] == entry.runtime
    assert DISPLAY_NAMES[kind] == entry.display
    assert (kind in FP16_JSON_KINDS) is entry.v2_json_fp16
    assert (kind in NO_BINARY_KINDS) is (not entry.v2_binary)
    assert bool(entry.launcher) is not bool(entry.not_launchable)
    assert (kind in NOT_LAUNCHABLE) is bool(entry.not_launchable)
    assert TargetSpec(kind=kind).kind == kind


def test_the_facts_are_those_the_tables_held_before_the_registry():
    """Known answers: the values the five separate tables held (telemetry/server_metrics,
    analysis/scaling_inputs, analysis/deployment, targets/venvs, targets/v2_codec)."""
    assert set(SERVER_METRICS) == {"triton", "torchserve", "kserve", "tfserving"}
    assert SERVER_METRICS["triton"].requests == "nv_inference_request_success"
    assert SERVER_METRICS["triton"].to_ms == 1e-3 and SERVER_METRICS["kserve"].to_ms == 1e3
    assert SERVER_COUNTERS["torchserve"].counts == "offered"
    assert SERVER_COUNTERS["mlserver"].name == "model_infer_request_success"
    assert [SERVER_COUNTERS[k].name for k in ("kserve", "triton", "torchserve", "tfserving")] == [
        "request_predict_seconds_count",
        "nv_inference_request_success",
        "ts_inference_requests_total",
        ":tensorflow:serving:request_count",
    ]  # each the request counter telemetry reads (the entry's metrics.requests)
    assert SERVER_COUNTERS["triton"].model_label == "model"
    assert SERVER_COUNTERS["kserve"].what == "predict calls, on completion"
    assert rate_query("seldon", "m", "ns", 30.0).startswith(f"sum(rate({GENERIC_COUNTER.name}")
    assert RUNTIME == {
        "kserve": "kserve-custom",
        "triton": "kserve-tritonserver",
        "torchserve": "kserve-torchserve",
        "tfserving": "kserve-tensorflow-serving",
        "mlserver": "kserve-mlserver",
    }
    assert FP16_JSON_KINDS == NO_BINARY_KINDS == {"mlserver"}
    assert set(NOT_LAUNCHABLE) == {"tfserving"}
    assert NOT_LAUNCHABLE["tfserving"].startswith("TF-Serving cannot be launched here: ")


def test_the_launchers_are_the_entries_launchers():
    from benchctl.targets import registry
    from benchctl.targets.launch_triton import launch_triton_spec

    assert set(registry.LAUNCHERS) == {"kserve", "triton", "torchserve", "mlserver"}
    assert registry.LAUNCHERS["triton"] is launch_triton_spec
    assert set(registry.ADAPTERS) >= {"rest-v2", "grpc-v2", "torchserve-rest", "tfserving-grpc"}


def test_a_kind_without_an_entry_is_refused_by_the_target_profile():
    with pytest.raises(ValidationError) as caught:
        TargetSpec(kind="seldon")
    assert "'kserve', 'triton', 'torchserve', 'tfserving' or 'mlserver'" in str(caught.value)


def test_a_launched_torchserve_gives_the_target_its_management_api(tmp_path: Path):
    """TorchServe's entry names ``management_url`` in ``launched_urls``: the launched
    server's management API reaches the target; a Triton (no such URL) leaves it unset."""
    process = subprocess.Popen(["true"])
    process.wait()
    common = {"process": process, "log_path": tmp_path / "log", "ports": (9001, 9002, 9003)}
    served = TorchServeServer.on_loopback(
        "torchserve", management_url="http://127.0.0.1:9004", **common
    )
    target = launched_target(TargetSpec(kind="torchserve"), served)
    assert target.url == "http://127.0.0.1:9001" and target.grpc_address == "127.0.0.1:9002"
    assert target.metrics_url == "http://127.0.0.1:9003/metrics"
    assert target.management_url == "http://127.0.0.1:9004"
    triton = launched_target(
        TargetSpec(kind="triton"), LaunchedServer.on_loopback("triton", **common)
    )
    assert triton.management_url is None and triton.url == "http://127.0.0.1:9001"


def _keyed_by_kind(path: Path) -> list[str]:
    """Places in ``path`` that key a table by a server kind or test a value against one:
    a kind as a dict key, a set element, or a comparison operand."""
    kinds = set(SERVERS)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            candidates = [k for k in node.keys if k is not None]
        elif isinstance(node, ast.Set):
            candidates = list(node.elts)
        elif isinstance(node, ast.Compare):
            candidates = [node.left, *node.comparators]
        else:
            continue
        found += [
            f"{node.lineno} {c.value}"
            for c in candidates
            if isinstance(c, ast.Constant) and c.value in kinds
        ]
    return found


def test_no_module_outside_the_registry_keys_facts_by_server_kind(tmp_path: Path):
    """Adding a server is one entry: no table or branch elsewhere spells a kind. (The
    launchers name their own server's folders and venv; the servers/ code runs inside
    the launched servers.)"""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative == "targets/registry.py" or relative.startswith("targets/servers/"):
            continue
        found += [f"{relative}:{place}" for place in _keyed_by_kind(path)]
    assert found == []
    sample = tmp_path / "m.py"
    sample.write_text('A = {"triton": 1}\nB = {"mlserver"}\nif kind == "kserve":\n    pass\n')
    assert _keyed_by_kind(sample) == ["1 triton", "2 mlserver", "3 kserve"]
