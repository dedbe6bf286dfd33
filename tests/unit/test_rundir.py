"""benchctl.rundir: typed run.json/capacity.json models (round trip, migrations, damage in
one line), the lenient reader, and the one atomic writer's refusal to follow a symlink."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchctl.errors import InputError
from benchctl.load.records import RecordBuffer, to_table
from benchctl.rundir import (
    ABSENT,
    NOT_OBJECT,
    RUN_JSON,
    UNREADABLE,
    Capacity,
    RunDir,
    RunInfo,
    read_document,
    read_run_info,
    summary_overall,
    write_atomic,
    write_text_fallback,
)
from benchctl.rundir.parts import PartWriter, merge_parts

SRC = Path(__file__).resolve().parents[2] / "src" / "benchctl"


def _run_json() -> dict:
    """A run.json as ``benchctl run`` writes it today (run.py's record, then the end of the
    run's updates: counts, engine times, telemetry), with values of every kind it holds."""
    return {
        "schema_version": 1,
        "id": "20261129T204454Z-steady-t",
        "status": "completed",
        "reason": "",
        "command": ["benchctl", "run", "steady", "--target", "t", "--slo", "p99<=200ms"],
        "owner": {"pid": 4242, "started": 1764449094.25, "host": "h", "watchdog": None},
        "scenario": {
            "name": "steady",
            "file": "/x/scenarios/steady.yaml",
            "time_scale": 0.1,
            "spec": {"kind": "steady", "rate": 20.0, "duration": "30s", "warmup": "2s"},
        },
        "target": {
            "name": "t",
            "file": "t.yaml",
            "spec": {"kind": "kserve", "url": "http://127.0.0.1:8080", "model": "m"},
            "launched": None,
        },
        "plan": {
            "duration": 3.0,
            "expected_requests": 60,
            "open_loop": True,
            "phases": [
                {"name": "warmup", "start": 0.0, "end": 0.2},
                {"name": "steady", "start": 0.2, "end": 3.0},
            ],
            "curve": [[0.0, 20.0], [1.5, 20.0], [3.0, 20.0]],
        },
        "engine": {"workers": 1, "remote_workers": 0, "started_at": "2026-11-29T20:44:54+00:00"},
        "versions": {"benchctl": "0.1.0", "python": "3.12.3"},
        "host": {"cpus": 2, "platform": "Linux"},
        "counts": {"sent": 59, "dropped": 1, "rows": 60, "workers": {"worker-0": {"sent": 59}}},
        "telemetry": {"window_s": 5.0, "warnings": []},
    }


def _write_run(tmp_path: Path, info: dict) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / RUN_JSON).write_text(json.dumps(info, indent=2) + "\n")
    return run


# --------------------------------------------------------------------------- run.json


def test_run_json_as_written_today_round_trips_unchanged(tmp_path: Path):
    """Read into RunInfo and written back: the same JSON text, key order included."""
    info = _run_json()
    model = read_run_info(_write_run(tmp_path, info))
    assert json.dumps(model.to_json()) == json.dumps(info)
    assert model.schema_version == 1 and model.status == "completed"
    assert model.plan.phases[1].name == "steady" and model.plan.phases[1].end == 3.0
    assert model.counts.sent == 59 and isinstance(model.counts.sent, int)
    assert model.owner == info["owner"]  # an untyped section is kept as written


def test_run_json_without_schema_version_migrates_to_version_1(tmp_path: Path):
    """Runs written before schema_version existed: the same fields, version 1 in front."""
    info = _run_json()
    del info["schema_version"]
    run = _write_run(tmp_path, info)
    model = RunDir.open(run).info()
    assert model.schema_version == 1
    assert model.to_json() == {"schema_version": 1, **info}
    assert list(model.to_json())[:2] == ["schema_version", "id"]
    # the raw reader still gives the file as it is (nothing is rewritten by reading)
    assert "schema_version" not in RunDir.open(run).read_json(RUN_JSON)


