"""GPUs through NVML (nvidia-ml-py): utilization, memory, power, SM clock, temperature,
PCIe throughput, and the GPU memory held by the server's processes.

With no NVIDIA driver, ``open_gpu_sampler`` returns the one-line reason instead, and the
run goes on without GPU telemetry.
"""

from __future__ import annotations

from collections.abc import Callable

from benchctl.telemetry.sampler import Row, labels


def open_gpu_sampler(
    server_pids: Callable[[], set[int]] | None = None, interval: float = 1.0
) -> GpuSampler | str:
    """A sampler over every GPU, or why there is none (e.g. no NVIDIA driver)."""
    try:
        import pynvml
    except ImportError:
        return "GPU telemetry off: nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except pynvml.NVMLError as exc:
        return f"GPU telemetry off: no NVIDIA driver ({exc})"
    if count == 0:
        pynvml.nvmlShutdown()
        return "GPU telemetry off: NVML sees no GPU"
    return GpuSampler(pynvml, count, server_pids or set, interval)


class GpuSampler:
    """A Sampler (``benchctl.telemetry.sampler.Sampler``) over every GPU NVML sees, one label set
    per GPU (index and name); built by ``open_gpu_sampler``.

    ``nvml``: the imported, initialized pynvml module; ``count``: GPUs; ``server_pids``: a callable
    giving the server's PIDs now (for its GPU memory); ``interval``: seconds between samples.
    NVMLError from a handle lookup propagates from the constructor.
    """

    name = "gpu"

    def __init__(
        self, nvml: object, count: int, server_pids: Callable[[], set[int]], interval: float
    ) -> None:
        self.nvml = nvml
        self.interval = interval
        self.server_pids = server_pids
        self.handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self.names = [str(nvml.nvmlDeviceGetName(h)) for h in self.handles]

    def sample(self, now: float) -> list[Row]:
        """One row per GPU and metric at ``now`` (epoch seconds): utilization_percent and
        memory_utilization_percent (0-100, NVML's sampled busy fractions), memory_used_bytes,
        memory_total_bytes, power_watts (NVML's milliwatts / 1000), sm_clock_mhz, temperature_c,
        pcie_tx/rx_bytes_per_s (NVML's KB/s x 1024) and server_memory_used_bytes (the GPU memory of
        the server's processes). A metric the board does not support is left out (its NVMLError is
        caught); raises nothing else of its own.
        """
        nvml = self.nvml
        rows: list[Row] = []
        pids = self.server_pids()
        for index, handle in enumerate(self.handles):
            tag = labels(gpu=index, name=self.names[index])
            readings: dict[str, Callable[[], float]] = {
                "utilization_percent": lambda h=handle: nvml.nvmlDeviceGetUtilizationRates(h).gpu,
                "memory_utilization_percent": lambda h=handle: (
                    nvml.nvmlDeviceGetUtilizationRates(h).memory
                ),
                "memory_used_bytes": lambda h=handle: nvml.nvmlDeviceGetMemoryInfo(h).used,
                "memory_total_bytes": lambda h=handle: nvml.nvmlDeviceGetMemoryInfo(h).total,
                "power_watts": lambda h=handle: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0,
                "sm_clock_mhz": lambda h=handle: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM),
                "temperature_c": lambda h=handle: nvml.nvmlDeviceGetTemperature(
                    h, nvml.NVML_TEMPERATURE_GPU
                ),
                "pcie_tx_bytes_per_s": lambda h=handle: (
                    1024.0 * nvml.nvmlDeviceGetPcieThroughput(h, nvml.NVML_PCIE_UTIL_TX_BYTES)
                ),
                "pcie_rx_bytes_per_s": lambda h=handle: (
                    1024.0 * nvml.nvmlDeviceGetPcieThroughput(h, nvml.NVML_PCIE_UTIL_RX_BYTES)
                ),
            }
            for metric, read in readings.items():
                try:
                    rows.append((now, "gpu", metric, tag, float(read())))
                except nvml.NVMLError:
                    continue  # not supported on this GPU (e.g. power on some boards)
            try:
                processes = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
            except nvml.NVMLError:
                processes = []
            server_bytes = sum(p.usedGpuMemory or 0 for p in processes if p.pid in pids)
            rows.append((now, "gpu", "server_memory_used_bytes", tag, float(server_bytes)))
        return rows

    def close(self) -> None:
        """Shut NVML down (``nvmlShutdown``); NVMLError propagates."""
        self.nvml.nvmlShutdown()
