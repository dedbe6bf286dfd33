"""Why a run shows no throughput: the note summary.json keeps beside a rate it does not
give (too few requests, or an interval too short to measure a rate), printed under the
run's table so the screen says what the files and the report say."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape


def rate_notes(summary: dict[str, Any]) -> list[str]:
    """The lines for ``summary`` (summary.json): ``overall.throughput_note`` (why there is
    no throughput: too few requests, or an interval too short); [] when it is given."""
    lines = []
    overall = summary.get("overall")
    if isinstance(overall, dict) and overall.get("throughput_note"):
        warmup = _warmup_sent(summary)
        if warmup and not overall.get("sent"):  # stopped in (or right after) the warm-up
            lines.append(
                f"no throughput: no request was sent after the warm-up ({warmup:,} were sent "
                "during it; rates and percentiles count only the requests after it)"
            )
        else:
            note = str(overall["throughput_note"]).removesuffix(": no throughput")
            lines.append(f"no throughput: {note}")
    return lines


def _warmup_sent(summary: dict[str, Any]) -> int:
    """The requests the warm-up sent (left out of ``overall``); 0 without a warm-up."""
    phases = summary.get("phases")
    warmup = phases.get("warmup") if isinstance(phases, dict) else None
    sent = warmup.get("sent") if isinstance(warmup, dict) else None
    return sent if isinstance(sent, int) and sent > 0 else 0


def print_rate_notes(console: Console, summary: dict[str, Any]) -> None:
    """Print ``rate_notes(summary)``, one yellow line each."""
    for line in rate_notes(summary):
        console.print(f"[yellow]{escape(line)}[/]", highlight=False)
