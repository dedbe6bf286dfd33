"""The server's processes: the whole tree under given PIDs, or processes matching a name.

The tree is found again at every sample, so workers that start late (KServe's uvicorn
workers, TorchServe's Python workers, Triton's backend stubs) are counted as they appear.
"""

from __future__ import annotations

import re

import psutil

from benchctl.telemetry.sampler import Row, labels

RESCAN_EVERY = 5  # samples between full scans by name pattern


class ProcessTreeSampler:
    """A Sampler (``benchctl.telemetry.sampler.Sampler``) of the server's processes: the trees under
    ``roots`` (PIDs) and/or every process whose name and command line match ``pattern`` (a regular
    expression), found again at each sample. ``interval``: seconds between samples. Raises
    ValueError when neither ``roots`` nor ``pattern`` is given, re.error for a bad pattern.
    """

    name = "server_processes"

    def __init__(
        self, roots: list[int] | None = None, pattern: str | None = None, interval: float = 1.0
    ) -> None:
        if not roots and not pattern:
            raise ValueError("give root PIDs or a process-name pattern")
        self.roots = list(roots or [])
        self.pattern = re.compile(pattern) if pattern else None
        self.interval = interval
        self._known: dict[int, psutil.Process] = {}
        self._matched: dict[int, psutil.Process] = {}
        self._samples = 0

    def processes(self) -> list[psutil.Process]:
        """The processes sampled now (each kept across samples for CPU deltas)."""
        found: dict[int, psutil.Process] = {}
        for pid in self.roots:
            try:
                root = self._known.get(pid) or psutil.Process(pid)
                found[pid] = root
                for child in root.children(recursive=True):
                    found[child.pid] = self._known.get(child.pid) or child
            except psutil.Error:
                continue
        if self.pattern is not None:
            found.update(self._matching())
        self._known = found
        return list(found.values())

    def _matching(self) -> dict[int, psutil.Process]:
        """Processes matching the pattern: a full scan every RESCAN_EVERY samples (reading
        every command line costs CPU beside the load); in between, the known ones alive."""
        self._samples += 1
        if self._samples % RESCAN_EVERY != 1:
            return {pid: p for pid, p in self._matched.items() if p.is_running()}
        assert self.pattern is not None
        self._matched = {}
        for process in psutil.process_iter(["name", "cmdline"]):
            text = " ".join([process.info["name"] or "", *(process.info["cmdline"] or [])])
            if self.pattern.search(text):
                self._matched[process.pid] = self._known.get(process.pid) or process
        return dict(self._matched)

    def pids(self) -> set[int]:
        """PIDs found at the last sample (for per-process GPU memory)."""
        return set(self._known)

    def sample(self, now: float) -> list[Row]:
        """Rows at ``now`` (epoch seconds), source ``server_process``: per process (labels pid and
        name) cpu_percent (of one core, since the previous sample: may exceed 100), rss_bytes,
        threads and open_files (file descriptors); their sums with label ``process="tree"``; and the
        count of processes sampled. A process that exits meanwhile is skipped; raises nothing of its
        own.
        """
        rows: list[Row] = []
        sampled = 0
        totals = {"cpu_percent": 0.0, "rss_bytes": 0.0, "threads": 0.0, "open_files": 0.0}
        for process in self.processes():
            try:
                with process.oneshot():
                    values = {
                        "cpu_percent": process.cpu_percent(None),
                        "rss_bytes": float(process.memory_info().rss),
                        "threads": float(process.num_threads()),
                        "open_files": float(process.num_fds()),
                    }
                    tag = labels(pid=process.pid, name=process.name())
            except psutil.Error:
                continue  # it exited between discovery and sampling
            sampled += 1
            for metric, value in values.items():
                rows.append((now, "server_process", metric, tag, value))
                totals[metric] += value
        total_tag = labels(process="tree")
        rows += [(now, "server_process", m, total_tag, v) for m, v in totals.items()]
        rows.append((now, "server_process", "processes", total_tag, float(sampled)))
        return rows

    def close(self) -> None:
        """Forget the known processes; returns None."""
        self._known.clear()
