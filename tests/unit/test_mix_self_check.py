"""The telemetry self-check of a model-mix run: the server's counters were scraped for one
model (run.json telemetry.server_metrics.model), so only that model's rows count."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchctl.telemetry.selfcheck import check_server_counts


def _mix_run(tmp_path: Path, models: list[str | None], server: float) -> Path:
    """Successful rows sent to ``models`` (None: a dropped arrival, which picked no model),
    one telemetry window with ``server`` requests counted, counts.sent = the rows sent."""
    errors = ["dropped" if m is None else None for m in models]
    pq.write_table(
        pa.table(
            {
                "ok": [m is not None for m in models],
                "error": errors,
                "model": pa.array(models, pa.string()).dictionary_encode(),
            }
        ),
        tmp_path / "requests.parquet",
    )
    pq.write_table(pa.table({"server_requests": [server]}), tmp_path / "telemetry_windows.parquet")
    sent = sum(m is not None for m in models)
    (tmp_path / "run.json").write_text(json.dumps({"counts": {"sent": sent}}))
    return tmp_path


def test_a_mix_is_checked_against_the_scraped_models_rows(tmp_path: Path):
    """600 rows: 450 to small, 150 to big, and 10 dropped; the server counted 449 requests of
    small (one in flight at the last scrape). Against small's 450 rows the band is 450 -
    max(2, ceil(4.5)) .. 450 + 5 = 445..455: they agree. Against all 600 sent (the old
    check) 449 < 600 - 6 was 'fewer than succeeded', a false warning on every mix run."""
    run = _mix_run(tmp_path, ["small"] * 450 + ["big"] * 150 + [None] * 10, 449.0)
    info: dict = {"server_metrics": {"requests": True, "model": "small"}}
    check = check_server_counts(run, info)
    assert check is not None
    assert (check["sent"], check["ok"], check["tolerance"]) == (450, 450, 5)
    assert (check["agree"], check["model"]) == (True, "small")
    assert "warnings" not in info
    # a server count far above small's rows (another client, or big's counters) still warns
    high = _mix_run(tmp_path, ["small"] * 450 + ["big"] * 150, 600.0)
    warned = check_server_counts(high, {"server_metrics": {"requests": True, "model": "small"}})
    assert warned["agree"] is False and "more than were sent" in warned["warning"]


def test_a_one_model_run_counts_every_row(tmp_path: Path):
    """A run whose rows all went to one model is not a mix: all 300 rows count (and the
    generator's counter), as before; 300 server requests agree."""
    run = _mix_run(tmp_path, ["mlp"] * 300, 300.0)
    check = check_server_counts(run, {"server_metrics": {"requests": True, "model": "mlp"}})
    assert (check["sent"], check["agree"]) == (300, True) and "model" not in check