def test_a_newer_schema_version_is_refused_and_an_unreadable_one_is_one_line(
    tmp_path: Path,
):
    """A run made by a later benchctl (schema_version 7 > 1, the newest this one reads) is
    refused in one line saying to upgrade, by the one reader every command uses; a
    schema_version that is not a whole number is damage, named in one line."""
    info = {**_run_json(), "schema_version": 7, "added_later": {"x": 1}}
    path = _write_run(tmp_path, info) / RUN_JSON
    with pytest.raises(InputError) as text:
        read_run_info(path.parent)
    assert str(text.value) == (
        f"{path}: schema_version 7 is newer than this benchctl reads (up to 1): upgrade benchctl"
    )
    with pytest.raises(InputError) as text:
        RunInfo.from_json({**info, "schema_version": "one"}, path)
    assert str(text.value) == (
        f"{path}: damaged: field 'schema_version' must be a whole number >= 0, got 'one'"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"plan": {"duration": math.nan}},
            "damaged: field 'plan.duration' must be a finite number, got nan",
        ),
        ({"scenario": ["steady"]}, "damaged: field 'scenario' must be an object, got ['steady']"),
        (
            {"counts": {"sent": "59"}},
            "damaged: field 'counts.sent' must be a number >= 0, got '59'",
        ),
    ],
)
def test_a_damaged_run_json_gives_the_same_line_through_every_reader(
    tmp_path: Path, change: dict, message: str
):
    """The typed reader reports field damage exactly as RunDir.read_json (and thus every
    command) does: one line naming the file and the field."""
    run = _write_run(tmp_path, {**_run_json(), **change})
    lines = []
    for read in (lambda: RunDir(run).read_json(RUN_JSON), lambda: read_run_info(run)):
        with pytest.raises(InputError) as error:
            read()
        lines.append(str(error.value))
    assert lines == [f"{run / RUN_JSON}: {message}"] * 2


def test_run_json_that_is_not_json_is_one_line_with_the_line_number(tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    (run / RUN_JSON).write_text('{\n  "id": "x",\n  oops\n}\n')
    with pytest.raises(InputError) as error:
        read_run_info(run)
    assert str(error.value) == (
        f"{run / RUN_JSON}:3: damaged: invalid JSON: Expecting property name enclosed in "
        "double quotes"
    )


# --------------------------------------------------------------------------- capacity.json


def test_capacity_version_2_round_trips_and_version_1_gets_its_headline():
    current = {
        "schema_version": 2,
        "run": "r",
        "slo": "p99<=200ms",
        "capacity_rps": 120.5,
        "capacity_band_rps": [110.0, 130.0],
        "bound": "measured",
        "single_replica": {"capacity_rps": 120.5, "lower_rps": 110.0, "upper_rps": 130.0},
        "cost": {"currency": "EUR", "per_million_at_capacity": 0.42},
        "autoscaling": {"skipped": "no traffic"},
    }
    assert Capacity.from_json(current).to_json() == current
    old = {
        "schema_version": 1,
        "slo": "p95<=50ms",
        "single_replica": {"capacity_rps": 80.0, "bound": "lower", "lower_rps": 80.0,
                           "upper_rps": 80.0},
    }  # fmt: skip
    model = Capacity.from_json(old)
    assert model.schema_version == 2
    assert (model.capacity_rps, model.bound, model.capacity_band_rps) == (80.0, "lower", [80, 80])
    assert model.number("capacity_rps") == 80.0 and model.section("cost") == {}
    damaged = Capacity.lenient({"schema_version": "x", "single_replica": {"capacity_rps": 3}})
    assert (damaged.number("capacity_rps"), damaged.bound) == (3.0, "measured")


# --------------------------------------------------------------------------- lenient reader


def test_read_document_says_why_there_is_no_object(tmp_path: Path):
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "summary.json").write_text('{"overall": {"count": 3}}')
    assert read_document(tmp_path / "none.json").problem == ABSENT
    assert read_document(tmp_path / "list.json").problem == NOT_OBJECT
    bad = read_document(tmp_path / "bad.json")
    assert bad.problem == UNREADABLE and bad.data is None and "line 1" in bad.detail
    assert bad.get() == {}
    assert summary_overall(tmp_path) == {"count": 3}
    assert summary_overall(tmp_path / "none") == {}


# --------------------------------------------------------------------------- the writer


def _outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside.txt"
    target.write_text("ORIGINAL\n")
    return target


