"""Planning a time-limited run with a fake clock."""

from __future__ import annotations

from gan_style.training.budget import (
    MIN_MEASURED_STEPS,
    RESERVE_FRACTION,
    RESERVE_SECONDS,
    WARMUP_STEPS,
    StepPlanner,
)


def run(planner: StepPlanner, seconds_per_step: float, first_step_seconds: float = 5.0):
    """Steps until the planner's plan (or its limit) is reached; returns (steps, clock, plans)."""
    now, step, plans = planner.start_time, planner.start_step, []
    while planner.planned is None or step < planner.planned:
        now += first_step_seconds if step == planner.start_step else seconds_per_step
        step += 1
        planned = planner.observe(step, now, replan=step % 50 == 0)
        if planned is not None:
            plans.append(planned)
        if planner.out_of_time(now):
            break
    return step, now, plans


def test_the_plan_ends_inside_the_limit_with_the_reserve():
    planner = StepPlanner(limit=100.0, used=0.0, start_step=0, start_time=0.0)
    steps, clock, plans = run(planner, seconds_per_step=0.5)
    assert plans, "the planner never planned"
    assert clock <= 100.0 - RESERVE_SECONDS + 0.5
    # Slow first step aside, nearly all of the time left after the reserve is used.
    assert steps >= (100.0 - RESERVE_SECONDS - 5.0) / 0.5 - 2


def test_no_plan_before_warm_up_and_enough_measured_steps():
    planner = StepPlanner(limit=1000.0, used=0.0, start_step=0, start_time=0.0)
    for step in range(1, WARMUP_STEPS + MIN_MEASURED_STEPS):
        assert planner.observe(step, step * 1.0) is None
    assert planner.observe(WARMUP_STEPS + MIN_MEASURED_STEPS, 13.0) is not None


def test_a_resumed_run_plans_only_the_time_that_is_left():
    fresh = StepPlanner(limit=100.0, used=0.0, start_step=0, start_time=0.0)
    resumed = StepPlanner(limit=100.0, used=60.0, start_step=100, start_time=0.0)
    fresh_steps, _, _ = run(fresh, seconds_per_step=0.5, first_step_seconds=0.5)
    resumed_steps, _, _ = run(resumed, seconds_per_step=0.5, first_step_seconds=0.5)
    assert resumed_steps - 100 < 0.45 * fresh_steps


def test_a_slower_machine_is_replanned_at_checkpoints():
    planner = StepPlanner(limit=200.0, used=0.0, start_step=0, start_time=0.0)
    now = 0.0
    for step in range(1, 21):
        now += 0.5
        planner.observe(step, now)
    first = planner.planned
    for step in range(21, 51):
        now += 2.0  # something else took the cores
        planner.observe(step, now, replan=step == 50)
    assert planner.planned < first


def test_max_steps_caps_the_plan_and_saves_grow_the_reserve():
    planner = StepPlanner(limit=1000.0, used=0.0, start_step=0, start_time=0.0, max_steps=40)
    steps, _, plans = run(planner, seconds_per_step=0.1)
    assert plans[0] == 40 and steps == 40
    planner.note_save(3.0)
    assert planner.reserve == RESERVE_SECONDS + 6.0
    assert planner.out_of_time(1000.0 - planner.reserve)


def test_a_short_limit_keeps_a_proportional_reserve():
    """A 25-second budget keeps 5 % of it, not the fixed 5 s, beyond twice the slowest save."""
    planner = StepPlanner(limit=25.0, used=0.0, start_step=0, start_time=0.0)
    planner.note_save(1.5)
    assert planner.reserve == RESERVE_FRACTION * 25.0 + 3.0 < RESERVE_SECONDS + 3.0
    _, clock, plans = run(planner, seconds_per_step=0.25, first_step_seconds=1.0)
    assert plans and clock <= 25.0 - planner.reserve + 0.25
    assert clock >= 25.0 - planner.reserve - 0.5  # the time after the reserve is used
