"""The reference model: shapes, determinism, softmax, input checks and the stall knob."""

import time

import numpy as np
import pytest

from benchctl.targets.refmodel import RefModel, RefModelConfig


def _x(batch: int, dim: int = 64, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, dim)).astype(np.float32)


@pytest.mark.parametrize("batch", [1, 7])
def test_shapes_and_dtype(batch: int) -> None:
    y = RefModel(RefModelConfig()).predict(_x(batch))
    assert y.shape == (batch, 10)
    assert y.dtype == np.float32


def test_custom_dims() -> None:
    cfg = RefModelConfig(input_dim=8, output_dim=3, hidden_width=16, hidden_layers=0)
    assert RefModel(cfg).predict(_x(2, dim=8)).shape == (2, 3)


def test_softmax_rows_are_probabilities() -> None:
    y = RefModel(RefModelConfig()).predict(_x(32))
    assert (y >= 0).all()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    assert y.std() > 1e-3  # not a constant output


def test_deterministic_per_seed() -> None:
    x = _x(4)
    a = RefModel(RefModelConfig(seed=3)).predict(x)
    b = RefModel(RefModelConfig(seed=3)).predict(x)
    c = RefModel(RefModelConfig(seed=4)).predict(x)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_repeat_costs_time_not_answers() -> None:
    x = _x(3)
    np.testing.assert_array_equal(
        RefModel(RefModelConfig(repeat=3)).predict(x), RefModel(RefModelConfig()).predict(x)
    )


def test_float64_input_is_accepted() -> None:
    x = _x(2)
    np.testing.assert_array_equal(
        RefModel(RefModelConfig()).predict(x.astype(np.float64)),
        RefModel(RefModelConfig()).predict(x),
    )


@pytest.mark.parametrize("shape", [(64,), (2, 63), (2, 65), (1, 2, 64)])
def test_bad_shape_raises(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"expected input of shape \[batch, 64\]"):
        RefModel(RefModelConfig()).predict(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize(
    "kwargs",
    [{"repeat": 0}, {"hidden_width": 0}, {"hidden_layers": -1}, {"stall_for_s": -1.0},
     {"stall_every_s": 1.0, "stall_for_s": 1.0}],
)  # fmt: skip
def test_bad_config_raises(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RefModelConfig"):
        RefModelConfig(**kwargs)  # type: ignore[arg-type]


def test_stall_blocks_until_the_window_ends() -> None:
    every, stall = 0.5, 0.2
    model = RefModel(RefModelConfig(stall_every_s=every, stall_for_s=stall))
    x = _x(1)
    blocked = free = 0
    stop_at = model.loaded_at + 1.6  # three cycles; bounded in time and count
    for _ in range(100):
        start = time.monotonic()
        if start > stop_at:
            break
        model.predict(x)
        end = time.monotonic()
        phase = (start - model.loaded_at) % every
        if phase < stall - 0.01:  # started inside a stall window: returns when it ends
            blocked += 1
            assert stall - phase - 0.005 <= end - start <= stall - phase + 0.1
        elif stall + 0.01 < phase < every - 0.1:  # well outside: no wait
            free += 1
            assert end - start < 0.1
        time.sleep(0.03)
    assert blocked >= 3
    assert free >= 3


def test_no_stall_by_default() -> None:
    model = RefModel(RefModelConfig())
    start = time.monotonic()
    for _ in range(20):
        model.predict(_x(1))
    assert time.monotonic() - start < 0.5
