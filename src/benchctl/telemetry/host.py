"""The host: CPU (total and per core), load, memory, network bytes, context switches."""

from __future__ import annotations

import os

import psutil

from benchctl.telemetry.sampler import Row, labels

NONE = labels()


class HostSampler:
    """A Sampler (``benchctl.telemetry.sampler.Sampler``) of the whole host through psutil.

    ``interval``: seconds between samples. The constructor primes psutil's CPU counters so the first
    sample covers the time since construction.
    """

    name = "host"

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        psutil.cpu_percent(percpu=True)  # prime: the first reading covers since now

    def sample(self, now: float) -> list[Row]:
        """Host rows at ``now`` (epoch seconds): cpu_percent (mean of the cores, and per core with a
        ``cpu`` label; 0-100 since the previous call), load1/load5/load15 (run-queue length,
        ``os.getloadavg``), memory_used/available_bytes and memory_percent, and the cumulative
        counters net_sent/recv_bytes_total and ctx_switches_total. psutil's and the OS's errors
        propagate (the monitor records them).
        """
        per_core = psutil.cpu_percent(percpu=True)
        rows: list[Row] = [(now, "host", "cpu_percent", NONE, sum(per_core) / len(per_core))]
        rows += [(now, "host", "cpu_percent", labels(cpu=i), v) for i, v in enumerate(per_core)]
        for minutes, value in zip((1, 5, 15), os.getloadavg(), strict=True):
            rows.append((now, "host", f"load{minutes}", NONE, value))
        memory = psutil.virtual_memory()
        rows += [
            (now, "host", "memory_used_bytes", NONE, float(memory.used)),
            (now, "host", "memory_available_bytes", NONE, float(memory.available)),
            (now, "host", "memory_percent", NONE, memory.percent),
        ]
        net = psutil.net_io_counters()
        rows += [
            (now, "host", "net_sent_bytes_total", NONE, float(net.bytes_sent)),
            (now, "host", "net_recv_bytes_total", NONE, float(net.bytes_recv)),
            (now, "host", "ctx_switches_total", NONE, float(psutil.cpu_stats().ctx_switches)),
        ]
        return rows

    def close(self) -> None:
        """Nothing to release; returns None."""
        pass
