"""Scrape a server's Prometheus endpoint and keep every raw sample."""

from __future__ import annotations

import json
import re
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from benchctl.telemetry.sampler import Row

TIMEOUT_S = 2.0
_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", re.MULTILINE)


def parse_metrics(text: str, now: float) -> list[Row]:
    """Every sample of a Prometheus text exposition as telemetry rows (source ``server``).

    Names are kept as the server wrote them: prometheus_client's parser appends ``_total`` to
    counters that lack it (Triton's ``nv_inference_request_success``), which we undo.
    """
    written = set(_NAME.findall(text))
    rows: list[Row] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if name not in written and name.removesuffix("_total") in written:
                name = name.removesuffix("_total")
            tag = json.dumps(dict(sample.labels), sort_keys=True)
            rows.append((now, "server", name, tag, float(sample.value)))
    return rows


class PrometheusSampler:
    """A Sampler (``benchctl.telemetry.sampler.Sampler``) that scrapes ``url`` (a Prometheus text
    exposition endpoint) every ``interval`` seconds (default 2 s).
    """

    name = "server_metrics"

    def __init__(self, url: str, interval: float = 2.0) -> None:
        self.url = url
        self.interval = interval

    def sample(self, now: float) -> list[Row]:
        """Every sample of one scrape as rows at ``now`` (epoch seconds), source ``server``, names
        as the server wrote them (``parse_metrics``). Raises urllib's URLError/HTTPError or
        TimeoutError (after TIMEOUT_S = 2 s) when the endpoint does not answer, ValueError for text
        that is not an exposition; the monitor records the failure and goes on.
        """
        with urllib.request.urlopen(self.url, timeout=TIMEOUT_S) as response:
            text = response.read().decode("utf-8", errors="replace")
        return parse_metrics(text, now)

    def close(self) -> None:
        """Nothing to release (one connection per scrape); returns None."""
        pass
