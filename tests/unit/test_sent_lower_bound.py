"""run.json ``counts.sent`` is exact only when every load process reported to the end
(fresh-user trial: a worker killed with SIGKILL, and ``sent`` read 607 though the server
counted more: what the dead worker sent after its last report is counted nowhere). Then
``sent`` is a lower bound, said in run.json (``sent_is_lower_bound``, ``sent_bound``) and
on the terminal (``sent: ≥N``)."""

from __future__ import annotations

import io

from rich.console import Console

from benchctl.reports.terminal.run_summary import print_run_end, sent_line
from benchctl.run_finish import run_counts
from benchctl.run_outcome import Outcome


def worker(sent: int, rows: int, *, finished: bool) -> dict:
    """One worker's tally as the master's done line carries it (load/engine_master.py)."""
    return {
        "sent": sent,
        "rows": rows,
        "dropped": 0,
        "sent_not_recorded": max(0, sent - rows),
        "finished": finished,
    }


def outcome(workers: dict[str, dict]) -> Outcome:
    """A master's done line: ``sent`` is the rows that reached it (collector.sent)."""
    rows = sum(w["rows"] for w in workers.values())
    return Outcome(done={"sent": rows, "dropped": 0, "per_worker": workers})


def test_every_worker_finished_sent_is_exact():
    done = outcome(
        {"worker-0": worker(300, 300, finished=True), "worker-1": worker(307, 307, finished=True)}
    )
    counts, _ = run_counts(done, 607)
    assert counts["sent"] == 607
    assert "sent_is_lower_bound" not in counts and sent_line(counts) == ""


def test_a_killed_worker_makes_sent_a_lower_bound():
    """worker-1 said 310 sent in its last report, 307 of its rows arrived: sent = 300 + 307
    rows + 3 never recorded = 610, and at least that: it may have sent more after."""
    done = outcome(
        {"worker-0": worker(300, 300, finished=True), "worker-1": worker(310, 307, finished=False)}
    )
    counts, _ = run_counts(done, 607)
    assert counts["sent"] == 610 and counts["sent_not_recorded"] == 3
    assert counts["sent_is_lower_bound"] is True
    assert counts["sent_bound"] == (
        "worker-1 died before its final report: what it sent after its last report is "
        "counted nowhere"
    )
    assert sent_line(counts) == f"sent: ≥610 requests (a lower bound: {counts['sent_bound']})"


def test_a_killed_worker_whose_last_report_matched_its_rows_is_still_a_bound():
    """Its last report said 307 and 307 rows arrived: nothing known lost, but what it sent
    after that report is unknown: sent = 607 is a lower bound, not an exact count."""
    done = outcome(
        {"worker-0": worker(300, 300, finished=True), "worker-1": worker(307, 307, finished=False)}
    )
    counts, _ = run_counts(done, 607)
    assert counts["sent"] == 607 and counts["sent_is_lower_bound"] is True


def test_a_dead_engine_makes_sent_a_lower_bound():
    """No done line: sent is the last progress line's 500 (480 rows written)."""
    counts, _ = run_counts(Outcome(done={}, last={"sent": 500, "dropped": 2}), 480)
    assert counts["sent"] == 500 and counts["sent_not_recorded"] == 22
    assert counts["sent_is_lower_bound"] is True
    assert counts["sent_bound"] == "the engine died: sent is its last progress report's count"


def test_the_end_of_the_run_says_at_least():
    counts, _ = run_counts(outcome({"worker-0": worker(10, 10, finished=False)}), 10)
    console = Console(file=io.StringIO(), width=200, color_system=None)
    ended = Outcome(status="interrupted", reason="worker lost: worker-0")
    generator = {"send_lag_warning": "", "saturated": False}
    print_run_end(console, "r", {}, ended, 0, generator, {}, cpu_limit=80, counts=counts)
    text = console.file.getvalue()
    assert "sent: ≥10 requests (a lower bound: worker-0 died before its final report" in text
