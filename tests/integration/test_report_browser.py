"""The capacity report of an analyzed synthetic run, opened in real headless Chromium.

Chromium is driven over the DevTools protocol (websocket-client, which comes with Locust):
console errors, uncaught exceptions and every request that leaves the page are recorded
while it loads. A full-page screenshot is kept under test-artifacts/ (gitignored).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websocket

from benchctl.reports.html import write_report
from tests.unit.test_report import analyzed_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTH = 1200
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # a request that slips out resolves nowhere
    f"--window-size={WIDTH},900",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
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


class DevTools:
    """A minimal DevTools-protocol client for one page target."""

    def __init__(self, url: str) -> None:
        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        self.socket.settimeout(30)
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> None:
        """Read events until ``method`` arrives, then until none came for half a second."""
        deadline, seen = time.monotonic() + timeout, False
        while time.monotonic() < deadline:
            self.socket.settimeout(0.5 if seen else deadline - time.monotonic())
            try:
                message = json.loads(self.socket.recv())
            except websocket.WebSocketTimeoutException:
                if seen:
                    return
                continue
            self.events.append(message)
            seen = seen or message.get("method") == method
        if not seen:
            raise TimeoutError(f"no {method} within {timeout:g} s")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        self.socket.close()


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[str]:
    """Headless Chromium on about:blank; yields its page's DevTools websocket URL."""
    log = (profile.parent / "chromium.log").open("wb")
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        yield _page_target(_devtools_port(profile, process))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # its helpers, in the group it leads
        log.close()


def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with {process.returncode}; see chromium.log")
        if marker.is_file() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        time.sleep(0.1)
    raise TimeoutError("Chromium did not open its DevTools port within 30 s")


def _page_target(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
            pages = [t for t in json.load(response) if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise TimeoutError("Chromium has no page target")


def load(page: Path, profile: Path) -> PageLoad:
    """Open ``page`` with Network, Runtime and Log watched; read it and screenshot it whole."""
    with chromium(profile) as target:
        tools = DevTools(target)
        try:
            for domain in ("Network", "Runtime", "Log", "Page"):
                tools.call(f"{domain}.enable")
            tools.call("Page.navigate", url=page.resolve().as_uri())
            tools.wait_for("Page.loadEventFired", timeout=60)
            return _read_page(tools)
        finally:
            tools.close()


def _read_page(tools: DevTools) -> PageLoad:
    result = PageLoad(
        text=tools.evaluate("document.body.innerText"),
        svg_heights=tools.evaluate(
            "Array.from(document.querySelectorAll('svg'), s => s.getBoundingClientRect().height)"
        ),
        overflow_px=tools.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
    )
    size = tools.call("Page.getLayoutMetrics")["cssContentSize"]
    tools.call(
        "Emulation.setDeviceMetricsOverride",
        width=WIDTH,
        height=math.ceil(size["height"]),
        deviceScaleFactor=1,
        mobile=False,
    )
    shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    result.png = base64.b64decode(shot["data"])
    for event in tools.events:
        _record(event.get("method", ""), event.get("params", {}), result)
    return result


def _record(method: str, params: dict[str, Any], result: PageLoad) -> None:
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        values = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
        result.errors.append("console: " + " ".join(values))
    elif method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        result.errors.append("exception: " + str(details.get("text", details)))
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        result.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
    elif method == "Network.requestWillBeSent":
        url = params.get("request", {}).get("url", "")
        if not url.startswith(("file:", "data:")):
            result.external.append(url)


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
