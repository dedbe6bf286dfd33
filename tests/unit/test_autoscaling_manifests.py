"""`benchctl analyze` as a user runs it: the autoscaling manifests it writes fit together, match
the API schemas, and say what was simulated; `--cluster` input and its errors.

Schemas: HorizontalPodAutoscaler behavior (the block KEDA embeds) with kubernetes-validate
(strict); the KEDA ScaledObject and the KServe InferenceService are CRDs with no bundled
schema, so the fields written are checked by hand against the CRDs' OpenAPI schemas
(kedacore/keda config/crd/bases/keda.sh_scaledobjects.yaml v1alpha1; kserve/kserve
config/crd/full/serving.kserve.io_inferenceservices.yaml v1beta1), as test_deploy_files does.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.run_files import SPIKE_SPEC, set_scenario
from tests.unit.run_files import installed_benchctl as _benchctl
from tests.unit.test_analyze import mm1_step_run

SPIKE = SPIKE_SPEC
SO_SPEC_KEYS = {
    "advanced", "cooldownPeriod", "fallback", "idleReplicaCount", "initialCooldownPeriod",
    "maxReplicaCount", "minReplicaCount", "pollingInterval", "scaleTargetRef", "triggers",
}  # fmt: skip
TRIGGER_KEYS = {"authenticationRef", "metadata", "metricType", "name", "type", "useCachedMetrics"}
PREDICTOR_KEYS = {
    "minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "containerConcurrency",
    "timeout", "model", "containers",
}  # fmt: skip
MODEL_KEYS = {"modelFormat", "storageUri", "protocolVersion", "runtime", "runtimeVersion"}
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def _spike_run(tmp_path: Path, kind: str = "triton") -> Path:
    run_dir = mm1_step_run(tmp_path)
    target = {"name": kind, "spec": {"kind": kind, "model": "resnet_50"}}
    set_scenario(run_dir, {"name": "spike", "time_scale": 0.1, "spec": SPIKE}, target=target)
    return run_dir


def _check_hpa_behavior(behavior: dict[str, Any], low: int, high: int) -> None:
    """The behavior block inside an autoscaling/v2 HPA, against the Kubernetes schema."""
    if importlib.util.find_spec("kubernetes_validate") is None:
        pytest.skip("kubernetes-validate is not installed (dev extra): k8s schemas not checked")
    import kubernetes_validate as kv

    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "keda-hpa-x"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
            "minReplicas": max(1, low),
            "maxReplicas": high,
            "behavior": behavior,
        },
    }
    kv.validate(hpa, kv.utils.latest_version(), strict=True)


def _check_scaled_object(doc: dict[str, Any]) -> None:
    assert (doc["apiVersion"], doc["kind"]) == ("keda.sh/v1alpha1", "ScaledObject")
    assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}
    assert DNS_1035.fullmatch(doc["metadata"]["name"])
    spec = doc["spec"]
    assert set(spec) <= SO_SPEC_KEYS, set(spec) - SO_SPEC_KEYS
    low, high = spec["minReplicaCount"], spec["maxReplicaCount"]
    assert isinstance(low, int) and isinstance(high, int) and 0 <= low <= high and high >= 1
    ref = spec["scaleTargetRef"]
    assert set(ref) <= {"apiVersion", "kind", "name", "envSourceContainerName"} and ref["name"]
    assert spec["triggers"]
    for trigger in spec["triggers"]:
        assert set(trigger) <= TRIGGER_KEYS and trigger["type"]
        assert all(isinstance(v, str) for v in trigger["metadata"].values())
        assert trigger.get("metricType", "AverageValue") in {"AverageValue", "Value", "Utilization"}
        if trigger["type"] == "cron":
            assert set(trigger["metadata"]) == {"timezone", "start", "end", "desiredReplicas"}
            assert int(trigger["metadata"]["desiredReplicas"]) <= high
    assert set(spec.get("advanced", {})) <= {
        "horizontalPodAutoscalerConfig", "restoreToOriginalReplicaCount", "scalingModifiers",
    }  # fmt: skip
    hpa_config = spec["advanced"]["horizontalPodAutoscalerConfig"]
    assert set(hpa_config) <= {"name", "behavior"}
    _check_hpa_behavior(hpa_config["behavior"], low, high)


def _check_inference_service(doc: dict[str, Any]) -> str:
    assert (doc["apiVersion"], doc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}
    meta = doc["metadata"]
    assert DNS_1035.fullmatch(meta["name"]) and len(meta["name"]) <= 45
    assert all(isinstance(v, str) for v in meta["annotations"].values())
    predictor = doc["spec"]["predictor"]
    assert set(doc["spec"]) == {"predictor"}
    assert set(predictor) <= PREDICTOR_KEYS, set(predictor) - PREDICTOR_KEYS
    assert set(predictor["model"]) <= MODEL_KEYS
    low = predictor["minReplicas"]
    high = predictor.get("maxReplicas", low)
    assert isinstance(low, int) and isinstance(high, int) and 0 <= low <= high
    if "scaleTarget" in predictor:
        assert isinstance(predictor["scaleTarget"], int) and predictor["scaleTarget"] > 0
    return meta["annotations"]["serving.kserve.io/deploymentMode"]


def test_analyze_writes_one_coherent_deployment_and_the_alternative_apart(tmp_path: Path):
    """The installed CLI from a fresh directory: the chosen mode's files at the top of
    manifests/, the other mode's in its labelled folder; every file fits its schema; the
    ScaledObject scales the Deployment KServe creates for that InferenceService, with the
    query the simulation modelled (Triton's success counter, selected by model and
    namespace, the same rate window)."""
    run_dir = _spike_run(tmp_path)
    work = tmp_path / "fresh"
    work.mkdir()
    result = _benchctl(
        "analyze", str(run_dir), "--slo", "p99<=100ms", "--peak-rps", "1000",
        "--cluster", "image_pull=30s,namespace=ml,rate_window=2m,scrape_interval=30s",
        cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads((run_dir / "capacity.json").read_text())
    scaling = doc["autoscaling"]
    assert scaling["cluster"]["pod_start_s"] == 2 + 30 + 20 + 3
    assert scaling["metric"]["query"] == (
        'sum(rate(nv_inference_request_success{namespace="ml",model="resnet_50"}[120s]))'
    )
    assert scaling["metric"]["counts"] == "completions"
    assert scaling["metric"]["sync_phases"] == 15
    assert "Deployment: " in result.stdout and "Consistency: " in result.stdout
    folder = run_dir / "manifests"
    alternative = {
        "RawDeployment": "alternative-serverless-kpa",
        "Serverless": "alternative-rawdeployment-keda",
    }[scaling["deployment"]]
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [alternative]
    assert (folder / "README.md").read_text().startswith("# The recommended deployment")
    assert "never both" in (folder / "README.md").read_text()
    for header in (p.read_text().splitlines()[0] for p in (folder / alternative).glob("*.yaml")):
        assert "the alternative, not chosen" in header and "chosen:" not in header, header
    modes = {}
    for where in (folder, folder / alternative):
        docs = {p.name: yaml.safe_load(p.read_text()) for p in where.glob("*.yaml")}
        isvc = docs.pop("kserve-inferenceservice.yaml")
        mode = _check_inference_service(isvc)
        assert isvc["metadata"]["name"] == "resnet-50-triton"
        assert isvc["metadata"]["namespace"] == "ml"
        modes[where.name] = mode
        if mode == "RawDeployment":
            assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == (
                "external"
            )  # KServe creates no HPA of its own to fight KEDA's
            scaled = docs.pop("keda-scaledobject.yaml")
            _check_scaled_object(scaled)
            assert scaled["spec"]["scaleTargetRef"]["name"] == "resnet-50-triton-predictor"
            prometheus = scaled["spec"]["triggers"][0]
            assert prometheus["metadata"]["query"] == scaling["metric"]["query"]
            assert float(prometheus["metadata"]["threshold"]) == scaling["hpa"]["policy"]["target"]
            assert scaled["spec"]["minReplicaCount"] == scaling["hpa"]["policy"]["min_replicas"]
        else:
            notes = isvc["metadata"]["annotations"]
            assert notes["autoscaling.knative.dev/class"] == "kpa.autoscaling.knative.dev"
            assert notes["autoscaling.knative.dev/target-utilization-percentage"] == (
                f"{scaling['kpa']['policy']['target_utilization_percentage']:.1f}"
            )
        assert docs == {}, f"unexpected files in {where}: {sorted(docs)}"
    assert sorted(modes.values()) == ["RawDeployment", "Serverless"]
    assert modes["manifests"] == scaling["deployment"]
    assert scaling["manifests"] and all(Path(p).suffix == ".yaml" for p in scaling["manifests"])


def test_analyze_replaces_the_files_of_an_earlier_analysis(tmp_path: Path):
    """A second analyze leaves no file of the first (no stale hpa.yaml or other mode)."""
    run_dir = _spike_run(tmp_path, kind="torchserve")
    (run_dir / "manifests").mkdir()
    (run_dir / "manifests" / "hpa.yaml").write_text("kind: HorizontalPodAutoscaler\n")
    (run_dir / "manifests" / "notes.txt").write_text("the user's own file\n")
    result = _benchctl("analyze", str(run_dir), "--slo", "p99<=100ms", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = {p.name for p in (run_dir / "manifests").iterdir()}
    assert "hpa.yaml" not in names and "notes.txt" in names
    doc = json.loads((run_dir / "capacity.json").read_text())
    # TorchServe counts requests when they arrive: the query, and the simulation, use that.
    assert doc["autoscaling"]["metric"]["counts"] == "offered"
    assert "ts_inference_requests_total{" in doc["autoscaling"]["metric"]["query"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("image_pull=forever", "--cluster: field 'image_pull': 'forever' is not a duration"),
        ("pool_pods=-1", "--cluster: field 'pool_pods'"),
        ("warp=9", "--cluster: field 'warp': Extra inputs are not permitted"),
        ("rate_window=20s", "rate_window must hold at least two scrapes"),
        ("image_pull", "--cluster: 'image_pull' is not key=value"),
        ("missing.yaml", "argument --cluster: missing.yaml: no such file"),
    ],
)
def test_bad_cluster_input_is_one_line_and_exit_2(tmp_path: Path, value: str, message: str):
    run_dir = _spike_run(tmp_path)
    result = _benchctl("analyze", str(run_dir), "--slo", "p99<=100ms", "--cluster", value,
                       cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_cluster_yaml_and_the_cold_start_shortcut(tmp_path: Path):
    """A YAML cluster file; --cold-start sets the whole pod start over the parts."""
    run_dir = _spike_run(tmp_path)
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("model_load: 1m\npool_pods: 4\nnode_provision: 3m\n")
    result = _benchctl("analyze", str(run_dir), "--slo", "p99<=100ms", "--cluster",
                       str(cluster), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    scaling = json.loads((run_dir / "capacity.json").read_text())["autoscaling"]
    assert scaling["cluster"]["pod_start_s"] == 2 + 20 + 60 + 3
    assert scaling["cluster"]["pool_pods"] == 4 and scaling["cluster"]["node_provision"] == 180
    result = _benchctl("analyze", str(run_dir), "--slo", "p99<=100ms", "--cluster",
                       str(cluster), "--cold-start", "10s", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    scaling = json.loads((run_dir / "capacity.json").read_text())["autoscaling"]
    assert scaling["cold_start_s"] == 10 and scaling["cluster"]["pool_pods"] == 4
    cluster.write_text("model_load: soon\n")
    result = _benchctl("analyze", str(run_dir), "--slo", "p99<=100ms", "--cluster",
                       str(cluster), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and f"{cluster}:1: field 'model_load'" in result.stderr
