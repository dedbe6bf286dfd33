"""Checks of a plan that ``benchctl run`` makes before any load, the same with and without
``--dry-run`` (trial 5, finding 11).

- ``too_few_requests``: an open-loop plan that expects under one request (``--rate 0.01
  --duration 10s``: 0.1 requests) measures nothing: refused, as ``--rate 0`` is.
- ``rate_warning``: a peak rate per load process above ``PROCESS_RATE`` req/s: README's
  generator-accuracy table measured one process keeping up at 1,000 req/s (lag p99 0.78 ms,
  36% of a core) and not at 5,000 (85-95% of a core, send-lag p99 about 100 ms), so such a
  plan measures the generator unless more processes share it (``--workers N``). The
  1,000,000 req/s cap (arguments.MAX_RATE) refuses rates no number of workers could send;
  this warns below it.
"""

from __future__ import annotations

import math

from benchctl.errors import InputError
from benchctl.plan.shapes import Plan

PROCESS_RATE = 5_000.0  # req/s one load process did not keep up with (README, issue 17)


def too_few_requests(plan: Plan, rate: float | None, duration: str | None) -> None:
    """Raise InputError (one line, exit 2) when open-loop ``plan`` expects fewer than one
    request; ``rate`` and ``duration``: --rate and --duration as given (None: the
    scenario's), named in the message. Closed-loop plans are not checked."""
    expected = plan.expected_requests()
    if expected is None or expected >= 1:
        return
    given = " with ".join(
        part
        for part in (
            f"--rate {rate:g}" if rate is not None else "",
            f"--duration {duration}" if duration is not None else "",
        )
        if part
    )
    what = given or "the scenario's rate and duration"
    raise InputError(
        f"{what} plans about {expected:.2g} requests in {plan.duration:g}s: nothing to "
        "measure; give a rate x duration of at least 1 request (e.g. --rate 1 --duration 10s)"
    )


def peak_rate(plan: Plan) -> float | None:
    """The highest planned arrival rate (req/s): the profile's highest breakpoint, or a
    trace's busiest second; None for a closed-loop plan."""
    if plan.profile is not None:
        return float(plan.profile.rates.max())
    if plan.arrival_times is not None and len(plan.arrival_times):
        import numpy as np

        seconds = np.floor(np.asarray(plan.arrival_times, dtype=float)).astype(int)
        return float(np.bincount(seconds - seconds.min()).max())
    return None


def rate_warning(plan: Plan, workers: int, remote_workers: int) -> str | None:
    """A warning when ``plan``'s peak rate per load process (``workers`` + ``remote_workers``
    processes, one without either) exceeds PROCESS_RATE, naming the processes needed;
    None otherwise."""
    peak = peak_rate(plan)
    processes = max(workers + remote_workers, 1)
    if peak is None or peak / processes <= PROCESS_RATE:
        return None
    needed = math.ceil(peak / PROCESS_RATE)
    share = (
        "from one load process"
        if processes == 1
        else f"is {peak / processes:,.0f} req/s for each of {processes} load processes"
    )
    return (
        f"a peak of {peak:,.0f} req/s {share}; one process did not keep up with "
        f"{PROCESS_RATE:,.0f} req/s (README, generator accuracy), so latencies would be the "
        f"generator's: use --workers {needed} or more{_beyond_cores(needed)}"
    )


def host_cores() -> int:
    """The CPU cores this process may run on (its affinity; os.cpu_count() elsewhere)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _beyond_cores(needed: int) -> str:
    """When ``needed`` load processes exceed this machine's cores: they would share cores
    and fall behind like one process, so say the cores and that the rest must run on
    other machines (Locust workers: ``benchctl worker``, README "Running at scale")."""
    cores = host_cores()
    if needed <= cores:
        return ""
    return (
        f"; this machine has {cores} core{'' if cores == 1 else 's'}, and workers beyond its "
        "cores share them and fall behind: run the rest on other machines "
        "(--remote-workers with `benchctl worker --master HOST:PORT` there; README, "
        "Running at scale)"
    )
