"""A capacity band that cannot contradict itself, or claim more than arrived, when arrival
noise exceeds the search's step.

The known case (``make demo``, a capacity search): the level offered 28 req/s met
p99<=200ms with 25.856 req/s arriving in its judged windows; the next level, offered 30,
broke it with 25.575 arriving: fewer arrivals than the good level although it was offered
more. The arrived rates cannot order the two levels. The server was shown to meet the SLO
under 25.856 req/s, not under the 28 offered that never came, so the figure is
min(28, 25.856) = 25.856 and the band runs up to the broken level's offered 30.
"""

from __future__ import annotations

from benchctl.analysis.answer import capacity_sentence
from benchctl.analysis.bounds import MEASURED, Level, capacity_bound
from benchctl.analysis.capacity import capacity_fields

MET = Level("level 3", 28.0, 25.8, 150.0, True, arrived_rps=25.856)
BROKE = Level("level 4", 30.0, 25.5, 260.0, False, arrived_rps=25.575)
BELOW = Level("level 2", 20.0, 19.0, 60.0, True, arrived_rps=19.4)


def _doc(found, slo: str = "p99<=200ms") -> dict:
    """capacity.json's headline fields as analyze writes them from ``found``."""
    single = {
        "capacity_rps": found.capacity_rps,
        "bound": found.bound,
        "lower_rps": found.band[0],
        "upper_rps": found.band[1],
        "band_rates": "arrived/offered" if found.arrived_band else "arrived",
        "offered_band_rps": list(found.offered_band),
        "arrived_band_rps": list(found.arrived_band) if found.arrived_band else None,
        "upper_bound_source": found.upper_source,
    }
    return {**capacity_fields(single, None), "slo": slo}


def test_the_figure_is_what_arrived_when_arrivals_do_not_order_the_levels():
    """Offered 28 met, 30 broke; arrived 25.856 and 25.575: figure min(28, 25.856) =
    25.856, band [25.856, 30] (up to the broken level's offered rate), offered [28, 30]."""
    found = capacity_bound([BELOW, MET, BROKE], 200.0)
    assert found is not None and found.bound == MEASURED
    assert found.capacity_rps == 25.856
    assert found.band == (25.856, 30.0)
    assert found.offered_band == (28.0, 30.0)
    assert found.arrived_band == (25.856, 25.575)


def test_a_fitted_crossing_inside_the_band_is_not_the_figure_then():
    """A fit crossing the SLO at 29 req/s lies in [25.856, 30], but the level that broke
    served 25.5 req/s: nothing measured supports 29, so the figure stays 25.856."""
    found = capacity_bound([BELOW, MET, BROKE], 200.0, fitted_crossing_rps=29.0)
    assert found is not None and found.capacity_rps == 25.856


def test_more_arrived_than_offered_keeps_the_offered_rate():
    """Met: offered 28, 28.4 arrived; broke: offered 30, 28.2 arrived (not more than 28.4):
    figure min(28, 28.4) = 28.0, band [28.0, 30.0]."""
    met = Level("level 3", 28.0, 28.3, 150.0, True, arrived_rps=28.4)
    broke = Level("level 4", 30.0, 28.0, 260.0, False, arrived_rps=28.2)
    found = capacity_bound([BELOW, met, broke], 200.0)
    assert found is not None
    assert (found.capacity_rps, found.band) == (28.0, (28.0, 30.0))
    assert found.arrived_band == (28.4, 28.2)


def test_its_sentence_names_both_levels_rates_and_never_the_rate_that_did_not_arrive():
    text = capacity_sentence(_doc(capacity_bound([BELOW, MET, BROKE], 200.0)))
    assert text.startswith("One replica sustains 25.9 rps under p99<=200ms (measured:")
    assert "the level that met it had 25.9 rps arrive of 28.0 rps offered" in text
    assert "the one that broke it, offered 30.0 rps, drew 25.6 rps" in text
    assert "arrival noise exceeds the search's step" in text
    assert "the crossing lies below 30.0 rps offered" in text
    assert "sustains 28.0" not in text and "which met it, and" not in text


def test_arrivals_that_order_the_levels_keep_the_arrived_band():
    """The broken level received more (27.1 > 25.856): band [25.856, 27.1] arrived."""
    broke = Level("level 4", 30.0, 26.0, 260.0, False, arrived_rps=27.1)
    found = capacity_bound([BELOW, MET, broke], 200.0)
    assert found is not None
    assert found.band == (25.856, 27.1) and found.arrived_band is None
    text = capacity_sentence(_doc(found))
    assert "between 25.9 rps, which met it, and 27.1 rps, which broke it" in text
