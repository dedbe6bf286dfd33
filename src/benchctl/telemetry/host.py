"""The host: CPU (total and per core), load, memory, network bytes, context switches."""

from __future__ import annotations

import os

import psutil

from benchctl.telemetry.sampler import Row, labels

NONE = labels()


class HostSampler:
    name = "host"

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        psutil.cpu_percent(percpu=True)  # prime: the first reading covers since now

    def sample(self, now: float) -> list[Row]:
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
        pass
