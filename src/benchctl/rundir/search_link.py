"""run.json's ``capacity_search`` reference: the capacity search a ``run SCENARIO --slo``
run takes its capacity from.

The pair is made side by side in one runs folder, and is copied or moved as a pair (a CI
artifact, ``mv runs archive/``), so the reference is the search's folder name
(``{"run": "20261130T153810Z-capacity-kserve"}``) and is looked up next to the run first.
Runs written before this held an absolute path: its last part is looked up next to the run
first too, and the recorded path only when no such sibling exists (the answer then says
which folder it read), so a moved copy never silently reads the original's search.
"""

from __future__ import annotations

from pathlib import Path

from benchctl.errors import InputError
from benchctl.rundir.names import RUN_JSON, SEARCH


def search_reference(search_dir: Path) -> dict[str, str]:
    """The ``capacity_search`` object to record in a run's run.json for ``search_dir``, a
    folder next to the run (same runs folder): ``{"run": <its folder name>}``."""
    return {"run": Path(search_dir).name}


def resolve_search(run_dir: Path, linked: str) -> tuple[Path, str | None]:
    """The capacity search folder run.json's ``capacity_search.run`` (``linked``) names,
    and a note for the answer's warnings when it is not the sibling (else None).

    ``run_dir``: the run's folder. Looked up as ``run_dir``'s sibling with ``linked``'s last
    part as its name, then as recorded (absolute; relative to ``run_dir``). Raises
    InputError (one line naming run.json, the field and what to do) when neither holds a
    search.json."""
    run_dir = Path(run_dir)
    name = Path(linked).name
    sibling = run_dir.parent / name
    if name and (sibling / SEARCH).is_file():
        return sibling.resolve(), None
    recorded = Path(linked)
    if not recorded.is_absolute():
        recorded = run_dir / recorded
    if (recorded / SEARCH).is_file():
        note = (
            f"capacity search read from {recorded.resolve()} (the path run.json records): "
            f"no {name!r} next to this run in {run_dir.parent}"
        )
        return recorded.resolve(), note
    raise InputError(
        f"{run_dir}/{RUN_JSON}: capacity_search.run {linked!r}: no capacity search "
        f"{name!r} with a {SEARCH} next to this run: copy the search run {name!r} into "
        f"{run_dir.parent} (runs made with --slo come in pairs)"
    )
