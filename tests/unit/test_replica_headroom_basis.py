"""One headroom basis for every replica count: a single model's M/M/c table keeps the
headroom on the capacity (the SLO-meeting rate), as a model mix does and as the
recommended count does, never on the saturation rate. Known answers by hand."""

from __future__ import annotations

import math

from benchctl.analysis.replica_sizing import replicas_for_peak
from benchctl.analysis.slo import parse_slo

SINGLE = {"capacity_rps": 80.0, "bound": "measured", "saturation_rps": 100.0}


def test_the_table_keeps_the_headroom_on_the_capacity():
    """Capacity 80 rps, saturation 100 rps, 20% headroom, a 1,000 rps peak, a p50 of 1 s
    (met by every stable row: 10 ms of service, M/M/c waits of a few ms). By capacity:
    ceil(1000 / (80 x 0.8)) = ceil(15.625) = 16. The table starts at the first stable
    count, floor(1000 / 100) + 1 = 11. Within headroom means 1000 / N <= 64, so N >= 16:
    rows 11..15 are not, 16 is, and 16 is the recommended count and the table's first
    acceptable row. (On the saturation rate, 1000 / (N x 100) <= 0.8 held from N = 13:
    the table offered 13 beside a recommended 16.)"""
    replicas = replicas_for_peak(SINGLE, 1000.0, parse_slo("p50<=1000ms"), 0.2, None)
    assert replicas is not None
    assert replicas["by_capacity"] == math.ceil(1000 / (80 * 0.8)) == 16
    assert replicas["by_erlang_c"] == 16 and replicas["recommended"] == 16
    rows = {row["replicas"]: row for row in replicas["table"]}
    assert min(rows) == 11
    assert [rows[n]["within_headroom"] for n in range(11, 17)] == [False] * 5 + [True]
    acceptable = [n for n, row in rows.items() if row["meets_slo"] and row["within_headroom"]]
    assert min(acceptable) == replicas["recommended"] == 16
