"""The manifests of one recommended deployment, written into the run: RawDeployment + a KEDA
ScaledObject, or Serverless + the Knative KPA, with the alternative in its own labelled
folder and a README in each saying what to apply. Names are those KServe creates."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchctl.analysis.autoscaler_simulation import HpaPolicy, KpaPolicy, Policy, Recommendation
from benchctl.analysis.manifests import keda_manifest, kserve_manifest
from benchctl.analysis.scaling_inputs import ServerCounter
from benchctl.rundir import MANIFESTS, RunDir
from benchctl.targets.registry import SERVERS

if TYPE_CHECKING:  # autoscaling_choice imports this module
    from benchctl.analysis.autoscaling_choice import Choice

PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"
RAW, SERVERLESS = "RawDeployment", "Serverless"
ALTERNATIVE = {RAW: "alternative-serverless-kpa", SERVERLESS: "alternative-rawdeployment-keda"}
ISVC_FILE, KEDA_FILE, README = "kserve-inferenceservice.yaml", "keda-scaledobject.yaml", "README.md"
_OLD_FILES = ("hpa.yaml", "keda.yaml", ISVC_FILE, KEDA_FILE, README)
# KServe's serving runtime per server kind: each entry's ``runtime`` in targets/registry.py
RUNTIME = {kind: server.runtime for kind, server in SERVERS.items()}


def isvc_name(model: str, kind: str) -> str:
    """An InferenceService name (DNS-1035 label): KServe derives <name>-predictor from it.

    ``model``, ``kind``: the model and server kind, joined as ``<model>-<kind>``, lower-cased,
    each run of characters other than letters and digits made one ``-``, prefixed ``m-``
    unless it starts with a letter, cut to 45 characters (leaving room for KServe's suffixes
    such as ``-predictor`` within a 63-character DNS-1035 label). Raises nothing.
    """
    raw = f"{model}-{kind}".lower()
    name = "".join(c if c.isalnum() else "-" for c in raw).strip("-")
    name = "-".join(filter(None, name.split("-")))
    if not name or not name[0].isalpha():
        name = f"m-{name}".rstrip("-")
    return name[:45].rstrip("-")


def write_manifests(
    run: RunDir,
    choice: Choice,
    *,
    name: str,
    namespace: str,
    kind: str,
    query: str,
    counter: ServerCounter,
) -> list[Path]:
    """Write the ``choice.mode`` deployment (RAW or SERVERLESS) into RUN/manifests/ and the
    other one into RUN/manifests/<ALTERNATIVE[mode]>/, each with a README.md; files an
    earlier analyze wrote there are removed first (never through a symlink: InputError).

    ``choice.hpa`` is the chosen KEDA/HPA recommendation (its cron windows written when
    ``choice.cron`` is the option it came from), ``choice.kpa`` the chosen Knative one;
    ``name`` the InferenceService, ``kind`` the server, ``query`` the KEDA Prometheus query
    and ``counter`` the server counter it reads. Returns the YAML paths written, chosen
    ones first.
    """
    mode, hpa, kpa, cron = choice.mode, choice.hpa, choice.kpa, choice.cron
    folder = run.mkdir(MANIFESTS)
    for old in _OLD_FILES:  # files an earlier analyze wrote
        path = folder / old
        if path.is_file() and not path.is_symlink():
            path.unlink()
    for old in ALTERNATIVE.values():
        path = folder / old
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
    if mode == RAW:  # the alternative's header must not read "chosen:"
        kpa = _as_alternative(kpa, ALTERNATIVE[mode])
    else:
        hpa = _as_alternative(hpa, ALTERNATIVE[mode])
    raw = _raw_files(name, namespace, kind, hpa, query, counter, cron)
    serverless = _serverless_files(name, namespace, kind, kpa)
    chosen, other = (raw, serverless) if mode == RAW else (serverless, raw)
    alternative = ALTERNATIVE[mode]
    other_mode = SERVERLESS if mode == RAW else RAW
    chosen[README] = _readme(mode, name, alternative, chosen=True)
    other[README] = _readme(other_mode, name, alternative, chosen=False)
    paths = []  # the YAML files (each folder also gets a README.md saying what it holds)
    for filename, text in chosen.items():
        path = run.write_text(f"{MANIFESTS}/{filename}", text)
        paths.extend([path] if filename != README else [])
    for filename, text in other.items():
        path = run.write_text(f"{MANIFESTS}/{alternative}/{filename}", text)
        paths.extend([path] if filename != README else [])
    return paths


def _as_alternative(recommendation: Recommendation, folder: str) -> Recommendation:
    """The best candidate of the kind not chosen, its reason saying so: a simulator's
    "chosen: cheapest candidate ..." is the choice within its kind only."""
    reason = recommendation.reason.replace("chosen: ", "", 1)
    return replace(recommendation, reason=f"the alternative, not chosen ({folder}/): {reason}")


def _raw_files(
    name: str,
    namespace: str,
    kind: str,
    hpa: Recommendation,
    query: str,
    counter: ServerCounter,
    cron: dict[str, Any] | None,
) -> dict[str, str]:
    policy: HpaPolicy = hpa.policy  # type: ignore[assignment]
    deployment = f"{name}-predictor"
    windows = cron["windows"] if cron is not None and cron["choice"] is hpa else None
    return {
        ISVC_FILE: _isvc(
            name,
            namespace,
            kind,
            policy,
            f"RawDeployment for the KEDA ScaledObject in {KEDA_FILE}: {hpa.reason}",
        ),
        KEDA_FILE: keda_manifest(
            name,
            namespace,
            policy,
            prometheus_url=PROMETHEUS_URL,
            query=query,
            cron=windows,
            deployment=deployment,
            reason=hpa.reason,
            notes=[
                f"the query counts {counter.what} ({counter.name}); simulated with the same"
                f" rate() window, {policy.scrape_interval_s:g} s scrapes and the worst HPA"
                " sync phase",
                f"KServe creates Deployment {deployment} for InferenceService {name}"
                " (RawDeployment, KServe >= 0.11); KEDA creates HPA keda-hpa-" + name,
            ],
        ),
    }


def _serverless_files(name: str, namespace: str, kind: str, kpa: Recommendation) -> dict[str, str]:
    policy: KpaPolicy = kpa.policy  # type: ignore[assignment]
    reason = f"Serverless (Knative KPA): {kpa.reason}"
    return {ISVC_FILE: _isvc(name, namespace, kind, policy, reason)}


def _isvc(name: str, namespace: str, kind: str, policy: Policy, reason: str) -> str:
    """The InferenceService of either mode (raw for an HPA policy, serverless for a KPA
    one): KServe's runtime for the server ``kind``, a storage URI to replace."""
    raw = isinstance(policy, HpaPolicy)
    return kserve_manifest(
        name,
        namespace,
        runtime=RUNTIME.get(kind, "kserve-custom"),
        storage_uri="s3://CHANGE-ME/models/" + name,
        hpa=policy if raw else None,
        kpa=None if raw else policy,
        reason=reason,
    )


def _readme(mode: str, name: str, alternative: str, *, chosen: bool) -> str:
    what = (
        f"InferenceService {name} in RawDeployment mode (KServe creates Deployment"
        f" {name}-predictor and no autoscaler) and a KEDA ScaledObject that scales it (KEDA"
        f" creates HPA keda-hpa-{name})."
        if mode == RAW
        else f"InferenceService {name} in Serverless mode: Knative's KPA scales revision"
        f" {name}-predictor-<n> with the annotations written in it."
    )
    head = (
        "# The recommended deployment (benchctl analyze)\n\n"
        f"Apply the YAML files in this folder together (`kubectl apply -f .`, not -R): {what}\n\n"
        f"The alternative, simulated but not chosen, is in `{alternative}/`. Apply one of the"
        " two, never both: they describe the same InferenceService.\n"
        if chosen
        else "# The alternative deployment (not chosen by benchctl analyze)\n\n"
        f"{what}\n\nUse it instead of the files in the parent folder, never with them.\n"
    )
    return head
