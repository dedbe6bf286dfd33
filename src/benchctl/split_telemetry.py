"""A split or shadow run's server telemetry (``benchctl run ... --split``/``--shadow``): the
control's self-check against its own arms' requests, a sampler beside it for every other
arm's server, and at the end each arm's telemetry windows and run.json ``telemetry.arms``.
run.py attaches the samplers (``add_arm_samplers``), run_finish.py calls
``split_self_check``; the run's own telemetry: telemetry/session.py.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from benchctl.reports.terminal.split import print_arm_self_check, print_arm_telemetry
from benchctl.rundir import REQUESTS, RUN_JSON, RunDir, read_parquet, read_table
from benchctl.splits import Arm


def split_self_check(run_dir: RunDir, telemetry: dict[str, Any], console: Console) -> bool:
    """A split or shadow run's telemetry, after telemetry.parquet is written: the
    self-check of the control's server against the control arm's requests only
    (telemetry/selfcheck.py's comparison; the generator's own counter covers every arm, so
    it is not used), then each other arm's server (``arm_telemetry``). Returns False when
    the caller must run the usual self-check (a plain run; a shadow run, whose served
    server sees every request), True when done here."""
    section = run_dir.read_json(RUN_JSON).get("arms") or {}
    if not section.get("arms"):
        return False
    if not section.get("shadow"):  # a shadow run's server sees all: the usual check
        _control_check(run_dir, section, telemetry, console)
    arm_telemetry(run_dir, telemetry, console)  # every other arm's server, per arm
    return not section.get("shadow")


def _control_check(
    run_dir: RunDir, section: dict[str, Any], telemetry: dict[str, Any], console: Console
) -> None:
    """The control's server (sampled as in any run) against the requests of the arms it
    served (the control's and any arm on the same metrics URL): run.json telemetry
    ``self_check`` with those arms' names."""
    from benchctl.telemetry.selfcheck import compare_counts, server_count

    server = server_count(run_dir.path, telemetry)
    if server is None:
        return
    served = _same_server(section["arms"])
    frame = read_parquet(run_dir.path / REQUESTS, ["ok", "arm"])
    mine = frame[frame["arm"].astype(str).isin(served)]  # dropped arrivals have no arm
    result = compare_counts(server, len(mine), int(mine["ok"].sum()))
    telemetry["self_check"] = {**result, "arms": served}
    if "warning" in result:
        telemetry.setdefault("warnings", []).append(result["warning"])
        names = ", ".join(served)
        print_arm_self_check(console, f"arms {names}", result["warning"])


def _same_server(arms: list[dict[str, Any]], *, same_model: bool = True) -> list[str]:
    """The arms served by the control's server (the one whose metrics are sampled): the
    control and every arm with the same metrics URL (or, without one, the same URL) and,
    with ``same_model``, the same model (another model's requests are counted in its own
    series, which the control's windows leave out)."""

    def where(arm: dict[str, Any]) -> Any:
        spec = arm.get("spec") or {}
        place = spec.get("metrics_url") or spec.get("url")
        return (place, spec.get("model")) if same_model else place

    control = where(arms[0])
    if not (control[0] if same_model else control):
        return [arms[0]["name"]]
    return [arms[0]["name"]] + [a["name"] for a in arms[1:] if where(a) == control]


# --------------------------------------------------------------------------- arms' telemetry
# The control's server is sampled as in any run (telemetry.parquet's ``server`` and
# ``server_process`` rows, telemetry_windows.parquet). Every other arm's server is sampled
# beside it, its rows tagged ``arm:<name>:<source>`` in the same telemetry.parquet (so the
# control's windows never count them, and a killed run's parts are recovered with the rest);
# at the end each such arm gets ``arm-<name>/telemetry_windows.parquet`` and run.json
# ``telemetry.arms.<name>``.

ARM_SOURCE = "arm:{name}:"


class _ArmSampler:
    """A sampler of one arm's server whose rows carry the arm in their source."""

    def __init__(self, inner: Any, arm: str) -> None:
        self.inner = inner
        self.name = f"{inner.name}[{arm}]"
        self.interval = inner.interval
        self.prefix = ARM_SOURCE.format(name=arm)

    def sample(self, now: float) -> list[tuple[float, str, str, str, float]]:
        """The inner sampler's rows at ``now`` (epoch seconds) with the arm prefixed to their source
        (``arm:<name>:<source>``); the inner sampler's errors propagate.
        """
        return [
            (t, self.prefix + source, m, tag, v) for t, source, m, tag, v in self.inner.sample(now)
        ]

    def close(self) -> None:
        """Close the inner sampler; its errors propagate."""
        self.inner.close()


def add_arm_samplers(telemetry: Any, arms: list[Arm], options: Any) -> list[str]:
    """Sample every arm after the control on its own server, beside the control's.

    Inputs: the run's TelemetrySession (telemetry/session.py; its monitor already started),
    the arms (control first, as launched: ``Arm.pid`` set with ``--launch``) and the run's
    TelemetryOptions. Per arm: its Prometheus endpoint (``metrics_url``) unless an earlier
    arm (the control included) has the same one, and its launched process tree. Returns the
    names of the samplers attached (none when telemetry is off or nothing is its own)."""
    if not arms or telemetry is None or not options.enabled:
        return []
    from benchctl.telemetry.processes import ProcessTreeSampler
    from benchctl.telemetry.prometheus import PrometheusSampler

    seen = {arms[0].target.metrics_url} - {None}
    attached = []
    for arm in arms[1:]:
        samplers: list[Any] = []
        url = arm.target.metrics_url
        if url and url not in seen:
            seen.add(url)
            samplers.append(PrometheusSampler(url, options.scrape_interval))
        if arm.pid is not None:
            samplers.append(ProcessTreeSampler([arm.pid], None, options.interval))
        for sampler in samplers:
            wrapped = _ArmSampler(sampler, arm.name)
            telemetry.monitor.attach(wrapped)
            attached.append(wrapped.name)
    return attached


def arm_telemetry(run_dir: RunDir, telemetry: dict[str, Any], console: Console) -> None:
    """Each arm's server telemetry after the run (telemetry.parquet and the control's
    telemetry_windows.parquet written): for every arm after the control, its windows
    (telemetry/windows.py ``telemetry_windows``, same edges as the control's, that arm's
    server kind and model) in ``arm-<name>/telemetry_windows.parquet``; run.json's
    ``telemetry.arms`` (per arm: where its server numbers come from, the counters its
    server exposed, the windows file and a self-check of its server's request count
    against the requests sent to it, telemetry/selfcheck.py); one table on ``console``.
    An arm on the control's server (same metrics URL) is read from the control's samples
    (its own model's series); an arm without metrics gets host numbers only."""
    import numpy as np
    import pandas as pd

    from benchctl.telemetry.session import TELEMETRY, WINDOW_S, WINDOWS
    from benchctl.telemetry.windows import read_telemetry

    section = run_dir.read_json(RUN_JSON).get("arms") or {}
    arms = section.get("arms") or []
    raw_path, control_windows = run_dir.path / TELEMETRY, run_dir.path / WINDOWS
    if len(arms) < 2 or not telemetry.get("samplers") or not control_windows.is_file():
        return  # not a split run, or telemetry off (--no-telemetry)
    raw = read_telemetry(raw_path)
    starts = read_table(control_windows, ["t"]).column("t").to_numpy()
    if not len(starts):
        return
    edges = np.append(starts, starts[-1] + WINDOW_S)
    requests = read_parquet(run_dir.path / REQUESTS, ["ok", "arm"])
    requests["arm"] = requests["arm"].astype(str)
    shared = set(_same_server(arms, same_model=False))  # scraped with the control's
    counted = set(_same_server(arms))  # counted in the control's self-check
    common = raw[raw["source"].isin(["host", "gpu", "generator", "telemetry"])]
    found: dict[str, Any] = {}
    for arm in arms[1:]:
        name, prefix = arm["name"], ARM_SOURCE.format(name=arm["name"])
        own = raw[raw["source"].str.startswith(prefix)]
        parts = [common, own.assign(source=own["source"].str.slice(len(prefix)))]
        if name in shared:  # the control's server: its samples, this arm's model's series
            parts += [raw[raw["source"].isin(["server", "server_process"])]]
        rows = pd.concat(parts, ignore_index=True)
        sampled = "control's server" if name in shared else "own server" if len(own) else ""
        entry, wide = _arm_entry(run_dir, arm, rows, edges, sampled)
        known = entry["server_requests"] is not None
        if known and name not in counted and not section.get("shadow"):
            _arm_check(entry, name, requests, telemetry, console)
        entry["server_cpu_percent_p95"] = _p95(wide, "server_cpu_percent")
        found[name] = entry
    telemetry["arms"] = found
    own_windows = read_parquet(control_windows)
    control = {
        "sampled": "control's server",  # as README: the control's server, sampled as any run's
        "server_requests": _server_requests(own_windows),
        "server_cpu_percent_p95": _p95(own_windows, "server_cpu_percent"),
        "self_check": telemetry.get("self_check") or {},
    }
    print_arm_telemetry(console, {arms[0]["name"]: control, **found})


def _arm_entry(
    run_dir: RunDir, arm: dict[str, Any], rows: Any, edges: Any, sampled: str
) -> tuple[dict[str, Any], Any]:
    """One arm's run.json ``telemetry.arms`` entry from its telemetry rows (the arm's own,
    sources without the ``arm:<name>:`` prefix, plus the host's) over the control's window
    ``edges`` (s); writes ``arm-<name>/telemetry_windows.parquet`` (never through a
    symlink). Returns (the entry without its self-check and CPU p95, the windows frame)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchctl.rundir import atomic_output
    from benchctl.telemetry.server_metrics import stages_exposed
    from benchctl.telemetry.session import WINDOWS
    from benchctl.telemetry.windows import telemetry_windows

    name, spec = arm["name"], arm.get("spec") or {}
    kind, model = str(spec.get("kind") or ""), spec.get("model")
    wide = telemetry_windows(rows, edges, kind, str(model) if model else None)
    folder = run_dir.path / f"arm-{name}"
    folder.mkdir(exist_ok=True)
    with atomic_output(folder / WINDOWS) as temporary:  # never through a symlink
        pq.write_table(pa.Table.from_pandas(wide, preserve_index=False), temporary)
    server = rows[rows["source"] == "server"]
    entry = {
        "sampled": sampled,
        "windows": f"arm-{name}/{WINDOWS}",
        "server_kind": kind,
        "server_metrics": stages_exposed(server, kind, str(model) if model else None),
        "server_requests": _server_requests(wide),
    }
    return entry, wide


def _server_requests(wide: Any) -> float | None:
    """The server's request count over a telemetry windows frame (None when it counted
    none: no ``server_requests`` column or no values)."""
    import pandas as pd

    counts = wide["server_requests"] if "server_requests" in wide else pd.Series(dtype=float)
    return float(counts.sum()) if counts.notna().any() else None


def _arm_check(
    entry: dict[str, Any], name: str, requests: Any, telemetry: dict[str, Any], console: Console
) -> None:
    """The arm's server request count against the requests sent to arm ``name``
    (telemetry/selfcheck.py): ``entry["self_check"]``; a warning goes to run.json telemetry
    ``warnings`` and the console."""
    from benchctl.telemetry.selfcheck import compare_counts

    mine = requests[requests["arm"] == name]
    check = compare_counts(float(entry["server_requests"]), len(mine), int(mine["ok"].sum()))
    entry["self_check"] = check
    if "warning" in check:
        telemetry.setdefault("warnings", []).append(f"arm {name}: {check['warning']}")
        print_arm_self_check(console, f"arm {name}", check["warning"])


def _p95(frame: Any, column: str) -> float | None:
    """Nearest-rank p95 of a telemetry windows column (None when it has no values)."""
    import numpy as np

    values = frame[column].dropna().to_numpy(dtype=float) if column in frame else []
    return float(np.percentile(values, 95, method="inverted_cdf")) if len(values) else None
