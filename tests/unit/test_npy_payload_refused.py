"""A ``payload.file`` ending .npy that is not NumPy's format (trial 8: ``echo hi >
garbage.npy``) got numpy's own "pickled data ... allow_pickle" advice, and only when the
run started: ``--dry-run`` accepted it, a ``--no-preflight`` run made a run directory that
failed. Now the file's header is read where the target is loaded: refused with one line
naming the flag, the field and the file, exit 2, in a dry run too, before any run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchctl.config import PayloadSpec
from benchctl.errors import InputError
from benchctl.targets.payload import tensors_from_file
from tests.unit.run_files import installed_benchctl

RUN = ("run", "steady", "--target", "kserve", "--rate", "5", "--duration", "3s")
FILE = ("--target-set", "payload.source=file", "--target-set")


def test_a_file_without_the_numpy_header_is_refused_in_a_dry_run_and_a_run(tmp_path: Path):
    """``hi\\n`` has no ``\\x93NUMPY`` magic: exit 2 with ``--dry-run`` and with
    ``--no-preflight`` (which reads no metadata), no traceback, no runs/ folder; a Python
    object array (``allow_pickle`` never set) is refused naming its dtype."""
    (tmp_path / "garbage.npy").write_text("hi\n")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    expected = (
        "field 'payload.file': garbage.npy ("
        f"{tmp_path / 'garbage.npy'}): not a NumPy .npy file (no \\x93NUMPY header)"
    )
    for extra in ("--dry-run", "--no-preflight"):
        done = installed_benchctl(*RUN, *FILE, "payload.file=garbage.npy", extra, cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert "--target-set" in done.stderr and expected in done.stderr
        assert "allow_pickle" not in done.stderr
    done = installed_benchctl(*RUN, *FILE, "payload.file=objects.npy", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert "objects.npy): holds Python objects (dtype object)" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_the_payload_reader_names_a_file_that_is_not_npy(tmp_path: Path) -> None:
    """The reader itself (for a file changed after the target was loaded): InputError with
    the path and the missing magic; a real .npy of shape (1, 4) still reads as FP32 [1, 4]."""
    bad = tmp_path / "garbage.npy"
    bad.write_text("hi\n")
    with pytest.raises(InputError, match=r"garbage\.npy: not a NumPy \.npy file \(no \\x93NUMPY"):
        tensors_from_file(PayloadSpec(source="file", file=bad))
    good = tmp_path / "good.npy"
    np.save(good, np.zeros((1, 4), dtype="float32"))
    (tensor,) = tensors_from_file(PayloadSpec(source="file", file=good))
    assert (tensor.datatype, tensor.shape) == ("FP32", [1, 4])
