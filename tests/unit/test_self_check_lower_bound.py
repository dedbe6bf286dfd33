"""The telemetry self-check when run.json's ``counts.sent`` is a lower bound
(``sent_is_lower_bound``: a load process died before its final report, so what it sent
after its last report is counted nowhere): a server count above ``sent`` is explained by
those requests, noted, and never blamed on another client; the lower end still holds."""

from __future__ import annotations

import json
from pathlib import Path

from benchctl.telemetry.selfcheck import check_server_counts, compare_counts
from tests.unit.test_server_counters import _counted_run

EXPOSED = {"server_metrics": {"requests": True}}


def _bound(run: Path, sent: int) -> None:
    """run.json counts as run_finish writes them for a worker that died."""
    counts = {"sent": sent, "sent_is_lower_bound": True, "sent_bound": "worker-1 died"}
    (run / "run.json").write_text(json.dumps({"counts": counts}))


def test_a_server_count_above_a_lower_bound_is_noted_not_another_client(tmp_path: Path) -> None:
    """551 rows, counts.sent >= 570, server 600. Exact sent: band 551 - 6 .. 570 + 6 =
    545..576 (tolerance max(2, ceil(1% of 570)) = 6) and 600 would blame another client;
    with the lower bound the 30 above 570 are the dead worker's unreported requests."""
    run = _counted_run(tmp_path, 551, [600.0], 570)
    exact = check_server_counts(run, dict(EXPOSED))
    assert exact["agree"] is False and "another client" in exact["warning"]
    _bound(run, 570)
    info = dict(EXPOSED)
    check = check_server_counts(run, info)
    assert (check["server_requests"], check["sent"], check["agree"]) == (600, 570, True)
    assert check["sent_is_lower_bound"] is True and "warning" not in check
    assert "warnings" not in info
    assert check["note"] == (
        "the server counted 600 requests, 30 more than the at least 570 sent: a load process "
        "died, and what it sent after its last report is counted nowhere (sent is a lower "
        "bound), not another client"
    )


def test_the_bound_passed_in_at_the_runs_end_counts_the_same(tmp_path: Path) -> None:
    """At the run's end run.json has no counts yet: run_finish passes sent and the bound."""
    run = _counted_run(tmp_path, 551, [600.0], None)
    check = check_server_counts(run, dict(EXPOSED), 570, True)
    assert (check["agree"], check["sent_is_lower_bound"]) == (True, True)
    assert check_server_counts(run, dict(EXPOSED), 570, False)["agree"] is False


def test_fewer_than_succeeded_still_disagrees_with_a_lower_bound(tmp_path: Path) -> None:
    """The bound lifts only the upper end: 551 ok rows, server 500 < 551 - 6 = 545."""
    run = _counted_run(tmp_path, 551, [500.0], None)
    _bound(run, 570)
    check = check_server_counts(run, dict(EXPOSED))
    assert check["agree"] is False
    assert "(551 succeeded; allowed 545–576): fewer than succeeded" in check["warning"]


def test_within_the_band_a_lower_bound_changes_nothing_but_the_flag() -> None:
    """Server 574 within 545..576 (rows 551, sent 570): the same note on the 19 missing
    rows as with an exact sent."""
    exact = compare_counts(574, 551, 551, 570)
    bound = compare_counts(574, 551, 551, 570, sent_is_lower_bound=True)
    assert bound == {**exact, "sent_is_lower_bound": True}
    assert "19 of them never recorded" in bound["note"]
