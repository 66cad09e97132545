"""The plan's cost model (`gan_style.tiling.plan`): figures by hand, and no TensorFlow.

The plan is pure Python on the shapes of a generator program, so these tests build a small
program by hand (zero weights of the right shapes) instead of reading a Keras model, and one
test runs them again in a process where TensorFlow and Keras cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gan_style.tiling import program as ir  # the operations a generator is read into
from gan_style.tiling.plan import DEFAULT_MEMORY_BUDGET, Planner, TilePlan

REPO = Path(__file__).resolve().parents[1]


def program(operations: list[ir.Operation], channels: int, residual: bool = False) -> ir.Program:
    """`operations` on `channels` input channels, with zero weights of the right shapes."""
    weights = []
    for operation in operations:
        if isinstance(operation, ir.Conv):
            size = operation.kernel_size
            weights.append(np.zeros((size, size, channels, operation.filters), np.float32))
            if operation.use_bias:
                weights.append(np.zeros(operation.filters, np.float32))
            channels = operation.filters
        elif isinstance(operation, ir.Norm):
            weights += [np.zeros(operation.channels, np.float32)] * 2
    return ir.Program(tuple(operations), tuple(weights), residual)


def small_generator() -> ir.GeneratorProgram:
    """A generator of 2-pixel cells and 4 channels, with its FLOPs per cell by hand.

    Encoder: a stride-2 3×3 convolution 3 → 4 (2·9·3·4 = 216 FLOPs a cell), a norm. Trunk: one
    residual block of two 3×3 convolutions 4 → 4 (2 · 2·9·4·4 = 576). Decoder: ×2 up-sampling
    and a 3×3 convolution 4 → 3 at 2×2 pixels a cell (4 · 2·9·4·3 = 864). Halos are
    ceil(radius) + 1 cells: the encoder reaches 1/2 cell, the block 2, the decoder 1 + 1/2;
    a block's 1-pixel pads need 2 cells.
    """
    encoder = program(
        [ir.Pad(1, 1), ir.Conv(3, 2, 4, True, "linear"), ir.Norm(4, 1e-5)], channels=3
    )
    block = [ir.Pad(1, 1), ir.Conv(3, 1, 4, True, "linear"), ir.Norm(4, 1e-5), ir.Pointwise("relu")]
    block += [ir.Pad(1, 1), ir.Conv(3, 1, 4, True, "linear"), ir.Norm(4, 1e-5)]
    trunk = (program(block, channels=4, residual=True),)
    decoder = program([ir.Upsample(2), ir.Pad(1, 1), ir.Conv(3, 1, 3, True, "tanh")], channels=4)
    return ir.GeneratorProgram(
        encoder, trunk, decoder, cell=2, channels=4, min_cells=2, halos=(2, 3, 3)
    )


def test_flops_and_padding_by_hand():
    planner = Planner(small_generator(), itemsize=4)

    assert planner.flops_per_pixel() == (216 + 576 + 864) / 4  # per cell of 2×2 pixels
    assert planner.padded_size(301, 401) == (302, 402)  # whole cells
    assert planner.padded_size(1, 1) == (4, 4)  # the trunk's pads need 2 cells


def test_one_pass_plan_by_hand():
    plan = Planner(small_generator(), itemsize=4).plan(300, 400)

    # Images: 24 bytes a pixel. Largest activation: the decoder's padded up-sampled map,
    # 302 × 402 × 4 float32 values, 3.5 times over.
    images = 24 * 300 * 400
    largest = 4 * 302 * 402 * 4
    assert plan == TilePlan(
        height=300,
        width=400,
        padded_height=300,
        padded_width=400,
        tile=0,  # one pass
        trunk_tile=0,
        batch_size=1,
        trunk="whole",
        decoder="recompute",
        estimated_bytes=int(images + 3.5 * largest),
        estimated_flops=414 * 300 * 400,
    )


def test_tiled_plan_by_hand():
    plan = Planner(small_generator(), itemsize=4).plan(300, 400, tile=64, trunk="whole")

    cells = 150 * 200
    # FLOPs: the encoder and decoder tiles of 32 cells compute their crops, 32 + 2 × halo
    # cells a side; the whole trunk has no halo. The encoder's norm is its last operation, so
    # its one pass stores its input and no second pass runs.
    encoder = 216 * (36 / 32) ** 2
    decoder = 864 * (38 / 32) ** 2
    # Memory: images, then the larger of the whole trunk (the feature map and 4.5 float32
    # copies) and the tiles (the feature map and 8 tiles of 3 crops of the decoder's largest
    # activation: (32 + 2 × 3) cells, up-sampled and padded, 78 × 78 × 4 float32 values).
    feature_map = cells * 4 * 4
    tiles = feature_map + 8 * 3 * (4 * 78 * 78 * 4)
    assert max(feature_map + 4.5 * cells * 4 * 4, tiles) == tiles
    assert (plan.tile, plan.trunk_tile, plan.batch_size, plan.trunk, plan.decoder) == (
        64,
        64,
        8,
        "whole",
        "recompute",
    )
    assert plan.estimated_bytes == 24 * 300 * 400 + tiles
    assert plan.estimated_flops == pytest.approx(cells * (encoder + 576 + decoder))


def test_a_tight_budget_gets_a_tiled_plan_that_fits():
    planner = Planner(small_generator(), itemsize=4)
    one_pass = planner.plan(300, 400)
    budget = one_pass.estimated_bytes * 2 // 3
    plan = planner.plan(300, 400, memory_budget=budget)

    assert plan.tile > 0 and plan.estimated_bytes <= budget
    assert plan.estimated_flops > one_pass.estimated_flops  # halos and recomputation
    assert planner.plan(300, 400, memory_budget=DEFAULT_MEMORY_BUDGET).tile == 0


def test_the_plan_imports_and_plans_without_tensorflow():
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = sys.modules['keras'] = None  # importing them now fails\n"
        "from tests import test_tiling_plan as plan_tests\n"
        "plan_tests.test_flops_and_padding_by_hand()\n"
        "plan_tests.test_one_pass_plan_by_hand()\n"
        "plan_tests.test_tiled_plan_by_hand()\n"
        "plan_tests.test_a_tight_budget_gets_a_tiled_plan_that_fits()\n"
        "from gan_style.tiling import MIN_TILE, TilePlan\n"
        "assert 'gan_style.tiling.executor' not in sys.modules\n"
        "print('planned')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "planned"
