"""``benchctl run … --repeat N`` on the terminal: the heading of each run, then the runs made
and the gate command that takes them (commands/run_repeat.py calls these)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console


def print_repeat_run(console: Console, index: int, total: int, seed: int) -> None:
    """The heading of run ``index`` (0-based) of ``total`` of ``--repeat``, with its seed."""
    console.print(f"[bold]run {index + 1} of {total}[/bold] (seed {seed})")


def print_repeat_made(
    console: Console,
    made: list[Path],
    completed: list[Path],
    wanted: int,
    rules: Path | None = None,
) -> None:
    """After ``--repeat``: the runs ``made`` (of ``wanted``), each not in ``completed`` marked
    as left out, and the gate command that takes the ``completed`` ones as candidates, with
    ``--rules`` naming ``rules`` (an existing file, e.g. the installed example) or, when
    None, a placeholder the user fills in."""
    console.print(
        f"\n{len(made)} of {wanted} runs made, {len(completed)} completed:"
        + "".join(
            f"\n  {path}" + ("" if path in completed else "  (not completed: left out below)")
            for path in made
        ),
        soft_wrap=True,
    )
    if completed:
        candidates = " ".join(f"--candidate {path}" for path in completed)
        if rules is not None:
            hint = "your baseline folder; the example rules, or your own"
            rules_flag = f"--rules {rules}"
        else:
            hint = "your baseline folder, your rules file"
            rules_flag = "--rules YOUR_RULES.yaml"
        console.print(
            f"gate them together against the nights before ({hint}):"
            f"\n  benchctl gate --baseline BASELINE_DIR {candidates} {rules_flag}",
            soft_wrap=True,
        )
