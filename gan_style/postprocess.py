"""Post-processing of a styled image: colour matching, contrast, saturation, sharpening.

Pure functions over (height, width, 3) uint8 RGB arrays, applied to the styled image at full
strength, in this order: `match_colors` (toward a palette: the style's images, recorded in the
bundle, or the input's own), `adjust_contrast`, `adjust_saturation`, `unsharp_mask`. `strength`
still blends with the input last (`blend`), so ``strength 0`` returns the input exactly.

A *palette* is the mean and covariance of a set of pixels in sRGB scaled to [0, 1]
(`palette_statistics`, JSON-ready as `Palette.to_dict`); `match_colors` moves an image's pixel
distribution onto it with the linear Monge-Kantorovich map (Pitié and Kokaram 2007): the
affine map with the smallest mean squared displacement that gives the image exactly the
palette's mean and covariance, so it recolours without inventing structure.

At import time this module needs only the standard library; numpy and SciPy load on first use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gan_style.errors import StyleError

if TYPE_CHECKING:
    import numpy as np

PALETTE_KEY = "palette"
"""The ``style.json`` key with the style images' `Palette` (written by training)."""

_LUMA = (0.299, 0.587, 0.114)
_EPSILON = 1e-6


@dataclasses.dataclass(frozen=True)
class Palette:
    """Mean and covariance of pixels in sRGB scaled to [0, 1].

    Attributes:
        mean: Three floats, R, G, B.
        covariance: 3 × 3 floats.
        pixels: How many pixels they were measured on.
    """

    mean: tuple[float, float, float]
    covariance: tuple[tuple[float, float, float], ...]
    pixels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": "srgb",
            "mean": [round(value, 6) for value in self.mean],
            "covariance": [[round(value, 7) for value in row] for row in self.covariance],
            "pixels": self.pixels,
        }

    @classmethod
    def from_dict(cls, value: Any, where: str) -> Palette:
        """Reads `to_dict`'s form; ``where`` names the file in the error.

        Raises:
            StyleError: The value is not a palette.
        """
        try:
            mean = tuple(float(number) for number in value["mean"])
            covariance = tuple(
                tuple(float(number) for number in row) for row in value["covariance"]
            )
        except (KeyError, TypeError, ValueError) as error:
            raise StyleError(f"{where}: {PALETTE_KEY} is not a palette ({error})") from error
        if len(mean) != 3 or len(covariance) != 3 or any(len(row) != 3 for row in covariance):
            raise StyleError(f"{where}: {PALETTE_KEY} needs a 3-mean and a 3 × 3 covariance")
        return cls(mean, covariance, int(value.get("pixels", 0)))


def palette_statistics(images: Iterable[np.ndarray]) -> Palette:
    """The `Palette` of all pixels of ``images`` (uint8 RGB arrays), accumulated in float64."""
    import numpy as np

    count = 0
    total = np.zeros(3)
    products = np.zeros((3, 3))
    for image in images:
        pixels = np.asarray(image, np.float64).reshape(-1, 3) / 255.0
        count += len(pixels)
        total += pixels.sum(axis=0)
        products += pixels.T @ pixels
    if count == 0:
        raise ValueError("palette_statistics needs at least one pixel")
    mean = total / count
    covariance = products / count - np.outer(mean, mean)
    return Palette(
        tuple(float(value) for value in mean),
        tuple(tuple(float(value) for value in row) for row in covariance),
        count,
    )


def _matrix_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """A symmetric positive semi-definite matrix to a power, eigenvalues floored at epsilon."""
    import numpy as np

    values, vectors = np.linalg.eigh(matrix)
    values = np.maximum(values, _EPSILON)
    return (vectors * values**power) @ vectors.T


def match_colors(image: np.ndarray, palette: Palette) -> np.ndarray:
    """Maps ``image``'s pixel distribution onto ``palette`` (mean and covariance).

    The linear Monge-Kantorovich map: with Σ_i, Σ_p the image's and the palette's covariances,
    T = Σ_i^-½ (Σ_i^½ Σ_p Σ_i^½)^½ Σ_i^-½ and x ↦ T (x − μ_i) + μ_p.

    Returns:
        A uint8 array of ``image``'s shape.
    """
    import numpy as np

    own = palette_statistics([image])
    source_covariance = np.array(own.covariance)
    target_covariance = np.array(palette.covariance)
    root = _matrix_power(source_covariance, 0.5)
    inverse_root = _matrix_power(source_covariance, -0.5)
    middle = _matrix_power(root @ target_covariance @ root, 0.5)
    transform = inverse_root @ middle @ inverse_root
    pixels = np.asarray(image, np.float32).reshape(-1, 3) / 255.0
    mapped = (pixels - np.float32(own.mean)) @ transform.T.astype(np.float32)
    mapped += np.float32(palette.mean)
    return _to_uint8(mapped.reshape(image.shape) * 255.0)


