"""Figures for people: sample grids of a style's inputs and outputs.

Pure functions from arrays to PNG bytes (matplotlib with the Agg backend, no window); the caller
decides where the bytes go.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float images → uint8 [0, 255]."""
    return np.clip(np.rint((np.asarray(images, dtype=np.float32) + 1.0) * 127.5), 0, 255).astype(
        np.uint8
    )


def sample_grid(
    columns: Sequence[np.ndarray | Sequence[np.ndarray]],
    titles: Sequence[str],
    *,
    caption: str | None = None,
) -> bytes:
    """A grid with one row per sample and one column per stage, as PNG bytes.

    Args:
        columns: One per column (e.g. input, output, cycled): an array of shape
            (rows, H, W, 3), or a list of (H, W, 3) arrays whose sizes may differ, in [-1, 1].
        titles: Column titles.
        caption: Optional line under the grid (e.g. the style name and step).
    """
    if len(columns) != len(titles) or not columns:
        raise ValueError(f"need one title per column, got {len(columns)} columns, {len(titles)}")
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    rows = len(columns[0])
    # Each row as tall as its tallest image at the column width: no gaps around wide images.
    aspects = [
        max(column[row].shape[0] / column[row].shape[1] for column in columns)
        for row in range(rows)
    ]
    width = 2.2 if len(columns) > 2 else 3.0
    height = width * sum(aspects) + 0.3 * rows + (0.3 if caption else 0)
    figure = Figure(figsize=(width * len(columns), height), dpi=100)
    axes = figure.subplots(
        rows, len(columns), squeeze=False, gridspec_kw={"height_ratios": aspects}
    )
    for column, (images, title) in enumerate(zip(columns, titles, strict=True)):
        for row, image in enumerate(images):
            axis = axes[row][column]
            axis.imshow(to_uint8(image))
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title, fontsize=10)
    if caption:
        figure.text(0.5, 0.005, caption, ha="center", va="bottom", fontsize=9)
    figure.tight_layout(rect=(0, 0.03 if caption else 0, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def metrics_chart(results: dict, *, title: str) -> bytes:
    """A bar chart of an evaluation's metrics (FID, KID×1000 with its std, SSIM, PSNR), PNG.

    Args:
        results: An evaluation result with any of ``fid``, ``kid``, ``kid_std``, ``ssim``,
            ``psnr`` (and ``n_a``, ``n_b`` for the caption).
        title: The chart's title.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    bars = []
    if results.get("fid") is not None:
        bars.append(("FID", results["fid"], None, "lower is closer"))
    if results.get("kid") is not None:
        bars.append(
            (
                "KID ×1000",
                1000 * results["kid"],
                1000 * (results.get("kid_std") or 0),
                "lower is closer",
            )
        )
    if results.get("ssim") is not None:
        bars.append(("SSIM", results["ssim"], None, "content kept, 0-1"))
    if results.get("psnr") is not None and np.isfinite(results["psnr"]):
        bars.append(("PSNR dB", results["psnr"], None, "content kept"))
    if not bars:
        raise ValueError("no metric to plot: the results hold none of fid, kid, ssim, psnr")
    figure = Figure(figsize=(2.4 * len(bars), 3.4), dpi=100)
    axes = figure.subplots(1, len(bars), squeeze=False)[0]
    for axis, (name, value, error, note) in zip(axes, bars, strict=True):
        axis.bar([0], [value], yerr=[error] if error else None, color="#4c72b0", capsize=6)
        axis.set_title(name, fontsize=10)
        axis.set_xticks([])
        axis.set_xlabel(note, fontsize=8)
        axis.text(0, value, f"{value:.3g}", ha="center", va="bottom", fontsize=9)
    counts = f"  (n = {results['n_a']} vs {results['n_b']})" if "n_a" in results else ""
    figure.suptitle(title + counts, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def before_after_grid(
    pairs: Sequence[tuple[str, str]], *, titles: Sequence[str], caption: str, max_side: int = 384
) -> bytes:
    """A grid of image files side by side, one row per pair (e.g. a photo and its transfer).

    Each image keeps its aspect ratio, shrunk so its longer side is at most ``max_side``.

    Args:
        pairs: ``(left_path, right_path)`` per row.
        titles: The two column titles.
        caption: A line under the grid.
        max_side: Longest side of each image in the figure, in pixels.
    """
    from PIL import Image, ImageOps

    def load(path: str) -> np.ndarray:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return np.asarray(image, np.float32) / 127.5 - 1.0

    columns = [[load(pair[side]) for pair in pairs] for side in (0, 1)]
    return sample_grid(columns, titles, caption=caption)
