"""The capacity report of an analyzed synthetic run, opened in real headless Chromium.

Chromium (Debian's ``/usr/bin/chromium``, never a browser Playwright downloads) is driven by
Playwright's sync API: console errors, uncaught exceptions and every request that leaves the
page are recorded while it loads. A full-page screenshot is kept under test-artifacts/
(gitignored).

Playwright's sync API runs its own event loop in a greenlet; gevent's monkey-patching (which
``import locust`` does) would swap the blocking primitives under it, so this module refuses to
run in a process that has been patched (tests/conftest.py refuses Locust in-process too).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Error, Request, sync_playwright

from benchctl.reports.html import write_report
from tests.unit.test_report import analyzed_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTH = 1200
SVG_HEIGHTS = "Array.from(document.querySelectorAll('svg'), s => s.getBoundingClientRect().height)"
FLAGS = (
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # a request that slips out resolves nowhere
)

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK) and not os.environ.get("BENCHCTL_REQUIRE_CHROMIUM"),
    reason=f"no Chromium at {CHROMIUM} (apt install chromium; `make test` installs it)",
)


@dataclass
class PageLoad:
    """What one page load did: errors, requests that were not file: or data:, the text."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    text: str = ""
    svg_heights: list[float] = field(default_factory=list)
    overflow_px: float = 0.0
    png: bytes = b""


def _not_gevent_patched() -> None:
    """Playwright's sync API under gevent's patched socket/threading would deadlock or fail
    obscurely; say so plainly instead."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        pytest.fail("gevent has monkey-patched this process (was locust imported?)")


def load(html: Path, profile: Path) -> PageLoad:
    """Open ``html`` (a local HTML file) in headless Chromium with a ``WIDTH`` x 900 px
    window, record console errors, uncaught exceptions and non-file requests until the network
    has been idle for 500 ms, then read it and screenshot it whole (PNG bytes). ``profile`` is
    the browser's user-data folder. Raises playwright's ``Error`` if Chromium cannot start or
    the page does not load within 60 s."""
    _not_gevent_patched()
    result = PageLoad()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=list(FLAGS),
            viewport={"width": WIDTH, "height": 900},
            device_scale_factor=1,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda message: _console(message, result))
            page.on("pageerror", lambda error: _exception(error, result))
            page.on("request", lambda request: _request(request, result))
            page.goto(html.resolve().as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_load_state("networkidle", timeout=60_000)
            result.text = page.evaluate("document.body.innerText")
            result.svg_heights = page.evaluate(SVG_HEIGHTS)
            result.overflow_px = page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            result.png = page.screenshot(full_page=True, type="png")
        finally:
            context.close()
    return result


def _console(message: ConsoleMessage, result: PageLoad) -> None:
    # Chromium's own log entries (a resource that failed to load) arrive here as errors too.
    if message.type in ("error", "assert"):
        result.errors.append(f"console: {message.text}")


def _exception(error: Error, result: PageLoad) -> None:
    result.errors.append(f"exception: {error.message}")


def _request(request: Request, result: PageLoad) -> None:
    if not request.url.startswith(("file:", "data:")):
        result.external.append(request.url)


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    run_dir = analyzed_run(tmp_path_factory.mktemp("analyzed"))
    return write_report(run_dir), json.loads((run_dir / "capacity.json").read_text())


def test_capacity_report_renders_cleanly_in_chromium(
    analyzed: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    report, doc = analyzed
    page = load(report, tmp_path / "profile")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-capacity.png").write_bytes(page.png)
    shutil.copyfile(report, ARTIFACTS / "report-capacity.html")

    assert page.errors == []
    assert page.external == []
    replicas = doc["replicas"]["recommended"]
    capacity = doc["single_replica"]["capacity_rps"]
    for text in (
        f"{replicas} replicas for a peak of 600.0 req/s under p99<=100ms",
        f"One replica sustains {capacity:.1f} rps",
        f"{doc['cost']['per_month']:,.0f}",
        f"HPA: KEDA/HPA {replicas}-",  # min replicas = the headline (one figure)
        "Knative (KServe): KPA ",
        f"{replicas} (recommended)",
        "manifests/kserve-inferenceservice.yaml",
    ):
        assert text in page.text
    assert len(page.svg_heights) == 8 and min(page.svg_heights) > 150
    assert page.overflow_px <= 0  # nothing wider than the window
    assert page.png.startswith(b"\x89PNG") and len(page.png) > 50_000


def test_the_harness_sees_console_errors_and_external_requests(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!doctype html><img src="http://example.invalid/x.png">'
        '<script>console.error("boom"); null.x;</script>'
    )
    page = load(bad, tmp_path / "profile")
    assert any("boom" in error for error in page.errors)
    assert any(error.startswith("exception:") for error in page.errors)
    assert page.external == ["http://example.invalid/x.png"]
