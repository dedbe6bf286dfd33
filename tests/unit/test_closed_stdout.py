"""A closed stdout (`benchctl run ... | head`) stops a run as a stop signal does, with its own
reason, instead of surfacing as a disk error (fresh-user trial); outside a run it is left to
``benchctl.cli.main`` (exit 0)."""

from __future__ import annotations

import signal

import pytest

from benchctl.stop_signals import CLOSED_STDOUT, Stopped, StopSignals, closed_stdout_stops_run


def test_outside_a_run_nothing_takes_it():
    assert closed_stdout_stops_run() is False


def test_while_the_load_runs_it_stops_the_engine_like_a_signal():
    """Deferred mode (the engine running): the run's ``on_signal`` is called once, the
    reason is the closed stdout's, nothing is raised (the print goes on quietly)."""
    calls: list[tuple[int, int]] = []
    with StopSignals(raising=False) as signals:
        signals.defer(lambda signum, count: calls.append((signum, count)))
        assert closed_stdout_stops_run() is True
    assert calls == [(signal.SIGPIPE, 1)]
    assert (
        signals.reason == CLOSED_STDOUT == "stopped: stdout closed (its reader left, e.g. `| head`)"
    )
    assert closed_stdout_stops_run() is False  # the run is over


def test_while_setting_up_it_raises_stopped_like_ctrl_c():
    """Raising mode (launch, a search's levels): ``Stopped`` with the closed stdout's reason
    is raised where the print was, so the run's own stop handling finishes it."""
    with StopSignals() as signals, pytest.raises(Stopped) as stopped:
        closed_stdout_stops_run()
    assert str(stopped.value) == CLOSED_STDOUT and signals.received == [signal.SIGPIPE]


def test_before_the_run_is_armed_it_is_noted_and_stops_it_at_arm():
    """A run prints its directory before arming: the closed stdout is noted there and
    ``arm()`` then raises it, as for a signal received that early."""
    with StopSignals(raising=False) as signals:
        assert closed_stdout_stops_run() is True
        with pytest.raises(Stopped):
            signals.arm()