def adjust_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Scales every pixel's distance from the image's mean luma by ``factor`` (1: unchanged)."""
    import numpy as np

    if factor == 1:
        return image
    values = np.asarray(image, np.float32)
    mean = float(np.mean(values @ np.float32(_LUMA)))
    return _to_uint8(mean + factor * (values - mean))


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Scales every pixel's distance from its own luma (grey) by ``factor`` (0: greyscale)."""
    import numpy as np

    if factor == 1:
        return image
    values = np.asarray(image, np.float32)
    grey = (values @ np.float32(_LUMA))[..., None]
    return _to_uint8(grey + factor * (values - grey))


def unsharp_mask(image: np.ndarray, amount: float, radius: float = 1.0) -> np.ndarray:
    """Adds ``amount`` times the image minus its Gaussian blur (σ = ``radius`` pixels)."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    if amount == 0:
        return image
    values = np.asarray(image, np.float32)
    blurred = gaussian_filter(values, sigma=(radius, radius, 0), mode="reflect")
    return _to_uint8(values + amount * (values - blurred))


def blend(source: np.ndarray, output: np.ndarray, strength: float) -> np.ndarray:
    """``source`` + ``strength`` × (``output`` − ``source``), rounded (0: the source exactly)."""
    import numpy as np

    if strength >= 1:
        return output
    if strength <= 0:
        return source.copy()
    values = np.asarray(source, np.float32)
    return _to_uint8(values + np.float32(strength) * (np.asarray(output, np.float32) - values))


@dataclasses.dataclass(frozen=True)
class PostProcess:
    """The post-processing options of a transfer, applied by `PostProcess.apply`.

    Args:
        match_colors: ``none``, ``style`` (toward ``palette``) or ``input`` (back toward the
            input's own palette).
        contrast: Factor on the distance from the mean luma (1: unchanged).
        saturation: Factor on the distance from grey (1: unchanged, 0: greyscale).
        sharpen: Unsharp-mask amount (0: none).
        palette: The style's `Palette`, needed by ``match_colors="style"``.
    """

    match_colors: str = "none"
    contrast: float = 1.0
    saturation: float = 1.0
    sharpen: float = 0.0
    palette: Palette | None = None

    @property
    def active(self) -> bool:
        return (self.match_colors, self.contrast, self.saturation, self.sharpen) != (
            "none",
            1.0,
            1.0,
            0.0,
        )

    def apply(self, styled: np.ndarray, source: np.ndarray) -> np.ndarray:
        """The post-processed ``styled`` image; ``source`` is the input (same shape)."""
        result = styled
        if self.match_colors == "style":
            if self.palette is None:
                raise ValueError("match_colors='style' needs the style's palette")
            result = match_colors(result, self.palette)
        elif self.match_colors == "input":
            result = match_colors(result, palette_statistics([source]))
        result = adjust_contrast(result, self.contrast)
        result = adjust_saturation(result, self.saturation)
        return unsharp_mask(result, self.sharpen)


def bundle_palette(description: dict[str, Any], where: str) -> Palette | None:
    """The `Palette` a bundle's ``style.json`` records, or None; ``where`` names the file."""
    value = description.get(PALETTE_KEY)
    return None if value is None else Palette.from_dict(value, where)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def post_process_for(
    description: dict[str, Any],
    bundle,
    *,
    match_colors: str = "none",
    contrast: float = 1.0,
    saturation: float = 1.0,
    sharpen: float = 0.0,
) -> PostProcess:
    """The `PostProcess` of a transfer with a style's ``style.json`` (``description``).

    Raises:
        StyleError: ``match_colors="style"`` with a bundle that records no palette (styles
            trained before gan-style recorded one), or a malformed palette.
    """
    from pathlib import Path

    from gan_style import store

    where = str(Path(bundle) / store.STYLE_JSON)
    palette = None
    if match_colors == "style":
        palette = bundle_palette(description, where)
        if palette is None:
            raise StyleError(
                f"{where}: this style records no palette of its images (it was trained before "
                "gan-style kept one), so --match-colors style has nothing to match; use "
                "--match-colors input, or train the style again"
            )
    return PostProcess(match_colors, contrast, saturation, sharpen, palette)
