"""A run in which nothing succeeded is not a success.

``nothing_succeeded`` reads a run's requests.parquet and, when requests were sent and none
was ``ok`` (e.g. a target answering 307 to every POST, or 401 to a wrong token), returns a
one-line reason naming the dominant error, for ``run`` to mark the run ``failed`` (exit 1).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchctl.rundir.reader import read_table

# How to read an error kind, for the reason line.
_HINTS = {
    "http_3xx": "the target redirects; benchctl does not follow redirects: use the final url",
    "http_4xx": "the target refuses the request (check model, payload and headers)",
    "http_5xx": "the target fails the request",
    "connection": "the target is unreachable or closes connections",
    "timeout": "no answer within the target's timeout",
    "bad_response": "answers do not have the expected shape",
}


def nothing_succeeded(requests_path: Path) -> str:
    """ "" when any request succeeded (or none was sent); else the reason the run failed.

    Input: the run's requests.parquet (columns ok, error, status). Output: e.g.
    ``nothing succeeded: 0 of 40 requests ok; most common error http_3xx (40, HTTP 307): ...``.
    """
    table = read_table(requests_path, ["ok", "error", "status"])
    if table.num_rows == 0:
        return ""
    rows = table.to_pydict()
    if any(rows["ok"]):
        return ""
    sent = [(e, s) for e, s in zip(rows["error"], rows["status"], strict=True) if e != "dropped"]
    if not sent:
        return f"nothing succeeded: all {table.num_rows} requests were dropped (never sent)"
    (error, status), count = Counter(sent).most_common(1)[0]
    code = (
        f", HTTP {status}" if error.startswith("http_") else f", status {status}" if status else ""
    )
    hint = _HINTS.get(error) or (
        "the gRPC call failed" if error.startswith("grpc_") else "see requests.parquet"
    )
    return (
        f"nothing succeeded: 0 of {table.num_rows} requests ok; most common error "
        f"{error} ({count}{code}): {hint}"
    )
