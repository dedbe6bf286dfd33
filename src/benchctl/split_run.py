"""``benchctl run ... --split A=95,B=5 [--users N]``: the run's hooks for arms.

run.py calls these at fixed points (resolve, preflight, launch, engine spec, stop, finish);
a plain run (no ``--split``) passes through each as a no-op. The arms model: splits.py;
the engine side: load/arms.py; the statistics: analysis/verdicts.py; each arm's server
telemetry: split_telemetry.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from benchctl import lifetime
from benchctl.analysis.shadow import SHADOW_PARTS, shadow_summary
from benchctl.analysis.verdicts import split_summaries
from benchctl.config import load_target
from benchctl.errors import InputError
from benchctl.rundir import REQUESTS, RUN_JSON, RunDir
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
    """Stop each launched arm server (``servers``: the launched server handles, each with ``stop()``
    and ``pid``; SIGTERM, then SIGKILL of its tree after its timeout) and tell the watchdog to
    forget its process group. Returns None; errors of ``stop`` propagate.
    """
    for server in servers:
        server.stop()
        lifetime.forget(server.pid)


def split_engine_spec(
    arms: list[Arm], options: Any, scenario: Any, run_dir: RunDir
) -> dict[str, Any]:
    """The engine spec's ``arms`` (each arm's bodies encoded once, as for a plain run); a
    shadow run's load processes write their pairs to ``shadow.parts/`` of the run."""
    from benchctl.batch import engine_requests

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
