"""Telemetry for one run: which samplers, started before the load, finished after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchctl.rundir.names import TELEMETRY, TELEMETRY_PARTS, TELEMETRY_WINDOWS
from benchctl.rundir.writer import atomic_output
from benchctl.telemetry.gpu import open_gpu_sampler
from benchctl.telemetry.host import HostSampler
from benchctl.telemetry.monitor import Monitor, merge_telemetry
from benchctl.telemetry.processes import ProcessTreeSampler
from benchctl.telemetry.prometheus import PrometheusSampler
from benchctl.telemetry.sampler import Sampler, labels
from benchctl.telemetry.selfcheck import check_server_counts
from benchctl.telemetry.server_metrics import stages_exposed
from benchctl.telemetry.windows import read_telemetry, run_target, telemetry_windows

PARTS = TELEMETRY_PARTS  # names kept for importers; declared in benchctl.rundir.names
WINDOWS = TELEMETRY_WINDOWS
WINDOW_S = 5.0


@dataclass(frozen=True)
class TelemetryOptions:
    """What to sample: ``enabled`` (False: nothing), ``interval`` (s) for host, processes and GPU,
    ``scrape_interval`` (s) for the server's Prometheus endpoint, the server's ``server_pids`` or a
    ``server_process`` regex (name + command line) when the server was not launched here.
    """

    enabled: bool = True
    interval: float = 1.0  # host, processes, GPU
    scrape_interval: float = 2.0  # the server's Prometheus endpoint
    server_pids: tuple[int, ...] = ()
    server_process: str | None = None  # a regex over process name + command line


@dataclass
class TelemetrySession:
    """The running telemetry of one run: its ``monitor``, ``notes`` (one line per sampler that is
    off and why) and the ``server_kind`` (for the server metrics mapping).
    """

    monitor: Monitor
    notes: list[str] = field(default_factory=list)
    server_kind: str = ""

    @property
    def sampler_names(self) -> list[str]:
        """The names of the samplers running, in the order they were added."""
        return [s.name for s in self.monitor.samplers]

    def add_generator_cpu(self, t0: float, samples: list[tuple[float, str, float]]) -> None:
        """The load processes' own CPU (sampled by the engine) on the same clock."""
        self.monitor.add(
            [
                (t0 + t, "generator", "cpu_percent", labels(process=name), value)
                for t, name, value in samples
            ]
        )

    def self_check(
        self,
        run_dir: Path,
        info: dict[str, Any],
        sent: int | None = None,
        sent_is_lower_bound: bool | None = None,
    ) -> dict[str, Any] | None:
        """Server-side request count vs requests sent (see ``selfcheck``; ``sent`` is the
        generator's own counter, run.json ``counts.sent``, a lower bound when a load
        process died: ``counts.sent_is_lower_bound``): the result goes into ``info``
        (run.json's telemetry section) and is returned (None when the server counts
        nothing), its ``warning`` for the caller to show."""
        return check_server_counts(run_dir, info, sent, sent_is_lower_bound)

    def finish(self, run_dir: Path, t0: float | None, duration: float) -> dict[str, Any]:
        """Stop, write telemetry.parquet and the per-window table; the run.json section."""
        self.monitor.stop()
        self.monitor.flush()  # rows added after the samplers stopped (the generator's CPU)
        rows = merge_telemetry(run_dir / PARTS, run_dir / TELEMETRY, t0)
        raw = read_telemetry(run_dir / TELEMETRY)
        first = min(0.0, float(raw["time"].min()) if len(raw) else 0.0)
        end = max(duration, float(raw["time"].max()) if len(raw) else 0.0, WINDOW_S)
        # Windows align with the requests' (multiples of WINDOW_S from the run's start) and
        # reach back to the pre-load baseline sample, so counters are covered end to end.
        edges = np.arange(
            np.floor(first / WINDOW_S) * WINDOW_S,
            np.ceil(end / WINDOW_S) * WINDOW_S + WINDOW_S / 2,
            WINDOW_S,
        )
        _, model = run_target(run_dir)
        server = raw[raw["source"] == "server"]
        wide = telemetry_windows(raw, edges, self.server_kind, model)
        with atomic_output(run_dir / WINDOWS) as temporary:  # never through a symlink
            pq.write_table(pa.Table.from_pandas(wide, preserve_index=False), temporary)
        return {
            "samplers": self.sampler_names,
            "rows": rows,
            "notes": self.notes,
            "sampler_errors": dict(self.monitor.errors),
            "window_s": WINDOW_S,
            "server_kind": self.server_kind,
            "server_metrics": stages_exposed(server, self.server_kind, model),
        }


def start_telemetry(
    options: TelemetryOptions,
    run_dir: Path,
    *,
    server_kind: str,
    server_pid: int | None,
    metrics_url: str | None,
) -> TelemetrySession:
    """Start the samplers of a run and return the session.

    ``options``: what to sample; ``run_dir``: the run directory (parts go to its PARTS folder);
    ``server_kind``: the target's server kind; ``server_pid``: the launched server's PID (None: use
    ``options.server_pids``/``server_process``); ``metrics_url``: its Prometheus endpoint or None.
    Host sampling always, process and GPU sampling when possible, server metrics with a URL; each
    one that is off adds a note instead of raising. Raises ValueError/re.error for a bad
    ``server_process`` pattern, OSError when the parts folder cannot be written.
    """
    samplers: list[Sampler] = []
    notes: list[str] = []
    tree = None
    if options.enabled:
        samplers.append(HostSampler(options.interval))
        roots = [server_pid] if server_pid else list(options.server_pids)
        if roots or options.server_process:
            tree = ProcessTreeSampler(roots, options.server_process, options.interval)
            samplers.append(tree)
        else:
            notes.append(
                "server process telemetry off: not launched here; give --server-pid "
                "or --server-process"
            )
        gpu = open_gpu_sampler(tree.pids if tree else None, options.interval)
        if isinstance(gpu, str):
            notes.append(gpu)
        else:
            samplers.append(gpu)
        if metrics_url:
            samplers.append(PrometheusSampler(metrics_url, options.scrape_interval))
        else:
            notes.append("server metrics off: no metrics_url in the target profile")
    monitor = Monitor(samplers, run_dir / PARTS).start()
    return TelemetrySession(monitor, notes, server_kind)
