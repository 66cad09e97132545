"""The learning-rate schedule's end moves without retracing (time-limited runs plan it late)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from gan_style.training.schedule import ConstantThenLinearDecay, retarget_optimizers
from tests.training.conftest import tiny_config


def test_retarget_moves_the_decay_inside_an_already_traced_train_step():
    schedule = ConstantThenLinearDecay(1e-2, total_steps=10**9, decay_start_step=10**9 // 2)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    inputs, targets = np.ones((1, 2), np.float32), np.zeros((1, 1), np.float32)
    model.train_on_batch(inputs, targets)  # traced with the unplanned end
    traced = model.train_function
    retarget_optimizers([model.optimizer], tiny_config(decay_start=0.5), total_steps=3)
    assert (schedule.total_steps, schedule.decay_start_step) == (3, 2)  # round(0.5 × 3)
    before = model.get_weights()[0].copy()
    model.train_on_batch(inputs, targets)  # step 1: rate 1e-2
    model.train_on_batch(inputs, targets)  # step 2: decay starts, rate 1e-2
    middle = model.get_weights()[0].copy()
    model.train_on_batch(inputs, targets)  # step 3: rate 0, nothing moves
    assert model.train_function is traced
    assert not np.array_equal(before, middle)
    np.testing.assert_array_equal(middle, model.get_weights()[0])
    assert float(schedule(3)) == 0.0 and float(schedule(1)) == pytest.approx(1e-2)
    assert schedule.get_config()["total_steps"] == 3
