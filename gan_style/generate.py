"""`gan-style generate`: new images in a learned style, from a ``dcgan`` style's generator.

The same style, count, seed and truncation always give the same images: the noise comes from
`gan_style.training.dcgan.latent_vectors` seeded with ``seed``, and image ``i`` depends only on
the seed and ``i`` (generating 4 images gives the first 4 of 16).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from gan_style.errors import ConfigError

#: Noise vectors per forward pass.
BATCH_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Generated:
    """What `generate_images` made.

    Attributes:
        style: The style's name.
        bundle: Its folder.
        images: uint8 array (count, H, W, 3).
        seed: The seed used.
        truncation: The truncation used (None: none).
    """

    style: str
    bundle: Path
    images: np.ndarray
    seed: int
    truncation: float | None


def load_noise_generator(style: str | os.PathLike):
    """The generator of a ``dcgan`` style and its ``style.json``.

    Raises:
        StyleError: unknown style, or a style of another model (the message names the command
            that fits it).
    """
    from gan_style import store

    opened = store.open_style(style, "generate")
    bundle, description = opened.bundle, opened.description
    return bundle, description, store.load_generator(bundle)


def latent_batch(
    count: int, latent_dim: int, seed: int, truncation: float | None, first: int = 0
) -> np.ndarray:
    """Noise vectors ``first`` … ``first + count - 1`` of the stream of ``seed``.

    Vector ``i`` is drawn from its own generator seeded with ``(seed, i)``, so it does not
    depend on how many images are asked for or how they are batched.
    """
    from gan_style.training.dcgan import latent_vectors

    vectors = [
        latent_vectors(1, latent_dim, (seed, index), truncation)
        for index in range(first, first + count)
    ]
    return np.concatenate(vectors) if vectors else np.zeros((0, latent_dim), np.float32)


def generate_images(
    style: str | os.PathLike, count: int, *, seed: int = 0, truncation: float | None = None
) -> Generated:
    """``count`` new images in the style, as uint8 arrays.

    Args:
        style: A style name or bundle path (a ``dcgan`` style).
        count: Number of images (at least 1).
        seed: Seed of the noise; the same seed gives the same images.
        truncation: Redraw noise values beyond ±truncation (smaller: more typical, less varied
            images); None draws from the full normal distribution.

    Raises:
        ConfigError: count below 1 or truncation not positive.
        StyleError: the style is not a usable dcgan style.
    """
    from gan_style import store
    from gan_style.report import to_uint8

    if count < 1:
        raise ConfigError(f"count must be at least 1, got {count}")
    if truncation is not None and not truncation > 0:
        raise ConfigError(f"truncation must be positive, got {truncation}")
    bundle, description, generator = load_noise_generator(style)
    latent_dim = int(generator.input_shape[-1])
    images = []
    for first in range(0, count, BATCH_SIZE):
        latent = latent_batch(min(BATCH_SIZE, count - first), latent_dim, seed, truncation, first)
        images.append(to_uint8(np.asarray(generator(latent, training=False))))
    return Generated(
        store.style_name(description, bundle), bundle, np.concatenate(images), seed, truncation
    )


def write_images(generated: Generated, folder: str | os.PathLike) -> list[Path]:
    """Write each image as ``<style>-s<seed>-<index>.png`` in ``folder`` (atomically)."""
    from PIL import Image

    from gan_style.atomic import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    digits = max(3, len(str(len(generated.images) - 1)))
    for index, image in enumerate(generated.images):
        path = folder / f"{generated.style}-s{generated.seed}-{index:0{digits}d}.png"
        with atomic_path(path) as temporary:
            Image.fromarray(image).save(temporary, format="PNG")
        paths.append(path)
    return paths


def grid_png(generated: Generated, columns: int | None = None) -> bytes:
    """All images in one grid (about square), with the style, seed and truncation as caption."""
    import math

    from gan_style.report import sample_grid

    images = generated.images.astype(np.float32) / 127.5 - 1.0
    count = len(images)
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    if rows * columns > count:  # pad the last row with white
        padding = np.ones((rows * columns - count, *images.shape[1:]), np.float32)
        images = np.concatenate([images, padding])
    caption = f"{generated.style} · seed {generated.seed}"
    if generated.truncation is not None:
        caption += f" · truncation {generated.truncation:g}"
    return sample_grid(
        [images[column::columns] for column in range(columns)], [""] * columns, caption=caption
    )
