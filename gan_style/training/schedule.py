"""The optimiser every gan-style model trains with: Adam, constant learning rate, then linear decay.

CycleGAN's schedule (Zhu et al. 2017, section 7.1): the rate stays at its initial value for the
first part of the run and then falls linearly to zero at the last step. DCGAN's Adam settings
(Radford et al. 2016: learning rate 2e-4, β1 0.5) are the same as CycleGAN's, so both models
share this one factory.
"""

from __future__ import annotations

from typing import Any

import keras

from gan_style.config import TrainConfig


@keras.saving.register_keras_serializable(package="gan_style")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """CycleGAN's schedule: constant for ``decay_start_step`` steps, then linear to zero.

    Args:
        initial_learning_rate: The constant rate.
        total_steps: The step at which the rate reaches zero.
        decay_start_step: The step at which the decay begins.
    """

    def __init__(self, initial_learning_rate: float, total_steps: int, decay_start_step: int):
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start_step = int(min(decay_start_step, total_steps))
        # The traced train step reads these variables, so `retarget` moves the end of the run
        # (a time-limited run plans it once it has measured its speed) without a retrace.
        self._total = keras.Variable(float(self.total_steps), trainable=False, name="total_steps")
        self._decay_start = keras.Variable(
            float(self.decay_start_step), trainable=False, name="decay_start_step"
        )

    def retarget(self, total_steps: int, decay_start_step: int) -> None:
        """End the schedule at ``total_steps``, decaying from ``decay_start_step`` on."""
        self.total_steps = int(total_steps)
        self.decay_start_step = int(min(decay_start_step, total_steps))
        self._total.assign(float(self.total_steps))
        self._decay_start.assign(float(self.decay_start_step))

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        decay_steps = keras.ops.maximum(1.0, self._total - self._decay_start)
        fraction = keras.ops.clip((step - self._decay_start) / decay_steps, 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - fraction)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "total_steps": self.total_steps,
            "decay_start_step": self.decay_start_step,
        }


def make_optimizer(
    config: TrainConfig, *, discriminator: bool = False
) -> keras.optimizers.Optimizer:
    """A fresh Adam with `ConstantThenLinearDecay` over ``config.steps`` (a resolved config).

    Args:
        config: The resolved training config.
        discriminator: Whether the optimiser is a discriminator's (it then starts from
            ``config.d_learning_rate``, which `TrainConfig.resolved` always sets).
    """
    rate = config.d_learning_rate if discriminator else config.learning_rate
    schedule = ConstantThenLinearDecay(rate, config.steps, round(config.decay_start * config.steps))
    return keras.optimizers.Adam(learning_rate=schedule, beta_1=config.beta_1)


def retarget_optimizers(optimizers, config: TrainConfig, total_steps: int) -> None:
    """Move the end of every optimizer's `ConstantThenLinearDecay` to ``total_steps``.

    The decay keeps its place as a fraction of the run (``config.decay_start``).
    """
    for optimizer in optimizers:
        schedule = optimizer._learning_rate
        if not isinstance(schedule, ConstantThenLinearDecay):
            raise TypeError(f"optimizer {optimizer.name!r} has no ConstantThenLinearDecay")
        schedule.retarget(total_steps, round(config.decay_start * total_steps))
