"""Capacity search: find one replica's capacity under an SLO by measuring, not by fitting.

Open-loop levels climb (doubling from ``start_rate``) until a level breaks the SLO, then
bisect between the last good and the first bad level until ``first_bad / last_good - 1 <=
resolution``; each level is held until it is stable, and stopped at once when it is
plainly broken. The package by job:

- ``levels``: which offered rate comes next (``next_rate``), each level's plan, and what
  search.json keeps of a level;
- ``judging``: one level's verdict from its records so far (``judge``, ``window_length``);
- ``level_engine``: one level's engine processes and the record parts they flush;
- ``driving``: the search itself (``run_search``): run directory, target, levels in turn;
- ``results``: search.json, the requests and summary of all levels, the final run.json.

Each level is one engine process (or a Locust master with ``--workers N`` local workers)
running a steady open-loop plan; levels are decided here, on the master side, from the
records the engine has flushed. The levels become phases of one run directory (the
``warmup`` phase marks each level's settle time and tail), so analysis reads them like step
levels; ``search.json`` keeps every level and its verdict.
"""

from __future__ import annotations

from benchctl.rundir import SEARCH
from benchctl.search.driving import LEVELS_DIR, run_search, search_dry_run
from benchctl.search.judging import FLUSH_LAG_S, LevelVerdict, judge, window_length
from benchctl.search.levels import LevelRecord, level_plan, next_rate
from benchctl.search.results import SearchResult

__all__ = [
    "FLUSH_LAG_S",
    "LEVELS_DIR",
    "SEARCH",
    "LevelRecord",
    "LevelVerdict",
    "SearchResult",
    "judge",
    "level_plan",
    "next_rate",
    "run_search",
    "search_dry_run",
    "window_length",
]
