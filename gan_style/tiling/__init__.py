"""Full-resolution inference of the ResNet generator: any size, bounded memory, no seams.

Why this is not "run the model on tiles and blend them": every instance normalisation of the
generator normalises with the mean and variance of the *whole* feature map. A tile run on its own
normalises with its own statistics, so neighbouring tiles come out with different contrast and
colour, and blending only smears the seams. Here every normalisation sees the statistics of the
whole image, while no full-resolution feature map is ever held in memory:

1. `read_generator` (`reader`) turns the `keras.Sequential` made by `build_resnet_generator`
   into three small programs of primitive operations (`program`: `Conv`, `Norm`, `Pad`, …):
   the encoder (full → 1/4 resolution), the residual trunk (1/4) and the decoder (1/4 → full).
   A layer it does not know is refused with a clear error instead of being run approximately.
2. Tiles are laid on the grid of the 1/4-resolution feature map (`grid`), each computed on a
   crop with a halo wider than the receptive field of its program, so that its interior is
   exactly what the whole-image computation gives there: there is nothing to blend.
3. A norm's statistics are accumulated over the tile interiors in one pass over the tiles and
   merged in float64 (`ops`); later passes normalise with them. `TiledGenerator` (`executor`)
   runs the encoder, the trunk and the decoder pass by pass.

`TiledGenerator.plan` (`plan`) picks one pass, or the tile size, batch and trunk mode with the
fewest estimated FLOPs whose estimated memory fits a budget.

`program`, `grid` and `plan` need neither TensorFlow nor Keras, and importing this package
does not import them: the names that do (`TiledGenerator`, `Work`, `COMPUTE_DTYPES`,
`read_generator`) are imported from their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from gan_style.tiling.grid import Tile, tile_grid
from gan_style.tiling.plan import (
    AUTOMATIC_TILES,
    DECODER_MODES,
    DEFAULT_MEMORY_BUDGET,
    MIN_TILE,
    TRUNK_MODES,
    TRUNK_TILE_CELLS,
    Planner,
    TilePlan,
)
from gan_style.tiling.program import GeneratorProgram

if TYPE_CHECKING:
    from gan_style.tiling.executor import COMPUTE_DTYPES, TiledGenerator, Work
    from gan_style.tiling.reader import read_generator

_WITH_TENSORFLOW = {
    "COMPUTE_DTYPES": "gan_style.tiling.executor",
    "TiledGenerator": "gan_style.tiling.executor",
    "Work": "gan_style.tiling.executor",
    "read_generator": "gan_style.tiling.reader",
}
"""The names this package exports that need TensorFlow, by the module that defines them."""


def __getattr__(name: str):
    """Imports a name of `_WITH_TENSORFLOW` from its module when it is first asked for."""
    if name in _WITH_TENSORFLOW:
        return getattr(importlib.import_module(_WITH_TENSORFLOW[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AUTOMATIC_TILES",
    "COMPUTE_DTYPES",
    "DECODER_MODES",
    "DEFAULT_MEMORY_BUDGET",
    "MIN_TILE",
    "TRUNK_MODES",
    "TRUNK_TILE_CELLS",
    "GeneratorProgram",
    "Planner",
    "Tile",
    "TilePlan",
    "TiledGenerator",
    "Work",
    "read_generator",
    "tile_grid",
]
