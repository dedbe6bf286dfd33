"""The run checks its own telemetry: the server's request count against what was sent.

Every run with server metrics compares the target model's server-side count of finished
requests (over the whole run: the monitor scrapes once before the load and once after it)
with the generator's own records. They agree when

    ok - tolerance <= server_requests <= sent + tolerance,   tolerance = max(2, 1% of sent)

``ok`` is the lower end because some servers count successes only (Triton), ``sent`` the
upper because a server may finish requests the client gave up on (timeouts). ``sent`` is the
larger of the rows that left the generator (requests.parquet, dropped excluded) and the
generator's own counter (run.json ``counts.sent``): a killed worker or engine sent requests
it never recorded, which the server did count — then the counts agree with the counter and
the result notes the rows that are missing instead of blaming another client. When a load
process died before its final report, ``sent`` itself is a lower bound (run.json
``counts.sent_is_lower_bound``): what it sent after its last report is counted nowhere, and
benchctl records no bound on how many that was. Then the band has no upper end: a server
count above ``sent`` is explained by those requests and is noted, never blamed on another
client (the lower end, ``ok - tolerance``, still holds). The tolerance
covers requests in flight at a scrape and a readiness probe. Outside that band the derived
server-side numbers (queue and compute time per request, server throughput) do not describe
this run's traffic — a counter reset between scrapes, several worker processes each with
its own /metrics, another client on the same server, or the wrong model's counters — and
the run says so in run.json (``telemetry.self_check``), on the terminal and in the report.
A model mix's server counters are scraped for one model (``server_metrics.model``), so only
the rows sent to that model count there (``mix_rows``; ``self_check.model`` names it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from benchctl.rundir.names import REQUESTS, RUN_JSON, TELEMETRY_WINDOWS
from benchctl.rundir.reader import parquet_columns, read_document, read_parquet
from benchctl.rundir.requests import DROPPED

ABSOLUTE_TOLERANCE = 2  # requests
RELATIVE_TOLERANCE = 0.01  # of the requests sent


def tolerance(sent: int) -> int:
    """Allowed difference in requests: max(2, ceil(1% of sent))."""
    return max(ABSOLUTE_TOLERANCE, math.ceil(RELATIVE_TOLERANCE * sent))


def compare_counts(
    server: float,
    sent: int,
    ok: int,
    generator_sent: int | None = None,
    sent_is_lower_bound: bool = False,
) -> dict[str, Any]:
    """The verdict for one run: server-side count vs the generator's sent and ok counts.

    Inputs: server-side requests finished (may be fractional after interpolation), requests
    sent as rows (dropped ones never left the generator), requests that succeeded, and the
    generator's own counter of requests sent (run.json ``counts.sent``; None if unknown).
    Output: the numbers (``sent`` is the larger of rows and counter, ``rows`` the rows), the
    band, ``agree``, a one-line ``warning`` when they disagree and a ``note`` when the server
    saw requests that were sent but never recorded as rows. ``sent_is_lower_bound``
    (run.json ``counts.sent_is_lower_bound``: a load process died): no upper end, a
    higher server count gets a ``note`` (the dead process's unreported requests) and
    ``sent_is_lower_bound: True``, not a warning.
    """
    rows = sent
    sent = max(rows, int(generator_sent)) if generator_sent is not None else rows
    slack = tolerance(sent)
    low, high = ok - slack, sent + slack
    counted = round(float(server))
    agree = low <= counted and (counted <= high or sent_is_lower_bound)
    result: dict[str, Any] = {
        "server_requests": counted,
        "sent": sent,
        "rows": rows,
        "ok": ok,
        "tolerance": slack,
        "agree": agree,
    }
    if sent_is_lower_bound:
        result["sent_is_lower_bound"] = True
    if agree and counted > high:  # only with a lower bound
        result["note"] = (
            f"the server counted {counted:,} requests, {counted - sent:,} more than the at "
            f"least {sent:,} sent: a load process died, and what it sent after its last "
            "report is counted nowhere (sent is a lower bound), not another client"
        )
    elif agree and counted > rows + tolerance(rows):
        result["note"] = (
            f"the server counted {counted:,} requests, {counted - rows:,} more than the "
            f"{rows:,} recorded: the generator sent {sent:,}, {sent - rows:,} of them never "
            "recorded (a load process died holding them)"
        )
    if not agree:
        result["warning"] = _disagreement(counted, sent, ok, low, high)
    return result


def _disagreement(counted: int, sent: int, ok: int, low: int, high: int) -> str:
    """The self-check's warning: the server counted ``counted`` requests, outside the band
    ``low``..``high`` around ``sent`` and ``ok``; why that may be."""
    if counted > high:
        why = "more than were sent: another client, or other models' counters"
    else:
        why = "fewer than succeeded: a counter reset between scrapes or per-process metrics"
    return (
        f"server-side request count {counted:,} disagrees with the {sent:,} requests sent "
        f"({ok:,} succeeded; allowed {low:,}–{high:,}): {why}; server-side numbers "
        "derived from it (per-request queue and compute time) may not describe this run"
    )


def check_server_counts(
    run_dir: Path,
    telemetry: dict[str, Any],
    generator_sent: int | None = None,
    sent_is_lower_bound: bool | None = None,
) -> dict[str, Any] | None:
    """Self-check of a finished run directory (requests.parquet and
    telemetry_windows.parquet written). ``telemetry`` is run.json's telemetry section: the
    result is stored in it as ``self_check`` and, on disagreement, its warning is appended
    to ``telemetry["warnings"]``. ``generator_sent`` is the generator's own count of
    requests sent (run.json ``counts.sent``); None reads it from run.json when it is there,
    and so for ``sent_is_lower_bound`` (``counts.sent_is_lower_bound``: see
    ``compare_counts``). Returns None when the run has no server request counter.
    """
    server = server_count(run_dir, telemetry)
    if server is None:
        return None
    exposed = telemetry.get("server_metrics") or {}
    requests = run_dir / REQUESTS
    frame = read_parquet(requests, ["ok", "error"])
    mix = mix_rows(requests, exposed.get("model"))
    if mix is not None:  # a model mix: the server counted the scraped model's requests only
        frame, generator_sent = frame[mix], None
    sent = int((frame["error"] != DROPPED).sum())
    ok = int(frame["ok"].sum())
    counted, bound = (
        _counted_sent(run_dir) if None in (generator_sent, sent_is_lower_bound) else (None, False)
    )
    if generator_sent is None and mix is None:
        generator_sent = counted
    if sent_is_lower_bound is None:
        sent_is_lower_bound = bound
    result = compare_counts(server, sent, ok, generator_sent, sent_is_lower_bound)
    if mix is not None:
        result["model"] = exposed.get("model")
    resets = int(exposed.get("requests_resets") or 0)
    if resets:
        result["counter_resets"] = resets
        if "warning" in result:
            result["warning"] += (
                f" (the server's counter restarted {resets} time(s) during the run — a model "
                "reload or server restart — and what it counted between the last scrape and "
                "the restart is lost)"
            )
    telemetry["self_check"] = result
    if "warning" in result:
        telemetry.setdefault("warnings", []).append(result["warning"])
    return result


def server_count(run_dir: Path, telemetry: dict[str, Any]) -> float | None:
    """The server's own count of requests it finished over the run: the sum of
    telemetry_windows.parquet's ``server_requests`` (requests; may be fractional after
    interpolation). None when the server exposes no request counter (run.json
    ``telemetry.server_metrics.requests``), either file is missing, or no window counted.
    DamagedFileError if telemetry_windows.parquet is unreadable."""
    windows = run_dir / TELEMETRY_WINDOWS
    exposed = telemetry.get("server_metrics") or {}
    if not exposed.get("requests") or not windows.is_file() or not (run_dir / REQUESTS).is_file():
        return None
    counts = read_parquet(windows, ["server_requests"])["server_requests"]
    if counts.isna().all():
        return None
    return float(pd.to_numeric(counts).sum())


def mix_rows(requests: Path, model: Any) -> Any:
    """For a model-mix run (requests.parquet's ``model`` column holds two or more models):
    a boolean array of the rows sent to ``model``, the one whose server counters were
    scraped (run.json ``telemetry.server_metrics.model``); None for any other run (one
    model, no ``model`` column, or no scraped model named), whose rows all count. The
    generator's own sent counter covers every model, so a mix compares rows only."""
    if not model or "model" not in parquet_columns(requests):
        return None
    names = read_parquet(requests, ["model"])["model"].astype(object)
    if names.dropna().nunique() < 2:
        return None
    return (names == str(model)).to_numpy(dtype=bool)


def _counted_sent(run_dir: Path) -> tuple[int | None, bool]:
    """run.json ``counts.sent`` (the generator's own counter; None if absent or unreadable)
    and ``counts.sent_is_lower_bound`` (True only when run.json says so)."""
    counts = read_document(run_dir / RUN_JSON).get().get("counts")
    counts = counts if isinstance(counts, dict) else {}
    sent = counts.get("sent")
    ok = isinstance(sent, int | float) and not isinstance(sent, bool) and math.isfinite(sent)
    return (int(sent) if ok else None), counts.get("sent_is_lower_bound") is True


def report_warnings(run: dict[str, Any]) -> list[str]:
    """The self-check warnings recorded in a run.json (for reports)."""
    telemetry = run.get("telemetry") if isinstance(run, dict) else None
    if not isinstance(telemetry, dict):
        return []
    return [str(w) for w in telemetry.get("warnings") or []]
