"""``benchctl run ... --split A=95,B=5 [--users N]``: the run's hooks for arms.

run.py calls these at fixed points (resolve, preflight, launch, engine spec, stop, finish);
a plain run (no ``--split``) passes through each as a no-op. The arms model: splits.py;
the engine side: load/arms.py; the statistics: analysis/verdicts.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchctl import lifetime
from benchctl.analysis.shadow import SHADOW_PARTS, shadow_lines, shadow_summary
from benchctl.analysis.verdicts import METRICS, split_summaries
from benchctl.config import BatchScenario, load_target
from benchctl.errors import InputError
from benchctl.rundir import REQUESTS, RUN_JSON, TELEMETRY_WINDOWS, RunDir
from benchctl.splits import (
    Arm,
    check_users,
    engine_arms,
    launch_arms,
    parse_split,
    public_arms,
    resolve_arms,
)
from benchctl.targets.adapter import adapter_for


def split_arms(options: Any, target: Any, target_file: Path) -> list[Arm]:
    """The arms of ``--split`` (control first, every target resolved), or [] without it.
    InputError for a bad ``--split``/``--users`` or an unknown profile."""
    users = check_users(options.users)
    shadow = getattr(options, "shadow", None)
    if shadow:
        if options.split or users is not None:
            raise InputError("--shadow: give either --shadow or --split (and --users), not both")
        if shadow == target_file.stem:
            raise InputError(f"--shadow: {shadow!r} is the --target itself; name another profile")
        if options.remote_workers:
            raise InputError(
                "--shadow works with --workers, not with --remote-workers (each load "
                "process writes its request pairs to the run directory on this host)"
            )
        target_shadow, shadow_file = load_target(shadow, config_dir=options.config_dir)
        return [Arm(target_file.stem, 1.0, target, target_file),
                Arm(shadow, 1.0, target_shadow, shadow_file)]  # fmt: skip
    if not options.split:
        if users is not None:
            raise InputError("--users needs --split (users are pinned to arms)")
        return []
    split = parse_split(options.split, target_file.stem)

    def load(name: str) -> tuple[Any, Path]:
        return load_target(name, config_dir=options.config_dir)

    return resolve_arms(split, load, target, target_file)


def refuse_slo_with_arms(
    options: Any, slo: str | None, *, from_scenario: bool, capacity: bool
) -> None:
    """``--slo`` (or a scenario's ``slo:``, or the capacity scenario) with ``--split`` or
    ``--shadow``: InputError (one line, exit 2) before anything is launched or sent. The
    answer of ``--slo`` is one target's capacity from a search on that target; a split run's
    arms are several targets sharing one scenario's traffic, so sizing the control alone
    against all of it would be wrong. Per-arm SLO checks: ``benchctl compare RUN@A RUN@B
    --slo ...``. Nothing happens without arms or without an SLO."""
    flag = "--split" if options.split else "--shadow" if getattr(options, "shadow", None) else ""
    if not flag or (slo is None and not capacity):
        return
    given = (
        "a capacity search"
        if capacity
        else f"the scenario's slo: {slo!r}"
        if from_scenario
        else f"--slo {slo!r}"
    )
    raise InputError(
        f"{flag}: {given} sizes one target, not the arms of a split run; run the split "
        "without an SLO, then `benchctl compare RUN@ARM_A RUN@ARM_B --slo ...` checks each "
        "arm against it (or run --slo on each arm's profile)"
    )


def check_arms(arms: list[Arm], options: Any, launcher: Any) -> None:
    """The arms after the control: launchable with ``--launch``, else ready now."""
    for arm in arms[1:]:
        if options.launch:
            launcher(arm.target)
        elif options.preflight:
            adapter_for(arm.target.protocol).check_ready(arm.target, f"arm {arm.name!r}")


def start_arms(
    arms: list[Arm],
    control: Any,
    options: Any,
    servers: list[Any],
    run_dir: RunDir,
    console: Console,
    launch: Any,
) -> list[Arm]:
    """The arms with the control's (possibly launched) target; with ``--launch`` every other
    arm launched on its own free ports (appended to ``servers`` as each starts) and checked
    ready; run.json's ``arms`` updated with their addresses."""
    arms = [Arm(arms[0].name, arms[0].weight, control, arms[0].file), *arms[1:]]
    if not options.launch:
        return arms

    def start(arm: Arm) -> tuple[Any, Any]:
        # each arm's server logs in its own folder (arm-<name>/) of the run directory
        server, launched = launch(arm.target, _ArmFolder(run_dir.path / f"arm-{arm.name}"), console)
        adapter_for(launched.protocol).check_ready(launched, f"launched arm {arm.name!r}")
        return server, launched

    arms = launch_arms(arms, start, servers)
    from benchctl.run import _public_target

    run_dir.update_run(arms=public_arms(arms, options.users, _public_target, options.shadow))
    return arms


class _ArmFolder:
    """What run._launch needs of a run directory (``path``: where the server logs)."""

    def __init__(self, path: Path) -> None:
        self.path = path


def stop_arm_servers(servers: list[Any]) -> None:
    for server in servers:
        server.stop()
        lifetime.forget(server.pid)


def split_engine_spec(
    arms: list[Arm], options: Any, scenario: Any, run_dir: RunDir
) -> dict[str, Any]:
    """The engine spec's ``arms`` (each arm's bodies encoded once, as for a plain run); a
    shadow run's load processes write their pairs to ``shadow.parts/`` of the run."""
    from benchctl.batch import engine_requests

    if isinstance(scenario, BatchScenario):
        raise InputError("--split/--shadow: a batch scenario sends a finite set once")
    requests = [engine_requests(scenario, arm.target) for arm in arms]
    spec = engine_arms(arms, options.users, requests, int(getattr(scenario, "seed", 1)))
    if options.shadow:
        spec.update(shadow=True, shadow_dir=str((run_dir.path / SHADOW_PARTS).resolve()))
    return spec


def split_summary(
    run_dir: RunDir, phases: list[dict[str, Any]], *, end: float | None
) -> dict[str, Any]:
    """summary.json's ``split`` section for a split run; {} for a plain run."""
    section = run_dir.read_json(RUN_JSON).get("arms") or {}
    arms = section.get("arms")
    if not arms:
        return {}
    if section.get("shadow"):
        return {"shadow": shadow_summary(run_dir, arms[0]["name"], section["shadow"])}
    names = [a["name"] for a in arms]
    found = split_summaries(run_dir.path / REQUESTS, phases, names, end=end)
    return {"split": found} if found else {}


def print_split(console: Console, summary: dict[str, Any]) -> None:
    """Arms side by side, then each arm's verdict against the control, per metric (a shadow
    run: its pairs' latency difference and output agreement)."""
    if summary.get("shadow"):
        for line in shadow_lines(summary["shadow"]):
            console.print(line, highlight=False)
    split = summary.get("split")
    if not split:
        return
    table = Table(title="arms (control first)")
    for column in ("arm", "share", "sent", "error rate", "ok/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for name, arm in split["arms"].items():
        latency = arm.get("latency_ms") or {}
        table.add_row(
            name,
            f"{arm['share']:.1%}",
            f"{arm['sent']:,}",
            _fmt(arm.get("error_rate"), "{:.2%}"),
            _fmt(arm.get("throughput_rps"), "{:.1f}"),
            _fmt(latency.get("p50"), "{:.2f}"),
            _fmt(latency.get("p99"), "{:.2f}"),
        )
    console.print(table)
    verdicts = Table(title=f"canary verdicts vs {split['control']}")
    for column in ("arm", "metric", "effect", "interval", "p-value", "class"):
        verdicts.add_column(column)
    for name, verdict in split["verdicts"].items():
        for metric in METRICS:
            m = verdict["metrics"].get(metric, {})
            ci = m.get("ci")
            verdicts.add_row(
                name,
                metric,
                _fmt(m.get("effect"), "{:+.4g}"),
                f"[{ci[0]:+.4g}, {ci[1]:+.4g}]" if ci else "",
                _fmt(m.get("p_value"), "{:.3g}"),
                m.get("class", ""),
            )
        score = verdict["score"]
        verdicts.add_row(
            name,
            "[bold]score[/]",
            "" if score is None else f"{score:.0f}%",
            "",
            "",
            f"[bold]{verdict['verdict']}[/]",
        )
    console.print(verdicts)


def _fmt(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)


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
    import pandas as pd
    import pyarrow.parquet as pq

    from benchctl.telemetry.selfcheck import compare_counts

    windows = run_dir.path / TELEMETRY_WINDOWS
    requests = run_dir.path / REQUESTS
    exposed = telemetry.get("server_metrics") or {}
    if not exposed.get("requests") or not windows.is_file() or not requests.is_file():
        return
    counts = pq.read_table(windows, columns=["server_requests"]).to_pandas()["server_requests"]
    if counts.isna().all():
        return
    served = _same_server(section["arms"])
    frame = pq.read_table(requests, columns=["ok", "arm"]).to_pandas()
    mine = frame[frame["arm"].astype(str).isin(served)]  # dropped arrivals have no arm
    result = compare_counts(float(pd.to_numeric(counts).sum()), len(mine), int(mine["ok"].sum()))
    telemetry["self_check"] = {**result, "arms": served}
    if "warning" in result:
        telemetry.setdefault("warnings", []).append(result["warning"])
        names = ", ".join(served)
        console.print(f"[yellow bold]telemetry self-check[/] (arms {names}): {result['warning']}")


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
        return [
            (t, self.prefix + source, m, tag, v) for t, source, m, tag, v in self.inner.sample(now)
        ]

    def close(self) -> None:
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
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchctl.rundir import atomic_output
    from benchctl.telemetry.selfcheck import compare_counts
    from benchctl.telemetry.server_metrics import stages_exposed
    from benchctl.telemetry.session import TELEMETRY, WINDOW_S, WINDOWS
    from benchctl.telemetry.windows import read_telemetry, telemetry_windows

    section = run_dir.read_json(RUN_JSON).get("arms") or {}
    arms = section.get("arms") or []
    raw_path, control_windows = run_dir.path / TELEMETRY, run_dir.path / WINDOWS
    if len(arms) < 2 or not telemetry.get("samplers") or not control_windows.is_file():
        return  # not a split run, or telemetry off (--no-telemetry)
    raw = read_telemetry(raw_path)
    starts = pq.read_table(control_windows, columns=["t"]).column("t").to_numpy()
    if not len(starts):
        return
    edges = np.append(starts, starts[-1] + WINDOW_S)
    requests = pq.read_table(run_dir.path / REQUESTS, columns=["ok", "arm"]).to_pandas()
    requests["arm"] = requests["arm"].astype(str)
    shared = set(_same_server(arms, same_model=False))  # scraped with the control's
    counted = set(_same_server(arms))  # counted in the control's self-check
    common = raw[raw["source"].isin(["host", "gpu", "generator", "telemetry"])]
    found: dict[str, Any] = {}
    for arm in arms[1:]:
        name, spec = arm["name"], arm.get("spec") or {}
        kind, model = str(spec.get("kind") or ""), spec.get("model")
        prefix = ARM_SOURCE.format(name=name)
        own = raw[raw["source"].str.startswith(prefix)]
        own = own.assign(source=own["source"].str.slice(len(prefix)))
        parts = [common, own]
        if name in shared:  # the control's server: its samples, this arm's model's series
            parts += [raw[raw["source"].isin(["server", "server_process"])]]
        rows = pd.concat(parts, ignore_index=True)
        wide = telemetry_windows(rows, edges, kind, str(model) if model else None)
        folder = run_dir.path / f"arm-{name}"
        folder.mkdir(exist_ok=True)
        with atomic_output(folder / WINDOWS) as temporary:  # never through a symlink
            pq.write_table(pa.Table.from_pandas(wide, preserve_index=False), temporary)
        server = rows[rows["source"] == "server"]
        entry: dict[str, Any] = {
            "sampled": "control's server" if name in shared else "own server" if len(own) else "",
            "windows": f"arm-{name}/{WINDOWS}",
            "server_kind": kind,
            "server_metrics": stages_exposed(server, kind, str(model) if model else None),
        }
        counts = wide["server_requests"] if "server_requests" in wide else pd.Series(dtype=float)
        entry["server_requests"] = float(counts.sum()) if counts.notna().any() else None
        if counts.notna().any() and name not in counted and not section.get("shadow"):
            mine = requests[requests["arm"] == name]
            check = compare_counts(float(counts.sum()), len(mine), int(mine["ok"].sum()))
            entry["self_check"] = check
            if "warning" in check:
                telemetry.setdefault("warnings", []).append(f"arm {name}: {check['warning']}")
                console.print(
                    f"[yellow bold]telemetry self-check[/] (arm {name}): {check['warning']}"
                )
        entry["server_cpu_percent_p95"] = _p95(wide, "server_cpu_percent")
        found[name] = entry
    telemetry["arms"] = found
    own = pq.read_table(control_windows).to_pandas()
    counts = own["server_requests"] if "server_requests" in own else pd.Series(dtype=float)
    control = {
        "sampled": "run's server",
        "server_requests": float(counts.sum()) if counts.notna().any() else None,
        "server_cpu_percent_p95": _p95(own, "server_cpu_percent"),
        "self_check": telemetry.get("self_check") or {},
    }
    _print_arm_telemetry(console, {arms[0]["name"]: control, **found})


def _p95(frame: Any, column: str) -> float | None:
    """Nearest-rank p95 of a telemetry windows column (None when it has no values)."""
    import numpy as np

    values = frame[column].dropna().to_numpy(dtype=float) if column in frame else []
    return float(np.percentile(values, 95, method="inverted_cdf")) if len(values) else None


def _print_arm_telemetry(console: Console, arms: dict[str, Any]) -> None:
    """One row per arm (control first): where its server numbers come from, the server's
    request count, the requests sent to the arm (when self-checked), server CPU p95."""
    table = Table(title="server telemetry per arm")
    for column in ("arm", "sampled", "server requests", "sent", "server CPU p95"):
        table.add_column(column, justify="left" if column in ("arm", "sampled") else "right")
    for name, entry in arms.items():
        table.add_row(
            name,
            entry["sampled"] or "-",
            _fmt(entry.get("server_requests"), "{:,.0f}"),
            _fmt((entry.get("self_check") or {}).get("rows"), "{:,}"),
            _fmt(entry.get("server_cpu_percent_p95"), "{:.0f}%"),
        )
    console.print(table)
