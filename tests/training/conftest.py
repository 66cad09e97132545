"""Helpers of the trainer tests: tiny configs, batches, weight snapshots."""

from __future__ import annotations

import numpy as np

from gan_style.config import TrainConfig

SIZE = 32


def tiny_config(**overrides) -> TrainConfig:
    options = dict(
        style="unused",
        name="tiny",
        model="cyclegan",
        image_size=SIZE,
        steps=10,
        num_filters=4,
        num_blocks=1,
        disc_filters=4,
        disc_layers=2,
        pool_size=4,
        seed=1,
    )
    options.update(overrides)
    return TrainConfig(**options)


def batch(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (1, SIZE, SIZE, 3)).astype("float32")


def weights(model) -> list[np.ndarray]:
    return [np.array(value) for value in model.get_weights()]


def changed(before, after) -> bool:
    return any(not np.array_equal(left, right) for left, right in zip(before, after, strict=True))


def cut_config(model: str = "cut", **overrides) -> TrainConfig:
    return tiny_config(model=model, num_blocks=3, pool_size=0, **overrides)
