"""run.json's ``capacity_search`` reference (rundir.search_link): written as the search's
folder name, found next to the run first, so a moved or copied pair reads its own search."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.errors import InputError
from benchctl.rundir.search_link import resolve_search, search_reference

SEARCH_NAME = "20261130T153810Z-capacity-kserve"


def _search(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "search.json").write_text("{}")
    return folder


def test_the_reference_is_the_folder_name(tmp_path: Path) -> None:
    assert search_reference(tmp_path / "runs" / SEARCH_NAME) == {"run": SEARCH_NAME}


def test_a_moved_pair_reads_the_sibling_not_the_recorded_original(tmp_path: Path) -> None:
    """An old absolute reference whose original still exists: the copy's sibling wins."""
    original = _search(tmp_path / "runs" / SEARCH_NAME)
    copy = _search(tmp_path / "archive" / SEARCH_NAME)
    run = tmp_path / "archive" / "20261130T154024Z-spike-kserve"
    assert resolve_search(run, str(original)) == (copy.resolve(), None)
    assert resolve_search(run, SEARCH_NAME) == (copy.resolve(), None)


def test_no_sibling_reads_the_recorded_path_and_says_so(tmp_path: Path) -> None:
    original = _search(tmp_path / "runs" / SEARCH_NAME)
    run = tmp_path / "alone" / "20261130T154024Z-spike-kserve"
    path, note = resolve_search(run, str(original))
    assert path == original.resolve()
    assert note is not None and str(original.resolve()) in note and "next to this run" in note


def test_no_search_anywhere_is_one_line_saying_what_to_copy(tmp_path: Path) -> None:
    run = tmp_path / "alone" / "r1"
    with pytest.raises(InputError) as raised:
        resolve_search(run, SEARCH_NAME)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{run}/run.json: capacity_search.run")
    assert f"copy the search run '{SEARCH_NAME}' into {tmp_path / 'alone'}" in message
