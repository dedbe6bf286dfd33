"""Where `benchctl compare` writes its page, through the installed executable from a fresh
directory (fresh-user trial: it always wrote ./compare.html, silently replacing whatever was
there): by default into the last run's folder, named after the runs, the path printed;
never through a symlink (one stderr line, exit 2, the link's target untouched)."""

from __future__ import annotations

from pathlib import Path

from benchctl.reports.compare import MAX_NAME, default_output
from tests.e2e.helpers import benchctl
from tests.unit.test_gate import make_run


def test_default_page_goes_into_the_last_run_named_after_the_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "a", seed=1, requests=2_000)
    make_run(runs, "b", seed=2, requests=2_000)
    (tmp_path / "compare.html").write_text("mine")  # a file of the user's, here
    done = benchctl("compare", "runs/a", "runs/b", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.output()
    page = runs / "b" / "compare-a_vs_b.html"
    assert page.is_file() and "<svg" in page.read_text()
    assert "runs/b/compare-a_vs_b.html" in done.stdout.replace("\n", "")
    assert (tmp_path / "compare.html").read_text() == "mine"
    # the other order is another comparison, with its own page in the other run
    again = benchctl("compare", "runs/b", "runs/a", cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.output()
    assert (runs / "a" / "compare-b_vs_a.html").is_file() and page.is_file()


def test_a_symlink_in_its_place_is_refused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "a", seed=1, requests=2_000)
    make_run(runs, "b", seed=2, requests=2_000)
    target = tmp_path / "precious.txt"
    target.write_text("keep")
    (runs / "b" / "compare-a_vs_b.html").symlink_to(target)
    done = benchctl("compare", "runs/a", "runs/b", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.output()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is a symbolic link" in lines[0], done.output()
    assert "Traceback" not in done.stdout + done.stderr
    assert target.read_text() == "keep"
    given = benchctl("compare", "runs/a", "runs/b", "-o", "precious.txt", cwd=tmp_path)
    assert given.returncode == 0, given.output()  # a file the user names is replaced
    link = tmp_path / "link.html"
    link.symlink_to(target)
    refused = benchctl("compare", "runs/a", "runs/b", "-o", "link.html", cwd=tmp_path)
    assert refused.returncode == 2 and "is a symbolic link" in refused.stderr, refused.output()


def test_long_names_are_cut_with_a_hash(tmp_path: Path) -> None:
    """Eight runs of 60-character names: 8 + 8 x 60 + 7 x 4 = 516 characters, cut to
    MAX_NAME (200) with a 12-digit hash; two different sets differ."""
    names = [f"{i}{'x' * 59}" for i in range(8)]
    first = default_output([tmp_path / n for n in names])
    second = default_output([tmp_path / n for n in reversed(names)])
    assert first.parent == tmp_path / names[-1]
    assert len(first.stem) == MAX_NAME and first.name.endswith(".html")
    assert first.name != second.name
