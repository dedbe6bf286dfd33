"""``benchctl run`` with an SLO: the whole job in one command.

* ``benchctl run capacity --target T --slo "p99<=100ms"``: a capacity search (see
  ``benchctl.search``), then its analysis.
* ``benchctl run SCENARIO --slo ...`` (or a scenario's ``slo:`` field) for an arrival-rate
  scenario: a capacity search on the same target first, then the scenario's traffic, then
  the analysis (capacity from the search, autoscaling against the scenario's traffic) and
  the report; the run ends by printing replicas, autoscaler settings and cost.
* anything else: the plain ``benchctl.run.run``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from benchctl.analysis.slo import Slo, parse_slo
from benchctl.config import (
    BatchScenario,
    CapacityScenario,
    SweepScenario,
    load_scenario,
    load_target,
)
from benchctl.errors import InputError
from benchctl.reports.terminal.search import (
    print_no_level_met,
    print_now_playing,
    print_search_not_completed,
)
from benchctl.run import RunOptions, RunResult, run
from benchctl.search.results import unsettled_note
from benchctl.split_run import refuse_slo_with_arms

CAPACITY_SCENARIO = "capacity"


@dataclass(frozen=True)
class AnswerOptions:
    """What ``run`` adds when it should end with an answer."""

    slo: str | None = None
    price_per_hour: float | None = None
    currency: str = "USD"
    peak_rps: float | None = None


def run_with_answer(
    options: RunOptions, answer: AnswerOptions, *, console: Console | None = None
) -> tuple[RunResult, Path | None]:
    """Run as asked; returns the run's result and the report written (None when none was).

    Raises InputError for an SLO that does not parse, a capacity search without an SLO,
    ``--slo`` on a closed-loop scenario, or remote workers for a capacity search.
    """
    console = console or Console()
    scenario, scenario_file = options.load_scenario()
    text = answer.slo or getattr(scenario, "slo", None)
    refuse_slo_with_arms(  # --split/--shadow: one line (split_run.py)
        options,
        text,
        from_scenario=answer.slo is None,
        capacity=isinstance(scenario, CapacityScenario),
    )
    if isinstance(scenario, CapacityScenario):
        slo = _slo(text, "a capacity search needs an SLO: --slo 'p99<=100ms' (or slo: in")
        search = _search(options, scenario, scenario_file.stem, slo, console)
        if options.dry_run:
            return RunResult(status="planned"), None
        result = RunResult(search.status, search.run_dir, reason=search.stop_reason)
        if search.best_good_rps is None:
            print_no_level_met(console, slo, search.stop_reason + unsettled_note(search.levels))
            return result, None
        return result, _analyze_and_report(search.run_dir, slo, answer, console)
    if text is None:
        return run(options, console=console), None
    if isinstance(scenario, SweepScenario | BatchScenario):
        what = (
            "a closed-loop sweep"
            if isinstance(scenario, SweepScenario)
            else ("an offline batch (throughput and cost of a finite set, no latency SLO)")
        )
        raise InputError(
            f"--slo needs an arrival-rate scenario (steady, ramp, step, spike, soak, replay); "
            f"{scenario_file.stem} is {what}: run it without --slo"
            + (", then benchctl analyze --slo" if isinstance(scenario, SweepScenario) else "")
        )
    slo = _slo(text, "--slo")
    capacity, _ = load_scenario(CAPACITY_SCENARIO, config_dir=options.config_dir)
    assert isinstance(capacity, CapacityScenario)
    if options.dry_run:  # the search that runs first, then the scenario's plan
        _search_dry_run(options, scenario, scenario_file.stem, capacity, slo, console)
        return run(options, console=console), None
    search = _search(options, capacity, CAPACITY_SCENARIO, slo, console)
    if search.status != "completed" or search.best_good_rps is None:
        reason = (search.stop_reason or "no level met the SLO") + unsettled_note(search.levels)
        print_search_not_completed(console, search.status, reason)
        return RunResult(search.status, search.run_dir, reason=reason), None
    print_now_playing(console, scenario_file.stem)
    result = run(options, console=console)
    if result.run_dir is None:
        return result, None
    _link_search(result.run_dir, search.run_dir)
    return result, _analyze_and_report(result.run_dir, slo, answer, console)


def _search_dry_run(
    options: RunOptions,
    scenario: Any,
    name: str,
    capacity: CapacityScenario,
    slo: Slo,
    console: Console,
) -> None:
    """``run SCENARIO --slo ... --dry-run``: the stages and their longest time in all, and
    the capacity search's plan line (the scenario's own plan follows, from ``run``)."""
    from benchctl.plan.shapes import plan_scenario
    from benchctl.reports.terminal.search import (
        print_search_plan,
        print_slo_run_plan,
        search_longest_s,
    )

    traffic_s = plan_scenario(scenario, options.time_scale).duration
    print_slo_run_plan(console, name, slo, search_longest_s(capacity), traffic_s)
    print_search_plan(console, capacity)


def _slo(text: str | None, missing: str) -> Slo:
    if text is None:
        raise InputError(f"{missing} the scenario)")
    return parse_slo(text)


def _search(
    options: RunOptions, scenario: CapacityScenario, name: str, slo: Slo, console: Console
) -> Any:
    from benchctl.search import run_search, search_dry_run

    if options.remote_workers:
        raise InputError(
            "--remote-workers is not supported by the capacity search (levels are started "
            "locally); use --workers N"
        )
    if options.dry_run:
        search_dry_run(scenario, console)
        from benchctl.search import SearchResult

        return SearchResult("planned", Path("."), [], "dry run", None, None)
    target, target_file = load_target(
        options.target, config_dir=options.config_dir, overrides=options.target_overrides
    )
    return run_search(
        scenario,
        name,
        target,
        target_file.stem,
        slo,
        runs_dir=options.runs_dir,
        launch=options.launch,
        workers=options.workers,
        telemetry_options=options.telemetry,
        command=options.command,
        console=console,
    )


def _link_search(run_dir: Path, search_dir: Path) -> None:
    from benchctl.rundir import RunDir
    from benchctl.rundir.search_link import search_reference

    RunDir.open(run_dir).update_run(capacity_search=search_reference(search_dir))


def _analyze_and_report(run_dir: Path, slo: Slo, answer: AnswerOptions, console: Console) -> Path:
    from benchctl.analysis.capacity import AnalyzeOptions, analyze_run
    from benchctl.reports.html import write_report
    from benchctl.reports.terminal.answer import print_answer, print_final_answer
    from benchctl.rundir import RunDir

    run_dir_obj = RunDir.open(run_dir)
    shared = {k: v for k, v in dataclasses.asdict(answer).items() if k != "slo"}
    document = analyze_run(run_dir_obj, AnalyzeOptions(slo=slo, **shared))  # price, peak
    report = write_report(run_dir)  # files first: a closed stdout (`| head`) cannot cost it
    print_answer(console, run_dir_obj, document)
    print_final_answer(console, document, report)
    return report
