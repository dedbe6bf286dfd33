"""What the cluster adds to the autoscaler simulation: pod start, nodes, metric pipeline.

``benchctl analyze --cluster FILE.yaml`` or ``--cluster key=value,...`` (the same keys).
Every field has a default, documented here and in ``benchctl analyze --help``:

=====================  =======  ===========================================================
key                    default  meaning
=====================  =======  ===========================================================
scheduling             2s       scheduler binding and kubelet starting the pod
image_pull             20s      pulling the server image (a few GB; 0 if cached on nodes)
model_load             20s      server start and model weights loaded into memory
readiness              3s       until the readiness probe first passes after the load
node_provision         120s     a new node (cloud VM boot and join) when no node has room
pool_pods              none     pods the existing nodes hold; none: room for any number
scrape_interval        15s      Prometheus scrape interval of the server's metrics
rate_window            1m       the rate() window of the KEDA query (>= 2 scrapes)
hpa_sync_period        15s      kube-controller-manager --horizontal-pod-autoscaler-sync-period
namespace              default  namespace of the manifests and of the query's selector
=====================  =======  ===========================================================

A pod serves ``scheduling + image_pull + model_load + readiness`` (45 s by default) after it
is created, plus ``node_provision`` when it is beyond ``pool_pods``. ``--cold-start`` is a
shortcut that sets the whole pod start at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benchctl.errors import InputError
from benchctl.specs.values import Seconds

_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class ClusterSpec(BaseModel):
    """The cluster's part of a pod start and of the metric the autoscaler reads."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    scheduling: Seconds = 2.0
    image_pull: Seconds = 20.0
    model_load: Seconds = 20.0
    readiness: Seconds = 3.0
    node_provision: Seconds = 120.0
    pool_pods: Annotated[int, Field(ge=0)] | None = None
    scrape_interval: Annotated[Seconds, Field(gt=0)] = 15.0
    rate_window: Annotated[Seconds, Field(gt=0)] = 60.0
    hpa_sync_period: Annotated[Seconds, Field(ge=1)] = 15.0
    namespace: str = "default"
    cold_start: Seconds | None = None  # --cold-start: the whole pod start, overriding the parts

    @model_validator(mode="after")
    def _check(self) -> ClusterSpec:
        if self.rate_window < 2 * self.scrape_interval:
            raise ValueError("rate_window must hold at least two scrapes (>= 2 x scrape_interval)")
        if not _NAME.fullmatch(self.namespace):
            raise ValueError("namespace must be a DNS label (lowercase letters, digits, '-')")
        return self

    @property
    def pod_start_s(self) -> float:
        """Seconds from a pod's creation until it serves, on a node that has room."""
        if self.cold_start is not None:
            return self.cold_start
        return self.scheduling + self.image_pull + self.model_load + self.readiness

    def describe(self) -> str:
        """One sentence for the analysis output."""
        if self.cold_start is not None:
            start = f"pod start {self.cold_start:g} s (--cold-start)"
        else:
            start = (
                f"pod start {self.pod_start_s:g} s (scheduling {self.scheduling:g} + image pull"
                f" {self.image_pull:g} + model load {self.model_load:g} + readiness"
                f" {self.readiness:g})"
            )
        nodes = (
            f"; {self.node_provision:g} s more for a new node beyond {self.pool_pods} pods"
            if self.pool_pods is not None
            else "; nodes have room for every pod"
        )
        return (
            f"Cluster: {start}{nodes}; metrics scraped every {self.scrape_interval:g} s,"
            f" rate[{self.rate_window:g}s], HPA sync every {self.hpa_sync_period:g} s."
        )


def load_cluster(value: str | None, *, cold_start_s: float | None = None) -> ClusterSpec:
    """The cluster from ``--cluster`` (a YAML file, or ``key=value`` pairs separated by
    commas) with ``--cold-start`` applied; defaults without either.

    Raises InputError (one line naming the file or flag and the field) on bad input.
    """
    data: dict[str, Any] = {}
    if value is not None:
        text = value.strip()
        path = Path(text)
        if text.endswith((".yaml", ".yml")) or path.is_file():
            if not path.is_file():
                raise InputError(f"--cluster {text}: no such file")
            from benchctl.specs.yaml_files import load_yaml_model  # (scenario specs: 0.03 s)

            spec = load_yaml_model(path, ClusterSpec)
            data = spec.model_dump(exclude_unset=True)
        else:
            data = _pairs(text)
    if cold_start_s is not None:
        data["cold_start"] = cold_start_s
    try:
        return ClusterSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "value"
        allowed = ", ".join(ClusterSpec.model_fields)
        message = error["msg"].removeprefix("Value error, ")
        where = "--cluster" if value is not None else "--cold-start"
        raise InputError(f"{where}: field {field!r}: {message} (keys: {allowed})") from None


def _pairs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"--cluster: {part!r} is not key=value; give a YAML file or pairs such as"
                " image_pull=30s,model_load=1m,pool_pods=4"
            )
        out[key.strip().replace("-", "_")] = val.strip()
    if not out:
        raise InputError("--cluster: empty; give a YAML file or key=value pairs")
    return out
