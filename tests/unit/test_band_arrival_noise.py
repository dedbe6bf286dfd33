"""A capacity band that cannot contradict itself when arrival noise exceeds the search's step.

The known case (``make demo``, a capacity search): the level that met p99<=200ms received
25.856 req/s in its judged windows, the next level, which broke it, received 25.575 req/s:
fewer arrivals than the good level although it was offered more. The arrived rates cannot
order the two levels, so the band is on their offered rates (ordered by the search) and
the arrived ones are named.
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
        "band_rates": "offered" if found.arrived_band else "arrived",
        "offered_band_rps": list(found.offered_band),
        "arrived_band_rps": list(found.arrived_band) if found.arrived_band else None,
        "upper_bound_source": found.upper_source,
    }
    return {**capacity_fields(single, None), "slo": slo}


def test_arrivals_that_do_not_order_the_levels_give_an_offered_band():
    """Offered 28 met, 30 broke; arrived 25.856 and 25.575: band [28, 30] offered."""
    found = capacity_bound([BELOW, MET, BROKE], 200.0)
    assert found is not None and found.bound == MEASURED
    assert found.band == (28.0, 30.0)
    assert found.band[0] < found.band[1]
    assert found.arrived_band == (25.856, 25.575)
    assert found.band[0] <= found.capacity_rps <= found.band[1]


def test_its_sentence_names_both_rates_and_never_says_the_same_rate_met_and_broke():
    text = capacity_sentence(_doc(capacity_bound([BELOW, MET, BROKE], 200.0)))
    assert "met at 28.0 rps offered (25.9 rps arrived)" in text
    assert "broke at 30.0 rps offered (25.6 rps arrived)" in text
    assert "arrival noise exceeds the search's step" in text
    assert "which met it, and" not in text


def test_arrivals_that_order_the_levels_keep_the_arrived_band():
    """The broken level received more (27.1 > 25.856): band [25.856, 27.1] arrived."""
    broke = Level("level 4", 30.0, 26.0, 260.0, False, arrived_rps=27.1)
    found = capacity_bound([BELOW, MET, broke], 200.0)
    assert found is not None
    assert found.band == (25.856, 27.1) and found.arrived_band is None
    text = capacity_sentence(_doc(found))
    assert "between 25.9 rps, which met it, and 27.1 rps, which broke it" in text
