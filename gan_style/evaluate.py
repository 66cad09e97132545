"""Evaluate a style: image folders → Inception features (cached) → FID / KID, and SSIM / PSNR.

The library behind ``gan-style evaluate``; it prints nothing (a tqdm bar on stderr aside) and
returns plain dicts that the CLI turns into a JSON report and a table::

    from gan_style.evaluate import compare_folders, content_metrics, pair_folders

    report = compare_folders("held_out/", "generated/")       # fid, kid, kid_std, n_a, n_b, ...
    content = content_metrics(pair_folders("photos/", "transferred/"))   # ssim, psnr, ...

This module owns the reports: which metrics to compute on which folders, and how a trained style
is scored on its held-out images (:func:`evaluate_style`). The pieces live elsewhere:

- :mod:`gan_style.data.folders`: listing a folder's images by content (:func:`list_images`) and
  exporting a prepared dataset's split into a folder (:func:`export_split`);
- :mod:`gan_style.metrics.features`: Inception features of a folder and their on-disk cache
  (:func:`folder_features`, :func:`compute_features`, :func:`load_rgb8`);
- :mod:`gan_style.metrics`: FID, KID, SSIM and PSNR on arrays.

Those names are importable from here too, as before they moved.

TensorFlow is imported only when features have to be computed or a style is transferred.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gan_style.data.folders import empty_folder, export_split, list_images
from gan_style.errors import DataError
from gan_style.metrics.features import (
    DEFAULT_BATCH_SIZE,
    LOADER_VERSION,
    FolderFeatures,
    compute_features,
    folder_features,
    load_rgb8,
    network_fingerprint,
)
from gan_style.store import style_name

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "FID_MIN_RECOMMENDED_IMAGES",
    "GENERATED_COUNT",
    "LOADER_VERSION",
    "FolderFeatures",
    "compare_features",
    "compare_folders",
    "compute_features",
    "content_metrics",
    "evaluate_style",
    "export_split",
    "folder_features",
    "list_images",
    "load_rgb8",
    "pair_folders",
    "small_sample_warning",
]

#: Below this many images per set FID is strongly biased (covariances of 2048 features are
#: rank-deficient); KID is the number to read then.
FID_MIN_RECOMMENDED_IMAGES = 2048


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
        "weights_fingerprint": network_fingerprint(weights),
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

    opened = store.open_style(style, "evaluate")
    bundle, description, model, name = (
        opened.bundle,
        opened.description,
        opened.model,
        opened.name,
    )
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

    transferred = empty_folder(work / "transferred")
    stylizer = load_stylizer(bundle)
    photos = list_images(photo_holdout)
    for photo in _progress(photos, progress, "transfer"):
        transfer(photo, stylizer).save(transferred / (photo.stem + ".png"))

    result: dict = {"style": name, "bundle": str(bundle)}
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
    from gan_style.config import REFERENCE_MODELS

    if model in REFERENCE_MODELS:
        # Beside the figures above (the collection's mean code): is the reference obeyed?
        try:
            result["reference_obedience"] = reference_obedience(
                bundle, photo_holdout, style_holdout, work / "references", **options
            )
        except DataError as error:
            result["reference_note"] = f"reference obedience not measured: {error}"
        else:
            result["folders"]["references"] = result["reference_obedience"].pop("folder")
    return result


#: Held-out style images used as references, and held-out photos painted with each of them, by
#: `reference_obedience` (so the photos × references transfers stay a few dozen).
OBEDIENCE_REFERENCES = 8
OBEDIENCE_PHOTOS = 8


def obedience_references(style_holdout: str | os.PathLike, references: int) -> list[Path]:
    """``references`` held-out style images, evenly spread over the sorted files.

    Raises:
        DataError: Fewer than 2 are there.
    """
    holdout = list_images(style_holdout)
    count = min(references, len(holdout))
    if count < 2:
        raise DataError(
            f"{style_holdout}: at least 2 held-out style images are needed as references"
        )
    return [holdout[round(index * (len(holdout) - 1) / (count - 1))] for index in range(count)]


def reference_obedience(
    bundle: str | os.PathLike,
    photo_holdout: str | os.PathLike,
    style_holdout: str | os.PathLike,
    work: str | os.PathLike,
    *,
    references: int = OBEDIENCE_REFERENCES,
    photos: int = OBEDIENCE_PHOTOS,
    weights=None,
    resize: str = "bilinear",
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
    progress: bool = True,
    cache: bool | str | os.PathLike = True,
) -> dict:
    """Whether a reference style paints in the look of the reference it is given.

    The first ``photos`` held-out photos are each painted with each of ``references`` held-out
    style images (`obedience_references`) as the reference, into ``work/reference_XX``; the
    figures are `obedience_figures`'s. The other arguments are `folder_features`'s
    (``cache``: where features are cached).

    Returns:
        `obedience_figures`'s result with ``"references"`` (the files) and ``"folder"``.
    """
    import shutil

    from gan_style.transfer import load_stylizer, transfer

    del seed  # the choice is deterministic
    chosen = obedience_references(style_holdout, references)
    photo_files = list_images(photo_holdout)[:photos]
    work = empty_folder(work)
    reference_folder = empty_folder(work / "references")
    for index, path in enumerate(chosen):
        shutil.copyfile(path, reference_folder / f"{index:02d}{path.suffix.lower()}")
    outputs = []
    for index, path in enumerate(_progress(chosen, progress, "references")):
        folder = empty_folder(work / f"reference_{index:02d}")
        stylizer = load_stylizer(bundle, references=(path,))
        for photo in photo_files:
            transfer(photo, stylizer).save(folder / (photo.stem + ".png"))
        outputs.append(folder)
    report = obedience_figures(
        reference_folder,
        outputs,
        [photo.stem for photo in photo_files],
        weights=weights,
        resize=resize,
        batch_size=batch_size,
        cache=cache,
    )
    return {**report, "references": [str(path) for path in chosen], "folder": str(work)}


def obedience_figures(
    reference_folder: str | os.PathLike,
    output_folders: list,
    photo_stems: list[str],
    *,
    weights=None,
    resize: str = "bilinear",
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: bool | str | os.PathLike = True,
) -> dict:
    """The figures of `reference_obedience`, for outputs made by any reference-guided method.

    ``output_folders[i]`` holds ``<stem>.png`` for each photo stem, painted with the i-th
    image (in sorted order) of ``reference_folder``. On the FID Inception pool features:

    - ``retrieval``: the share of outputs whose nearest reference (Euclidean, among the n used)
      is their own; ``chance`` is 1/n. The photo's content weighs on these features far more
      than its look: outputs of one photo crowd around one reference whatever they were given.
    - ``matching``: the same question with the content held fixed: for each photo and each
      reference, whether the nearest to that reference of the photo's n outputs is the one made
      with it (chance 1/n too).
    - ``feature_distance``: the mean distance between the features of two outputs of one photo
      for two references, next to ``reference_feature_distance``, the mean distance between
      the references themselves, and ``photo_feature_distance``, between different photos'
      outputs for one reference.
    - ``pixel_distance``: the mean absolute difference (0-1 scale) of two outputs of one
      photo for two references.

    The keyword arguments are `folder_features`'s.

    Returns:
        ``{"n_references", "n_photos", "retrieval", "matching", "chance", "pixel_distance",
        "feature_distance", "reference_feature_distance", "photo_feature_distance"}``.
    """
    from gan_style.metrics.features import load_rgb8

    count = len(output_folders)

    def features(folder) -> np.ndarray:
        return folder_features(
            folder,
            weights=weights,
            resize=resize,
            batch_size=batch_size,
            cache=cache,
            progress=False,
        ).features.astype(np.float64)

    reference_features = features(reference_folder)
    if len(reference_features) != count:
        raise ValueError(
            f"{reference_folder}: {len(reference_features)} references for {count} output folders"
        )
    output_features = np.stack([features(folder) for folder in output_folders])  # (refs, photos, D)
    distances = np.linalg.norm(
        output_features[:, :, None, :] - reference_features[None, None, :, :], axis=-1
    )  # (output's reference, photo, reference)
    own = np.arange(count)
    retrieval = float(np.mean(distances.argmin(axis=-1) == own[:, None]))
    matching = float(np.mean(distances.argmin(axis=0) == own[None, :]))

    def mean_pairwise(rows: np.ndarray) -> float:
        gaps = np.linalg.norm(rows[:, None] - rows[None, :], axis=-1)
        return float(gaps[np.triu_indices(len(rows), 1)].mean()) if len(rows) > 1 else 0.0

    pixel_gaps = []
    for stem in photo_stems:
        images = [
            load_rgb8(Path(folder) / (stem + ".png")).astype(np.float32) / 255
            for folder in output_folders
        ]
        for first in range(count):
            for second in range(first + 1, count):
                pixel_gaps.append(float(np.mean(np.abs(images[first] - images[second]))))
    return {
        "n_references": count,
        "n_photos": len(photo_stems),
        "retrieval": retrieval,
        "matching": matching,
        "chance": 1.0 / count,
        "pixel_distance": float(np.mean(pixel_gaps)),
        "feature_distance": float(
            np.mean([mean_pairwise(output_features[:, photo]) for photo in range(len(photo_stems))])
        ),
        "reference_feature_distance": mean_pairwise(reference_features),
        "photo_feature_distance": float(
            np.mean([mean_pairwise(output_features[index]) for index in range(count)])
        ),
    }


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

    generated_folder = empty_folder(work / "generated")
    generated = generate_images(bundle, GENERATED_COUNT, seed=options["seed"])
    write_images(generated, generated_folder)
    train_images = export_split(style_dataset, "train", work / "style_train")
    result: dict = {
        "style": style_name(description, bundle),
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
