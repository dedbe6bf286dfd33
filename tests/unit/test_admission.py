"""Admission delay (load/admission.py): slot waits inside [due, now], by hand."""

import pytest

from benchctl.load.admission import SlotWaits


def test_waits_inside_the_span_count_others_do_not():
    """Waits [1, 3] and [4, 4.5]. An arrival due at 2 and sent at 5: 1 s of the first wait
    (2..3) + 0.5 s of the second = 1.5 s. Then one due at 3.5 sent at 5: only the second,
    0.5 s. One due at 4.6 sent at 4.7: 0 (no wait since). A wait [5, 5.25] then one due at
    4.8 sent at 5.3: 0.25 s."""
    waits = SlotWaits()
    waits.add(1.0, 3.0)
    waits.add(4.0, 4.5)
    assert waits.waited(2.0, 5.0) == pytest.approx(1.5)
    assert waits.waited(3.5, 5.0) == pytest.approx(0.5)
    assert waits.waited(4.6, 4.7) == 0.0
    waits.add(5.0, 5.25)
    assert waits.waited(4.8, 5.3) == pytest.approx(0.25)


def test_a_wait_that_started_before_due_counts_from_due():
    """Wait [0, 10]; due 4, sent 10: 6 s (the driver was blocked from 4 to 10)."""
    waits = SlotWaits()
    waits.add(0.0, 10.0)
    assert waits.waited(4.0, 10.0) == pytest.approx(6.0)
