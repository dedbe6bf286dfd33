"""Run loading for the gate and comparisons: a run directory (or one arm of a split run,
``RUN@ARM``) as run.json plus its requests, the baseline folder's usable runs, and the
candidate runs.

This is the one place the gate, ``benchctl compare`` and ``benchctl history`` read run
directories through (``LoadedRun``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchctl.analysis.request_reader import iter_batches, open_requests
from benchctl.errors import InputError
from benchctl.rundir import COMPLETED, REQUESTS, RUN_JSON, RunDir, list_runs
from benchctl.rundir.directory import not_a_run

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Only what the samples use: 19 bytes a request (10 million: 190 MB), no send lag.
_COLUMNS = ["t_intended", "latency_ms", "ok", "error", "phase"]
_NOT_COMPARED = {"description", "seed"}  # scenario fields that do not change the workload


@dataclass(frozen=True)
class LoadedRun:
    """run.json and the requests of one run directory (or one arm of a split run).

    The requests are not held: ``batches`` reads requests.parquet in batches (an arm's rows
    only), so the gate and ``compare`` keep per-window counts, not rows (issue 16);
    ``frame`` reads them into a DataFrame on first use (a split run's arm windows)."""

    path: Path
    info: dict[str, Any]
    requests: Path  # requests.parquet
    arm: str | None  # RUN@ARM: the arm whose rows are this run's; None: every row
    phases: tuple[tuple[str, float, float], ...]

    @property
    def id(self) -> str:
        """The run's id (run.json ``id``, else its folder name)."""
        return str(self.info.get("id") or self.path.name)

    @property
    def status(self) -> str:
        """run.json ``status`` (completed, interrupted, failed), else ``unknown``."""
        return str(self.info.get("status") or "unknown")

    @property
    def saturated(self) -> bool:
        """Whether the run's generator was saturated (run.json ``generator.saturated``)."""
        generator = _dict(self.info.get("generator"))
        return bool(generator.get("saturated") or self.info.get("generator_saturated"))

    def batches(
        self, columns: Iterable[str], equals: dict[str, str] | None = None
    ) -> Iterator[dict[str, np.ndarray]]:
        """This run's rows of requests.parquet in batches, as
        ``request_reader.iter_batches`` gives them (``equals``: its flag columns), an arm's
        rows only for ``RUN@ARM``. DamagedFileError (exit 2) if the file is unreadable."""
        columns = list(columns)
        if self.arm is None:
            yield from iter_batches(self.requests, columns, equals=equals)
            return
        key = f"arm=={self.arm}"
        for batch in iter_batches(
            self.requests, columns, equals={**(equals or {}), "arm": self.arm}
        ):
            mine = batch.pop(key)
            yield {name: values[mine] for name, values in batch.items()}

    @cached_property
    def rows(self) -> int:
        """How many requests the run (or arm) has."""
        if self.arm is None:
            return int(open_requests(self.requests, []).metadata.num_rows)
        return sum(len(batch["ok"]) for batch in self.batches(["ok"]))

    @property
    def empty(self) -> bool:
        """True when the run (or arm) has no requests."""
        return self.rows == 0

    @cached_property
    def t_max(self) -> float:
        """The latest intended send time (s) of the run's requests; NaN when none has one."""
        import numpy as np

        found = np.nan
        for batch in self.batches(["t_intended"]):
            times = batch["t_intended"]
            if len(times) and not np.isnan(times).all():
                found = float(np.nanmax(times)) if np.isnan(found) else max(found, np.nanmax(times))
        return float(found)

    @cached_property
    def phase_names(self) -> frozenset[str]:
        """The distinct phase names in the run's requests (an arm's rows only for RUN@ARM)."""
        names: set[str] = set()
        for batch in self.batches(["phase"]):
            names.update(str(name) for name in set(batch["phase"].tolist()) if name is not None)
        return frozenset(names)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The requests (t_intended, latency_ms, ok, error, phase) as a DataFrame, read on
        first use (an arm's rows only for ``RUN@ARM``); InputError if unreadable."""
        if self.arm is None:
            return _read_frame(self.requests, _COLUMNS)
        frame = _read_frame(self.requests, [*_COLUMNS, "arm"])
        mine = frame["arm"].astype(str) == self.arm
        return frame[mine].drop(columns="arm").reset_index(drop=True)


def run_key(info: dict[str, Any]) -> tuple[str, str]:
    """(scenario name, target name) of a run.json."""
    return str(_dict(info.get("scenario")).get("name")), str(_dict(info.get("target")).get("name"))


def started(info: dict[str, Any], path: Path) -> str:
    """Sort key: the engine's start time (ISO), else the run id (which starts with it)."""
    return str(_dict(info.get("engine")).get("started_at") or info.get("id") or path.name)


def run_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Why two runs' numbers are not comparable (empty list: they are): scenario name or
    spec, payload, host, time scale. Targets may differ: that is what one compares."""
    scenario_a, scenario_b = _dict(a.get("scenario")), _dict(b.get("scenario"))
    pairs = [
        ("scenario", scenario_a.get("name"), scenario_b.get("name")),
        ("time_scale", scenario_a.get("time_scale", 1.0), scenario_b.get("time_scale", 1.0)),
    ]
    if pairs[0][1] == pairs[0][2]:  # a different scenario differs in every field: say it once
        pairs += _field_pairs("scenario", scenario_a.get("spec"), scenario_b.get("spec"))
    payloads = [_dict(_dict(x.get("target")).get("spec")).get("payload") for x in (a, b)]
    pairs += _field_pairs("payload", *payloads)
    pairs += _field_pairs("host", a.get("host"), b.get("host"), ("hostname", "cpu_model", "cpus"))
    return [f"{name}: {x!r} vs {y!r}" for name, x, y in pairs if x != y]


def _field_pairs(
    prefix: str, a: Any, b: Any, keys: Sequence[str] | None = None
) -> list[tuple[str, Any, Any]]:
    a, b = _dict(a), _dict(b)
    names = keys if keys is not None else sorted((set(a) | set(b)) - _NOT_COMPARED)
    return [(f"{prefix}.{key}", a.get(key), b.get(key)) for key in names]


def split_arm(path: Path) -> tuple[Path, str | None]:
    """``RUN@ARM`` (one arm of a split run, ``benchctl run --split``): the run directory and
    the arm's name; any other path: itself and None."""
    path = Path(path)
    base, at, arm = str(path).rpartition("@")
    if at and arm and "/" not in arm and (Path(base) / RUN_JSON).is_file():
        return Path(base), arm
    return path, None


def load_run(path: Path) -> LoadedRun:
    """A run directory (or ``RUN@ARM``: one arm of a split run, its requests only);
    InputError (exit 2) if it is not one, or its requests.parquet is missing or cannot be
    opened (its rows are read later, in batches)."""
    given = Path(path)
    path, arm = split_arm(given)
    run_dir = RunDir.open(path)
    info = run_dir.read_json(RUN_JSON)
    if not isinstance(info, dict):
        raise InputError(f"{run_dir.file(RUN_JSON)}: not a run description (expected an object)")
    requests = run_dir.file(REQUESTS)
    if not requests.is_file():  # no request records: nothing to judge (bad input, exit 2)
        raise InputError(f"{requests}: missing: this run kept no request records")
    open_requests(requests, _COLUMNS if arm is None else [*_COLUMNS, "arm"])
    if arm is not None:
        info = _arm_info(info, arm, given, requests)
    phases = tuple(
        (str(p["name"]), float(p["start"]), float(p["end"]))
        for p in _dict(info.get("plan")).get("phases") or []
        if isinstance(p, dict) and {"name", "start", "end"} <= set(p)
    )
    return LoadedRun(given, info, requests, arm, phases)


def _read_frame(requests: Path, columns: list[str]) -> pd.DataFrame:
    """``columns`` of requests.parquet as a frame; InputError (one line) if unreadable."""
    import pyarrow as pa

    from benchctl.analysis.summary import read_requests

    try:
        return read_requests(requests, columns)
    except InputError:  # already one line naming the file
        raise
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{requests}: unreadable: {first}") from None


def _arm_info(info: dict[str, Any], arm: str, given: Path, requests: Path) -> dict[str, Any]:
    """The run.json of one arm of a split run: id ``<id>@<arm>`` and the arm's target;
    InputError when the run has no such arm."""
    names = [a.get("name") for a in _dict(info.get("arms")).get("arms") or []]
    if arm not in names:
        listed = ", ".join(map(str, names)) or "none: not a split run"
        raise InputError(f"{given}: no arm {arm!r} in this run (arms: {listed})")
    spec = next(a for a in info["arms"]["arms"] if a.get("name") == arm)
    target = {**_dict(info.get("target")), "name": arm, "spec": spec.get("spec")}
    return {**info, "id": f"{info.get('id') or requests.parent.name}@{arm}", "target": target}


def select_baseline(
    path: Path, candidate: LoadedRun, last: int, exclude: Sequence[Path] = ()
) -> tuple[list[LoadedRun], list[str]]:
    """One run directory, or the last ``last`` usable runs of the candidate's scenario and
    target in a folder (oldest first), with notes on the runs passed over. ``exclude``:
    more run directories that are not baseline (the other candidate runs)."""
    path = Path(path)
    if (path / RUN_JSON).is_file() or split_arm(path)[1] is not None:  # a run, or RUN@ARM
        run = load_run(path)
        notes = [] if run.status == COMPLETED else [f"baseline {run.id} is {run.status}"]
        return [run], notes
    folder = list_runs(path) if path.is_dir() else []
    if not folder:
        raise InputError(f"--baseline {not_a_run_folder(path)}")
    key = run_key(candidate.info)
    same = [
        (run_dir, info)
        for run_dir, info in folder
        if run_key(info) == key
        and run_dir.path.resolve() not in {p.resolve() for p in (candidate.path, *exclude)}
    ]
    passed_over, usable = [], []
    for run_dir, info in sorted(same, key=lambda item: started(item[1], item[0].path)):
        reason = unusable(run_dir, info)
        if reason:
            passed_over.append((started(info, run_dir.path), f"{run_dir.name} ({reason})"))
        else:
            usable.append((started(info, run_dir.path), run_dir.path))
    chosen, damaged = _load_newest(usable, last)
    if not chosen:
        raise InputError(
            f"--baseline {path}: no completed runs of scenario {key[0]!r} on target "
            f"{key[1]!r} to compare with" + " whose requests can be read" * bool(damaged)
        )
    first = started(chosen[0].info, chosen[0].path)
    skipped = [text for when, text in sorted(passed_over + damaged) if when >= first]
    notes = [f"baseline runs passed over: {', '.join(skipped)}"] if skipped else []
    return chosen, notes


def _load_newest(
    usable: Sequence[tuple[str, Path]], last: int
) -> tuple[list[LoadedRun], list[tuple[str, str]]]:
    """The newest ``last`` runs of ``usable`` ((start, run directory), oldest first) that
    load, oldest first; and (start, "NAME (requests.parquet unreadable)") for each newer
    one whose requests.parquet cannot be opened (damaged, truncated), passed over so one
    bad night does not stop every later gate."""
    loaded: list[LoadedRun] = []
    damaged: list[tuple[str, str]] = []
    for when, run_path in reversed(usable):
        if len(loaded) >= last:
            break
        try:
            loaded.append(load_run(run_path))
        except InputError:
            damaged.append((when, f"{run_path.name} ({REQUESTS} unreadable)"))
    return loaded[::-1], damaged


def unusable(run_dir: RunDir, info: dict[str, Any]) -> str:
    """Why a run cannot be part of a baseline or a history (not completed, generator
    saturated, no request records), as a short phrase; "" when it can."""
    if info.get("status") != COMPLETED:
        return str(info.get("status") or "no status")
    if _dict(info.get("generator")).get("saturated"):
        return "generator saturated"
    return "" if run_dir.file(REQUESTS).is_file() else f"no {REQUESTS}"


def load_candidates(paths: Path | Sequence[Path]) -> list[LoadedRun]:
    """The candidate runs, oldest first: each path is a run directory or a folder whose run
    directories are all taken. InputError (exit 2): nothing there, or runs of different
    scenarios or targets."""
    given = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not given:
        raise InputError("--candidate: give a run directory or a folder of runs")
    found: list[LoadedRun] = []
    for path in given:
        if (path / RUN_JSON).is_file() or split_arm(path)[1] is not None:
            found.append(load_run(path))
            continue
        inside = [load_run(run_dir.path) for run_dir, _ in list_runs(path)] if path.is_dir() else []
        if not inside:
            raise InputError(f"--candidate {not_a_run_folder(path)}")
        found += inside
    unique = {run.path.resolve(): run for run in found}
    runs = sorted(unique.values(), key=lambda run: started(run.info, run.path))
    keys = {run_key(run.info) for run in runs}
    if len(keys) > 1:
        listed = ", ".join(f"{s} on {t}" for s, t in sorted(keys))
        raise InputError(f"--candidate: runs of different scenarios or targets ({listed})")
    return runs


def not_a_run_folder(path: Path) -> str:
    """Why ``path`` is neither a run (nor ``RUN@ARM``) nor a folder of runs, naming what is
    expected; the text after ``--baseline``/``--candidate`` in gate's refusal."""
    if path.is_dir():
        return (
            f"{path}: not a benchctl run (no {RUN_JSON}) and no run directories in it; "
            "give a run directory, RUN@ARM or a folder of runs; `benchctl runs` lists the runs"
        )
    if not path.exists() and "@" not in path.name:
        return (
            f"{path}: no such folder: not a run directory nor a folder of runs; "
            "`benchctl runs` lists the runs"
        )
    return not_a_run(path, str(path))


def combined_candidate(runs: Sequence[LoadedRun]) -> LoadedRun:
    """The candidate for status rules: the first run not completed (else the first run);
    generator saturated if any run's generator was."""
    worst = next((run for run in runs if run.status != COMPLETED), runs[0])
    if len(runs) == 1 or worst.saturated or not any(run.saturated for run in runs):
        return worst
    generator = {**_dict(worst.info.get("generator")), "saturated": True}
    return replace(worst, info={**worst.info, "generator": generator})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
