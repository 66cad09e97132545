"""The tile grid: tiles laid on the cells of the feature map, each with its crop and halo.

Tiles are laid on the grid of the 1/4-resolution feature map ("cells" of 4×4 pixels), so every
tile starts on a multiple of the generator's total stride and the stride-2 sampling grids of
each tile coincide with the whole image's. A tile is computed on a crop with a halo wider than
the receptive field of the local operations of its program, so the tile's interior is exactly
what the whole-image computation gives there (up to float rounding): there is nothing to blend,
each output pixel comes from one tile's interior.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Tile:
    """A tile of the cell grid: its interior and the crop it is computed on (in cells)."""

    top: int
    bottom: int
    left: int
    right: int
    crop_top: int
    crop_left: int
    crop_height: int
    crop_width: int

    def box(self) -> tuple[int, int, int, int]:
        """The interior relative to the crop."""
        return (
            self.top - self.crop_top,
            self.bottom - self.crop_top,
            self.left - self.crop_left,
            self.right - self.crop_left,
        )


def _split(length: int, tile: int) -> list[tuple[int, int]]:
    count = math.ceil(length / tile)
    bounds = [round(index * length / count) for index in range(count + 1)]
    return list(itertools.pairwise(bounds))


def tile_grid(height: int, width: int, tile: int, halo: int) -> list[Tile]:
    """Tiles covering a `height` × `width` cell grid, row by row.

    The interiors partition the grid into near-equal parts of at most `tile` cells. Every crop
    has the same size (so tiles batch), reaches `halo` cells beyond its interior where the grid
    goes on, and is shifted inwards at the grid's edges, where the reflection padding of the
    whole image applies unchanged.
    """
    rows = _split(height, tile)
    columns = _split(width, tile)
    crop_height = min(height, max(bottom - top for top, bottom in rows) + 2 * halo)
    crop_width = min(width, max(right - left for left, right in columns) + 2 * halo)
    return [
        Tile(
            top,
            bottom,
            left,
            right,
            min(max(top - halo, 0), height - crop_height),
            min(max(left - halo, 0), width - crop_width),
            crop_height,
            crop_width,
        )
        for top, bottom in rows
        for left, right in columns
    ]


def _last_readers(tiles: Sequence[Tile]) -> np.ndarray:
    """For each tile, the index of the last tile whose crop overlaps its interior.

    When a pass writes its output over its own input, a tile's result may be stored only once
    no later tile needs the original values under it.
    """
    interiors = np.array([[t.top, t.bottom, t.left, t.right] for t in tiles])
    crops = np.array(
        [
            [t.crop_top, t.crop_top + t.crop_height, t.crop_left, t.crop_left + t.crop_width]
            for t in tiles
        ]
    )
    overlaps = (
        (crops[None, :, 0] < interiors[:, None, 1])
        & (interiors[:, None, 0] < crops[None, :, 1])
        & (crops[None, :, 2] < interiors[:, None, 3])
        & (interiors[:, None, 2] < crops[None, :, 3])
    )
    indices = np.arange(len(tiles))
    return np.max(np.where(overlaps, indices[None, :], -1), axis=1)
