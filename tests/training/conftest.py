"""Helpers of the trainer tests: tiny configs, batches, weight snapshots."""

from __future__ import annotations

import numpy as np

from gan_style.config import TrainConfig
from tests.conftest import TINY_NETWORKS

SIZE = TINY_NETWORKS["image_size"]


def tiny_config(**overrides) -> TrainConfig:
    """A config of the tiny networks (cyclegan unless ``overrides`` say otherwise)."""
    options = dict(style="unused", name="tiny", model="cyclegan", steps=10, seed=1)
    return TrainConfig(**{**options, **TINY_NETWORKS, **overrides})


def batch(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (1, SIZE, SIZE, 3)).astype("float32")


def weights(model) -> list[np.ndarray]:
    return [np.array(value) for value in model.get_weights()]


def changed(before, after) -> bool:
    return any(not np.array_equal(left, right) for left, right in zip(before, after, strict=True))


def cut_config(model: str = "cut", **overrides) -> TrainConfig:
    return tiny_config(model=model, num_blocks=3, pool_size=0, **overrides)