def test_run_files_are_never_written_through_a_planted_symlink(tmp_path: Path):
    """run.json, summary.json via RunDir, a report via write_atomic: refused in one line, the
    link's target untouched, no temporary file left beside it."""
    target = _outside(tmp_path)
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    for name in ("run.json", "summary.json", "report.html"):
        (run.path / name).symlink_to(target)
    with pytest.raises(InputError, match="is a symbolic link; refusing to write through it"):
        run.write_json("run.json", {"id": "x"})
    with pytest.raises(InputError, match="is a symbolic link"):
        run.write_text("summary.json", "{}")
    with pytest.raises(InputError, match="is a symbolic link"):
        write_atomic(run.path / "report.html", "<html>")
    (run.path / "manifests").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(InputError, match="manifests: is a symbolic link"):
        run.write_text("manifests/hpa.yaml", "kind: HPA\n")
    assert target.read_text() == "ORIGINAL\n"
    assert sorted(p.name for p in run.path.iterdir()) == [
        "manifests", "report.html", "run.json", "summary.json"
    ]  # fmt: skip


def test_parts_and_their_merge_never_write_through_a_planted_symlink(tmp_path: Path):
    target = _outside(tmp_path)
    buffer = RecordBuffer()
    for i in range(3):
        buffer.add(0.1 * i, 0.1 * i, 0.1 * i + 0.01, 200, "", 10, 20)
    table = to_table(buffer.drain(), ["steady"], np.zeros(3, dtype=np.int8))
    parts = tmp_path / "requests.parts"
    parts.mkdir()
    (parts / "part-000000.parquet").symlink_to(target)  # where the first part would go
    writer = PartWriter(parts)  # numbering counts the link as a part: the next is 000001
    writer.write(table)
    assert writer.rows == 3 and (parts / "part-000001.parquet").is_file()
    (parts / "part-000000.parquet").unlink()
    (parts / "part-000002.parquet").symlink_to(target)
    with pytest.raises(InputError, match=r"part-000002\.parquet: is a symbolic link"):
        writer.write(table)
    (parts / "part-000002.parquet").unlink()
    merged = tmp_path / "requests.parquet"
    merged.symlink_to(target)
    with pytest.raises(InputError, match=r"requests\.parquet: is a symbolic link"):
        merge_parts(parts, merged)
    assert (parts / "part-000001.parquet").is_file()  # the parts stay when the merge fails
    merged.unlink()
    assert merge_parts(parts, merged) == 3 and not parts.exists()
    assert target.read_text() == "ORIGINAL\n"


def test_the_full_disk_fallback_replaces_a_link_without_following_it(tmp_path: Path):
    target = _outside(tmp_path)
    link = tmp_path / "run.json"
    link.symlink_to(target)
    write_text_fallback(link, '{"id": "x"}\n')
    assert not link.is_symlink() and link.read_text() == '{"id": "x"}\n'
    assert target.read_text() == "ORIGINAL\n"


# --------------------------------------------------------------------------- ownership


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_analysis_reports_telemetry_and_rundir_do_not_import_the_load_package():
    """The requests schema and the part writer live in rundir and the arrival plan in
    benchctl.plan, so nothing that reads a run imports the load engine's package."""
    importers = {}
    for package in ("analysis", "reports", "telemetry", "rundir"):
        for path in sorted((SRC / package).rglob("*.py")):
            load = {
                m for m in _imports(path) if m == "benchctl.load" or m.startswith("benchctl.load.")
            }
            if load:
                importers[str(path.relative_to(SRC))] = load
    assert importers == {}


def test_every_run_file_name_is_written_only_in_rundir_names():
    """No module outside benchctl.rundir spells a run file's name as a string literal
    (docstrings aside): each is declared once, in rundir/names.py."""
    from benchctl.rundir import names

    files = {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str) and "." in v}
    assert {"run.json", "requests.parquet", "summary.json", "capacity.json"} <= files
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "rundir" in path.relative_to(SRC).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        found += [
            f"{path.relative_to(SRC)}:{node.lineno} {node.value}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in files and id(node) not in docstrings
        ]
    assert found == []


# Reading a run file yourself, outside benchctl.rundir: pyarrow.parquet's readers (and
# pandas'), and json.load/json.loads of a file's text. Files that are not run files are
# named here with the reason.
_PARQUET_READERS = {"read_table", "ParquetFile", "read_schema", "read_metadata", "read_pandas"}
_NOT_RUN_FILES = {
    "targets/pool.py": "a user's payload Parquet file (payload.source: file)",
    "targets/payload.py": "a user's .json payload file",
    "targets/servers/torchserve_handler.py": "runs inside TorchServe: its model's settings",
}


