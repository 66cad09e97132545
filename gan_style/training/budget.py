"""Planning a time-limited run: how many steps fit in the budget, measured as the run goes.

A run with ``--time-limit`` cannot know its step count in advance: the speed depends on the
machine, the model and whatever else runs. `StepPlanner` watches the wall clock: after a few
warm-up steps (tracing and the first allocations are slow) it measures the seconds per step,
plans the last step so that the run ends inside the budget with a reserve for writing the final
bundle, and re-plans at every checkpoint from the speed measured since warm-up (which includes
the checkpoints' and sample grids' own cost). The trainer's learning-rate schedules follow the
plan (`gan_style.training.schedule.retarget_optimizers`), so the decay ends at the planned step
and the run finishes with a decayed model. Pure Python, no TensorFlow: testable with a fake
clock.
"""

from __future__ import annotations

import math

WARMUP_STEPS = 3
"""Steps left out of the speed measurement (the first includes tracing)."""

MIN_MEASURED_STEPS = 10
"""Steps measured before the first plan."""

MIN_MEASURED_SECONDS = 2.0
"""Seconds measured before the first plan (a few fast steps say little)."""

RESERVE_SECONDS = 5.0
"""Time kept for the final checkpoint and bundle, beyond the measured cost of a checkpoint."""

RESERVE_FRACTION = 0.05
"""The fixed reserve is at most this share of the limit: a short budget is not mostly reserve."""

REPLAN_TOLERANCE = 0.01
"""A new plan replaces the old one when it differs by more than this fraction."""


class StepPlanner:
    """Plans the last step of a run that must end within ``limit`` seconds.

    Args:
        limit: Seconds the whole run may take (resumed calls included).
        used: Seconds earlier calls of the run already took.
        start_step: The step this call starts at.
        start_time: The clock's reading at ``start_step``.
        max_steps: An upper bound on the plan (the user's ``--steps``), or None.
    """

    def __init__(
        self,
        limit: float,
        used: float,
        start_step: int,
        start_time: float,
        max_steps: int | None = None,
    ):
        self.limit = float(limit)
        self.used = float(used)
        self.start_step = start_step
        self.start_time = start_time
        self.max_steps = max_steps
        self.planned: int | None = None
        self.save_seconds = 0.0
        self._warm: tuple[int, float] | None = None

    def elapsed(self, now: float) -> float:
        """Seconds of the run so far, earlier calls included."""
        return self.used + now - self.start_time

    def note_save(self, seconds: float) -> None:
        """Record how long a checkpoint (and bundle refresh) took, for the reserve."""
        self.save_seconds = max(self.save_seconds, seconds)

    def out_of_time(self, now: float) -> bool:
        """Whether the run must stop now to finish inside the limit."""
        return self.elapsed(now) + self.reserve >= self.limit

    @property
    def reserve(self) -> float:
        """Seconds kept free at the end: a fixed margin plus twice the slowest checkpoint."""
        return min(RESERVE_SECONDS, RESERVE_FRACTION * self.limit) + 2 * self.save_seconds

    def observe(self, step: int, now: float, *, replan: bool = False) -> int | None:
        """Call after each step; returns a new planned last step when the plan changes.

        Args:
            step: Steps completed.
            now: The clock's reading.
            replan: Re-plan from the latest speed (at a checkpoint) once a plan exists.
        """
        if self._warm is None:
            if step - self.start_step >= WARMUP_STEPS:
                self._warm = (step, now)
            return None
        warm_step, warm_time = self._warm
        measured_steps, measured_seconds = step - warm_step, now - warm_time
        if self.planned is not None and not replan:
            return None
        if measured_steps < MIN_MEASURED_STEPS or measured_seconds < MIN_MEASURED_SECONDS:
            return None
        seconds_per_step = measured_seconds / measured_steps
        remaining = self.limit - self.elapsed(now) - self.reserve
        planned = step + max(0, math.floor(remaining / seconds_per_step))
        planned = max(planned, step)
        if self.max_steps is not None:
            planned = min(planned, self.max_steps)
        if self.planned is None or abs(planned - self.planned) > REPLAN_TOLERANCE * self.planned:
            self.planned = planned
            return planned
        return None
