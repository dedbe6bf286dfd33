"""`compare` on a model mix that has only a bound (fresh-user trial: it said "analyzed, no
capacity in capacity.json" and ranked the run as "not analyzed"): it shows the bound as
`analyze` says it, "< Y req/s in all", and leaves the run unranked."""

from __future__ import annotations

from pathlib import Path

from benchctl.reports.compare import ranking_lines, write_compare
from tests.unit.test_gate import make_run
from tests.unit.test_mix_sizing import _analyze, _as_user_ran
from tests.unit.test_model_capacity import mix_run


def test_a_mix_with_only_an_upper_bound_shows_it(tmp_path: Path) -> None:
    """The mix of test_mix_sizing's bound case: big takes 25 ms at every level, over
    p50 <= 20 ms, so the mix sustains less than the lowest level, 40 req/s in all (bound
    upper, no figure). compare's capacity cell says "< 40.0 req/s in all at p50<=20ms",
    names big, and the ranking lists the run unranked with that bound (never "not
    analyzed" or "no price given": there is no figure to price)."""
    mixed = _as_user_ran(mix_run(tmp_path, {"small": [5, 5, 30], "big": [25, 25, 25]}, name="mix"))
    doc = _analyze(mixed, price_per_hour=2.0)
    assert doc["capacity_rps"] is None and doc["bound"] == "upper"
    other = make_run(tmp_path, "other", seed=1, requests=2_000)
    comparison = write_compare([mixed, other], output=tmp_path / "c.html")
    column = comparison.runs[0]
    assert column.capacity == (
        "< 40.0 req/s in all at p50<=20ms (upper bound: model big broke its own SLO at "
        "every level judged)"
    )
    assert "no capacity" not in column.capacity
    lines = ranking_lines(comparison)
    assert "capacity (unranked): A below 40.0 rps in all under p50<=20ms (upper)" in lines
    page = comparison.output.read_text()
    ranking = page[page.index('id="ranking"') :]
    ranking = ranking[: ranking.index("</section>")]
    assert "below 40.0 req/s in all" in ranking
    assert "no figure to price (only a bound)" in ranking
    assert ranking.count("not analyzed") == 2  # the other run's two cells only


def test_another_slo_is_said_beside_the_bound(tmp_path: Path) -> None:
    """compare --slo p99<=50ms on a mix analyzed for p50<=20ms: the bound is the one
    analyze found, for its SLO, and the cell says it was not analyzed for the other."""
    mixed = _as_user_ran(mix_run(tmp_path, {"small": [5, 5, 30], "big": [25, 25, 25]}, name="mix"))
    _analyze(mixed)
    other = make_run(tmp_path, "other", seed=1, requests=2_000)
    comparison = write_compare([mixed, other], slo="p99<=50ms", output=tmp_path / "c.html")
    assert comparison.runs[0].capacity.startswith("< 40.0 req/s in all at p50<=20ms")
    assert comparison.runs[0].capacity.endswith("; not analyzed for p99<=50ms")
