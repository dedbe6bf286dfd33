"""The bundled reference model: a small ReLU MLP with softmax output, pure numpy.

Server-agnostic on purpose: the KServe, Triton and TorchServe launchers load this file
by path inside their own environments, so it imports nothing but the standard library
and numpy.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

MODEL_NAME = "mlp"
INPUT_NAME = "input-0"
OUTPUT_NAME = "output-0"


@dataclass(frozen=True)
class RefModelConfig:
    """Shape, compute cost and stall behaviour of the reference model."""

    input_dim: int = 64
    output_dim: int = 10
    hidden_width: int = 256
    hidden_layers: int = 4
    repeat: int = 1  # forward passes per predict call: the compute-cost knob
    seed: int = 0
    stall_every_s: float = 0.0  # >0: the server stalls once per cycle of this length
    stall_for_s: float = 0.0  # length of the stall at the start of every cycle
    cost_ms: float = 0.0  # >0: each predict call keeps the CPU busy this long (wall clock)
    cache_size: int = 0  # >0: answers kept for this many distinct inputs (LRU on input bytes)

    def __post_init__(self) -> None:
        for name in ("input_dim", "output_dim", "hidden_width", "repeat"):
            if getattr(self, name) < 1:
                raise ValueError(f"RefModelConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_layers < 0:
            raise ValueError(f"RefModelConfig.hidden_layers must be >= 0, got {self.hidden_layers}")
        if self.cache_size < 0:
            raise ValueError(f"RefModelConfig.cache_size must be >= 0, got {self.cache_size}")
        if self.cost_ms < 0:
            raise ValueError(f"RefModelConfig.cost_ms must be >= 0, got {self.cost_ms}")
        if self.stall_every_s < 0 or self.stall_for_s < 0:
            raise ValueError("RefModelConfig.stall_every_s and stall_for_s must be >= 0")
        if self.stall_every_s > 0 and self.stall_for_s >= self.stall_every_s:
            raise ValueError(
                f"RefModelConfig.stall_for_s ({self.stall_for_s}) must be shorter than "
                f"stall_every_s ({self.stall_every_s})"
            )


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per RefModelConfig field (``--hidden-width`` ...), with its default."""
    defaults = RefModelConfig()
    for field in dataclasses.fields(RefModelConfig):
        default = getattr(defaults, field.name)
        parser.add_argument(
            "--" + field.name.replace("_", "-"), type=type(default), default=default
        )


def config_from_arguments(args: argparse.Namespace) -> RefModelConfig:
    """The RefModelConfig that ``add_config_arguments`` flags were parsed into."""
    return RefModelConfig(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(RefModelConfig)}
    )


def config_arguments(config: RefModelConfig) -> list[str]:
    """The command-line flags that reproduce ``config`` (the inverse of the two above)."""
    flags: list[str] = []
    for field in dataclasses.fields(config):
        flags += ["--" + field.name.replace("_", "-"), str(getattr(config, field.name))]
    return flags


class RefModel:
    """Deterministic float32 ReLU MLP: [batch, input_dim] -> softmax [batch, output_dim]."""

    def __init__(self, cfg: RefModelConfig = RefModelConfig()) -> None:
        self.cfg = cfg
        rng = np.random.default_rng(cfg.seed)
        dims = [cfg.input_dim] + [cfg.hidden_width] * cfg.hidden_layers + [cfg.output_dim]
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for fan_in, fan_out in itertools.pairwise(dims):
            scale = np.sqrt(2.0 / fan_in)  # He init keeps activations O(1) through ReLUs
            self.weights.append((rng.standard_normal((fan_in, fan_out)) * scale).astype(np.float32))
            self.biases.append((rng.standard_normal(fan_out) * 0.01).astype(np.float32))
        self.loaded_at = time.monotonic()  # stall cycles count from here
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.cache_hits = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Run the forward pass `repeat` times; return float32 probabilities per row.

        With ``cache_size`` > 0 an input seen among the last ``cache_size`` distinct inputs
        (same shape and bytes) is answered from the cache at once: no stall, no cost_ms, no
        forward pass (a result cache in front of the model, as many deployments have).
        """
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.cfg.input_dim:
            raise ValueError(
                f"expected input of shape [batch, {self.cfg.input_dim}], got {list(x.shape)}"
            )
        if self.cfg.cache_size:
            key = x.shape[0].to_bytes(4, "little") + x.tobytes()
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return hit.copy()
            out = self._compute(x)
            self._cache[key] = out.copy()
            if len(self._cache) > self.cfg.cache_size:
                self._cache.popitem(last=False)
            return out
        return self._compute(x)

    def _compute(self, x: np.ndarray) -> np.ndarray:
        self._wait_out_stall()
        busy_until = time.perf_counter() + self.cfg.cost_ms / 1000.0
        out = x
        for _ in range(self.cfg.repeat):
            out = self._forward(x)
        self._spin(busy_until)
        return out

    @staticmethod
    def _spin(until: float) -> None:
        """Keep the CPU busy until ``until`` (perf_counter seconds): a set per-request cost.

        Wall-clock bounded, so one worker serves at most 1000 / cost_ms requests per second
        however busy the host is: a known saturation throughput for capacity tests.
        """
        while time.perf_counter() < until:
            pass

    def _forward(self, x: np.ndarray) -> np.ndarray:
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < last:
                np.maximum(h, 0.0, out=h)
        h = h - h.max(axis=1, keepdims=True)
        np.exp(h, out=h)
        h /= h.sum(axis=1, keepdims=True)
        return h

    def _wait_out_stall(self) -> None:
        """Block until the current stall window (if any) has ended."""
        every, stall = self.cfg.stall_every_s, self.cfg.stall_for_s
        if every <= 0 or stall <= 0:
            return
        phase = (time.monotonic() - self.loaded_at) % every
        if phase < stall:
            time.sleep(stall - phase)
