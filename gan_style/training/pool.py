"""The history pool of generated images that CycleGAN's discriminators train on.

Shrivastava et al. 2017, "Learning from Simulated and Unsupervised Images through Adversarial
Training", section 2.3; CycleGAN section 4 (a buffer of the 50 last generated images). Showing D
older fakes as well as the newest ones damps the oscillation between G and D.

Same semantics as pytorch-CycleGAN's `ImagePool.query`: while the pool is filling, each new
image is stored and returned; once it is full, each new image is, with probability 1/2,
swapped with a random stored one (the stored one is returned), else returned as is.
"""

import json
from typing import Any

import numpy as np


class ImagePool:
    """A pool of past fake images on numpy batches, with a state that checkpoints exactly.

    Args:
        size: Number of images kept; 0 disables the pool (`query` returns its input).
        seed: Seed of the pool's random generator; None for a random one.
    """

    def __init__(self, size: int = 50, seed: int | None = None):
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"size must be a non-negative int; received {size!r}.")
        self.size = size
        self._rng = np.random.default_rng(seed)
        self._images: np.ndarray | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def query(self, images: np.ndarray) -> np.ndarray:
        """Returns a batch to train D on, drawn from `images` and the pool, and updates the pool.

        Args:
            images: A batch of generated images, (batch, H, W, C); all batches must have the same
                image shape.

        Returns:
            A new array of the same shape and dtype; `images` is not modified.

        Raises:
            ValueError: If the image shape differs from the one the pool holds.
        """
        images = np.asarray(images)
        if self.size == 0:
            return images.copy()
        if images.ndim < 2:
            raise ValueError(f"images must be a batch (batch, H, W, C); received {images.shape}.")
        if self._images is None:
            self._images = np.empty((self.size, *images.shape[1:]), dtype=images.dtype)
        elif images.shape[1:] != self._images.shape[1:]:
            raise ValueError(
                f"The pool holds images of shape {self._images.shape[1:]}; received a batch of "
                f"shape {images.shape}. Give the pool fixed-size crops."
            )
        result = images.copy()
        for index, image in enumerate(images):
            if self._count < self.size:
                self._images[self._count] = image
                self._count += 1
            elif self._rng.random() > 0.5:
                stored = self._rng.integers(self.size)
                result[index] = self._images[stored]
                self._images[stored] = image
        return result

    def get_state(self) -> dict[str, Any]:
        """Returns the pool's state: the stored images and the random generator's state.

        Returns:
            `{"images": array (count, H, W, C), "rng_state": str}`: a numpy array and a JSON
            string, so `np.savez(path, **state)` stores it without pickling. An empty pool has
            images of shape (0,).
        """
        if self._images is None:
            images = np.zeros((0,), dtype=np.float32)
        else:
            images = self._images[: self._count].copy()
        return {"images": images, "rng_state": json.dumps(self._rng.bit_generator.state)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores a state from `get_state` (also as loaded back by `np.load`).

        Args:
            state: Mapping with "images" and "rng_state".

        Raises:
            ValueError: If the state holds more images than the pool's size, or its random
                generator is not the pool's kind.
        """
        images = np.asarray(state["images"])
        count = 0 if images.ndim < 2 else len(images)
        if count > self.size:
            raise ValueError(
                f"The state holds {count} images; this pool keeps at most {self.size}. "
                "Create the pool with the size it was saved with."
            )
        rng_state = json.loads(str(state["rng_state"]))
        bit_generator_name = type(self._rng.bit_generator).__name__
        if rng_state.get("bit_generator") != bit_generator_name:
            raise ValueError(
                f"The state's random generator is {rng_state.get('bit_generator')!r}; "
                f"expected {bit_generator_name!r}."
            )
        self._rng.bit_generator.state = rng_state
        if count == 0:
            self._images = None
        else:
            self._images = np.empty((self.size, *images.shape[1:]), dtype=images.dtype)
            self._images[:count] = images
        self._count = count