def _own_run_file_reads(path: Path) -> list[str]:
    """Each place in ``path`` that opens a file with pyarrow.parquet's or pandas' readers,
    or parses a file's text with json (``json.load(f)``, ``json.loads(p.read_text())``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parquet, pandas = {"pyarrow.parquet"}, {"pandas"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "pyarrow.parquet" and alias.asname:
                    parquet.add(alias.asname)
                if alias.name == "pandas":
                    pandas.add(alias.asname or "pandas")
        elif isinstance(node, ast.ImportFrom) and node.module == "pyarrow":
            parquet.update(a.asname or a.name for a in node.names if a.name == "parquet")
        elif isinstance(node, ast.ImportFrom) and node.module == "pyarrow.parquet":
            found += [f"{node.lineno} from pyarrow.parquet import {a.name}" for a in node.names
                      if a.name in _PARQUET_READERS]  # fmt: skip
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner, name = ast.unparse(node.func.value), node.func.attr
        if (owner in parquet and name in _PARQUET_READERS) or (
            owner in pandas and name == "read_parquet"
        ):
            found.append(f"{node.lineno} {owner}.{name}")
        elif owner == "json" and name in ("load", "loads") and node.args:
            argument = node.args[0]
            reads = (
                isinstance(argument, ast.Call)
                and isinstance(argument.func, ast.Attribute)
                and argument.func.attr in ("read_text", "read_bytes")
            )
            if name == "load" or reads:
                found.append(f"{node.lineno} json.{name}({ast.unparse(argument)})")
    return found


def test_no_module_outside_rundir_reads_a_run_file_itself():
    """Every run file is read through benchctl.rundir's reader (read_parquet, read_table,
    parquet_columns, parquet_rows, open_parquet, read_json_file, read_document, ...), which
    says in one line which file is damaged and how; nothing else opens one with
    pyarrow.parquet, pandas or json."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] == "rundir" or relative.as_posix() in _NOT_RUN_FILES:
            continue
        found += [f"{relative}:{place}" for place in _own_run_file_reads(path)]
    assert found == []


def test_the_run_file_read_rule_catches_each_kind_of_own_read(tmp_path: Path):
    """The rule above is not vacuous: each way of reading a file yourself is found."""
    module = tmp_path / "m.py"
    module.write_text(
        "import json\nimport pandas as pd\nimport pyarrow.parquet as pq\n"
        "from pyarrow import parquet\nfrom pyarrow.parquet import read_schema\n"
        "a = pq.read_table('x')\nb = parquet.ParquetFile('x')\nc = pd.read_parquet('x')\n"
        "d = json.loads(p.read_text())\ne = json.load(f)\nf = json.loads(line)\n"
        "pq.write_table(t, 'x')\n"
    )
    assert [place.split()[0] for place in _own_run_file_reads(module)] == [
        "5", "6", "7", "8", "9", "10"
    ]  # fmt: skip


def test_the_table_readers_name_the_file_and_the_problem_in_one_line(tmp_path: Path):
    """read_table (optionally as a schema), parquet_columns and parquet_rows read what was
    written; a missing, non-Parquet or short-of-columns file is one DamagedFileError line;
    read_optional_parquet says absent or unreadable instead of raising."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchctl.rundir import (
        DamagedFileError,
        parquet_columns,
        parquet_rows,
        read_optional_parquet,
        read_parquet,
        read_table,
    )

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), path)
    assert parquet_columns(path) == ["a", "b"] and parquet_rows(path) == 3
    assert read_table(path, ["b"]).column("b").to_pylist() == ["x", "y", "z"]
    wide = pa.schema([pa.field("a", pa.float64()), pa.field("b", pa.string())])
    assert read_table(path, schema=wide).schema.field("a").type == pa.float64()
    assert read_parquet(path, ["a"])["a"].tolist() == [1, 2, 3]
    assert read_optional_parquet(path).frame["a"].tolist() == [1, 2, 3]
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    for reader in (parquet_columns, parquet_rows, read_table, read_parquet):
        with pytest.raises(DamagedFileError) as caught:
            reader(bad)
        assert str(caught.value).startswith(f"{bad}: damaged: not a readable Parquet file (")
        assert "\n" not in str(caught.value)
        with pytest.raises(DamagedFileError, match=r"missing$"):
            reader(tmp_path / "absent.parquet")
    with pytest.raises(DamagedFileError, match=r"lacks column c \(has a, b\)$"):
        read_table(path, ["a", "c"])
    assert read_optional_parquet(tmp_path / "absent.parquet").problem == ABSENT
    damaged = read_optional_parquet(bad)
    assert damaged.problem == UNREADABLE and damaged.frame is None and damaged.error is not None
