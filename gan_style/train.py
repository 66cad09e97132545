"""`gan-style train`: a folder of style images + a folder of photos → a named style bundle.

The run, in order:

1. Data. Raw folders are prepared into a cache (``$GAN_STYLE_HOME/cache/datasets``) with
   prepare-data's rules, so a bad image is reported and skipped, and the held-out split is
   fixed; too few usable images is a one-line error before anything is built.
2. The models under the chosen precision and strategy: `gan_style.training.cyclegan` (photo ↔
   style translation) or `gan_style.training.dcgan` (noise → style), behind one interface
   (see `make_trainer`); the rest of this module does not depend on which.
3. Resume. If ``styles/NAME/run/checkpoints`` holds a checkpoint of the same architecture, the
   whole state is restored (weights, Adam slots, step, fake pools, augmentation and data
   positions) and training continues at its step; ``restart=True`` starts over.
4. The loop: one ``trainer.train_step`` per step, a progress bar, TensorBoard scalars
   and images under ``run/logs``, ``samples.png`` every ``sample_every`` steps, a checkpoint
   every ``checkpoint_every`` steps and on Ctrl-C or SIGTERM. A non-finite loss stops the run
   before it can overwrite the last good checkpoint.
5. The bundle: ``generator.keras`` (photo → style) and ``style.json``, written atomically.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gan_style import __version__, store
from gan_style.config import (
    DEFAULT_MODEL,
    PRESET_FALLBACKS,
    UNPLANNED_STEPS,
    PrepareConfig,
    TrainConfig,
)
from gan_style.errors import ConfigError, DataError, TrainingError
from gan_style.postprocess import PALETTE_KEY, palette_statistics

#: Fewest training images per domain that a run accepts.
MIN_TRAIN_IMAGES = 4
#: Below this many style images, ``augment="auto"`` turns DiffAugment on.
AUGMENT_BELOW = 1000
#: Options that decide the networks' shapes: a checkpoint only resumes when they match.
ARCHITECTURE_FIELDS = (
    "model",
    "image_size",
    "num_filters",
    "num_blocks",
    "disc_filters",
    "disc_layers",
    "loss",
    "identity_weight",
    "augment",
    "augment_policy",
    "batch_size",
    "pool_size",
    "latent_dim",
    "antialias",
    "discriminator",
)
SAMPLE_COUNT = 4
BUNDLED_PHOTOS = Path(__file__).resolve().parent / "data" / "photos"


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a `train` call did.

    Attributes:
        bundle: The style bundle's folder.
        status: ``finished``, ``interrupted`` (checkpoint saved, run again to resume) or
            ``already trained``.
        step: Steps completed so far.
        steps: Steps the run is configured for.
        resumed_from: The step training resumed at (0 for a fresh run).
        seconds: Wall time of this call's training loop.
        losses: The last step's losses.
    """

    bundle: Path
    status: str
    step: int
    steps: int
    resumed_from: int
    seconds: float
    losses: dict[str, float]


@dataclasses.dataclass(frozen=True)
class DomainData:
    """A training domain after preparation: its dataset folder and counts."""

    source: str
    dataset: Path
    train: int
    holdout: int


def train(
    config: TrainConfig,
    *,
    restart: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    stop_after: int | None = None,
) -> TrainResult:
    """Train (or resume) the style ``config.name`` and write its bundle.

    Args:
        config: The options; preset-dependent fields may be None.
        restart: Discard an earlier run of this name and start over.
        progress: Show a progress bar on stderr (when it is a terminal).
        echo: Where status lines go.
        stop_after: Stop after this many steps in this call, saving a checkpoint as an
            interruption would (for tests and time-boxed sessions).

    Returns:
        A `TrainResult`.

    Raises:
        DataError: missing or unusable images (before anything is built).
        TrainingError: non-finite losses, or a checkpoint of a different architecture.
    """
    called = time.perf_counter()  # a time limit counts preparation and start-up too
    bundle = store.bundle_folder(config.name)
    run_folder = bundle / store.RUN_FOLDER
    if restart and bundle.exists():
        echo(f"--restart: removing the earlier run of {config.name!r} ({bundle})")
        shutil.rmtree(bundle)

    saved_config = _resumed_config(run_folder)
    if config.model is None:
        model = saved_config.get("model", "cyclegan") if saved_config else DEFAULT_MODEL
        config = dataclasses.replace(config, model=model)
    if (
        config.discriminator is None
        and saved_config
        and saved_config.get("model")
        in (
            None,
            config.model,
        )
    ):
        # A run resumes with the discriminator it was trained with (the default may have
        # changed since); the field is missing from runs older than it, which used a PatchGAN.
        discriminator = saved_config.get("discriminator", PRESET_FALLBACKS["discriminator"])
        config = dataclasses.replace(config, discriminator=discriminator)
    if config.model == "dcgan" and config.content is not None:
        raise ConfigError(
            f"--content {config.content}: the dcgan model learns from the style images "
            "alone; leave --content out (or use --model cyclegan to translate photos)"
        )
    stroke_size = working_size(config)
    style = prepare_domain(config.style, "style", config, echo, size=stroke_size)
    content = None
    if config.model != "dcgan":
        content_source = config.content or str(BUNDLED_PHOTOS)
        if config.content is None:
            echo(f"no --content given: using the {_count_files(BUNDLED_PHOTOS)} bundled photos")
        content = prepare_domain(content_source, "content", config, echo, size=stroke_size)
    resolved = config.resolved(max(style.train, content.train if content else 0))
    if resolved.augment == "auto":
        augment = "diffaugment" if style.train < AUGMENT_BELOW else "none"
        resolved = dataclasses.replace(resolved, augment=augment)

    from gan_style.training.checkpoint import CheckpointManager

    manager = CheckpointManager(run_folder / "checkpoints", keep=resolved.keep_checkpoints)
    latest = manager.latest()
    if latest is not None:
        saved = json.loads((latest / "trainer.json").read_text(encoding="utf-8"))
        _check_resumable(latest, saved["config"], resolved)
        if "d_learning_rate" not in saved["config"] and config.d_learning_rate is None:
            # Runs from before --d-lr trained their discriminators at the generators' rate.
            resolved = dataclasses.replace(resolved, d_learning_rate=resolved.learning_rate)
        saved_step = saved["step"]
        if _already_trained(saved, resolved) and store.is_complete(bundle):
            more = "a longer --time-limit" if resolved.time_limit else "a larger --steps"
            echo(
                f"style {config.name!r} is already trained ({saved_step} steps): use --restart "
                f"to train it again, or {more} to continue"
            )
            return TrainResult(
                bundle, "already trained", saved_step, resolved.steps, saved_step, 0.0, {}
            )

    with _precision(resolved.precision) as policy:
        prepared = _Prepared(resolved, bundle, manager, latest, style, content, stroke_size, called)
        return _run(prepared, policy, progress, echo, stop_after)


def _resumed_config(run_folder: Path) -> dict | None:
    """The resolved config of the run whose checkpoints are in ``run_folder``, if any."""
    from gan_style.training.checkpoint import CheckpointManager

    latest = CheckpointManager(run_folder / "checkpoints").latest()
    if latest is None:
        return None
    return json.loads((latest / "trainer.json").read_text(encoding="utf-8"))["config"]


def _already_trained(saved: dict, config: TrainConfig) -> bool:
    """Whether a checkpoint's run (``saved``: its trainer.json) reached what ``config`` asks."""
    if config.time_limit is not None:
        # A time-limited run is done when it finished inside a limit at least this long.
        return bool(saved.get("finished")) and config.time_limit <= saved.get("time_limit", 0)
    return saved["step"] >= config.steps


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """What `train` settled before anything was built: the run `_run` carries out."""

    config: TrainConfig
    bundle: Path
    manager: Any  # a CheckpointManager
    latest: Path | None
    style: Any  # the prepared domains
    content: Any
    stroke_size: int | None
    called: float  # the clock when `train` was called (a time limit counts from there)


def _run(prepared: _Prepared, policy, progress, echo, stop_after):
    config, bundle, manager, latest = (
        prepared.config,
        prepared.bundle,
        prepared.manager,
        prepared.latest,
    )
    style, content, stroke_size, called = (
        prepared.style,
        prepared.content,
        prepared.stroke_size,
        prepared.called,
    )
    import keras
    import numpy as np
    import tensorflow as tf

    from gan_style.data.pipeline import image_dataset
    from gan_style.training.devices import make_strategy

    run_folder = bundle / store.RUN_FOLDER
    run_folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    trainer = make_trainer(config, strategy)
    checkpoint = trainer.checkpoint()
    start = 0
    used_seconds = 0.0
    if latest is not None:
        state, arrays = manager.restore(latest, checkpoint)
        trainer.restore_pools(arrays)
        start = int(state["step"])
        used_seconds = float(state.get("seconds", 0.0))
        of = "its time limit" if config.time_limit else f"{config.steps}"
        echo(f"resuming {config.name!r} at step {start} of {of} ({latest.name})")
    (run_folder / "config.json").write_text(json.dumps(config.to_dict(), indent=1) + "\n")

    batch = config.batch_size
    common = dict(image_size=config.image_size, batch_size=batch, skip=start * batch)
    # "reference": the style images again, in another order (a second reference per step).
    domains = {"photo": (content, 1), "style": (style, 2), "reference": (style, 3)}
    datasets = [
        image_dataset(domains[name][0].dataset, seed=config.seed * 2 + domains[name][1], **common)
        for name in trainer.domains
    ]
    batches: Iterator = iter(tf.data.Dataset.zip(tuple(datasets)))
    samples = _sample_photos(content, config.image_size) if content is not None else None
    writer = tf.summary.create_file_writer(str(run_folder / "logs"))
    # The style images' palette, for transfer's --match-colors style (translation styles only).
    palette = _dataset_palette(style.dataset) if config.model != "dcgan" else None

    def describe(step: int, losses: dict[str, float], complete: bool) -> dict[str, Any]:
        description = _style_description(
            dataclasses.replace(config, steps=total),
            trainer,
            style,
            content,
            policy,
            step,
            losses,
            used_seconds + time.perf_counter() - called,
            strategy,
            complete=complete,
            stroke_size=stroke_size,
        )
        if palette is not None:
            description[PALETTE_KEY] = palette
        return description

    def save_state(step: int, losses: dict[str, float], finished: bool = False) -> None:
        began = time.perf_counter()
        manager.save(
            step,
            checkpoint,
            arrays=trainer.pool_arrays(),
            state={
                "config": dataclasses.replace(config, steps=total).to_dict(),
                "losses": losses,
                "policy": policy,
                "seconds": round(used_seconds + began - called, 3),
                "time_limit": config.time_limit,
                "finished": finished,
            },
        )
        if not finished:
            # A usable style at every checkpoint: Ctrl-C, kill -9 or a crash leave one behind.
            store.save_generator(bundle, _float32_generator(trainer))
            _save_bundle_extras(trainer, bundle, style, complete=False)
            if not (bundle / store.SAMPLES_FILE).exists():
                write_samples(step)
            store.write_style(bundle, describe(step, losses, complete=False))
        if planner is not None:
            planner.note_save(time.perf_counter() - began)

    def write_samples(step: int) -> None:
        from gan_style.atomic import write_bytes_atomic
        from gan_style.report import sample_grid

        columns, titles = trainer.sample_columns(samples)
        of = "?" if total == UNPLANNED_STEPS else total
        caption = f"{config.name} · step {step} of {of}"
        png = sample_grid(columns, titles, caption=caption)
        write_bytes_atomic(bundle / store.SAMPLES_FILE, png)
        with writer.as_default(step=step):
            rows = np.concatenate(columns, 2)
            tf.summary.image("samples", (rows + 1) / 2, max_outputs=len(rows))

    total = config.steps
    bar = _progress_bar(None if config.time_limit else total, start, progress)
    losses: dict[str, float] = {}
    step = start
    started = time.perf_counter()
    planner = None
    if config.time_limit is not None:
        from gan_style.training.budget import StepPlanner
        from gan_style.training.schedule import retarget_optimizers

        user_steps = None if config.steps == UNPLANNED_STEPS else config.steps
        planner = StepPlanner(config.time_limit, used_seconds, start, called, user_steps)
        if planner.out_of_time(started):
            total = start
    status = "finished"
    with _stop_signals() as stop_requested:
        while step < total:
            step_losses = trainer.train_step(*next(batches))
            if not step_losses.all_finite():
                bar.close()
                last = manager.latest()
                values = _format_losses(step_losses.as_dict())
                raise TrainingError(
                    f"non-finite loss at step {step + 1} ({values}); "
                    f"the last good checkpoint ({last.name if last else 'none'}) is intact: "
                    "lower --learning-rate or use --precision float32, then run again"
                )
            step += 1
            losses = step_losses.as_dict()
            if planner is not None:
                now = time.perf_counter()
                planned = planner.observe(step, now, replan=step % config.checkpoint_every == 0)
                if planned is not None:
                    total = planned
                    retarget_optimizers(trainer.optimizers, config, total)
                    bar.total = total
                    bar.refresh()
                if planner.out_of_time(now):
                    total = step
            images_per_second = (
                len(trainer.domains) * batch * (step - start) / (time.perf_counter() - started)
            )
            bar.update(1)
            bar.set_postfix_str(f"{trainer.progress_text(losses)} {images_per_second:.1f} img/s")
            if bar.disable and (step % (config.log_every * 10) == 0 or step == total):
                planned_text = total if total != UNPLANNED_STEPS else "?"
                echo(
                    f"step {step}/{planned_text}  {_format_losses(losses)}  "
                    f"{images_per_second:.2f} img/s"
                )
            if step % config.log_every == 0:
                with writer.as_default(step=step):
                    for key, value in losses.items():
                        tf.summary.scalar(f"loss/{key}", value)
                    tf.summary.scalar("images_per_second", images_per_second)
            if step % config.sample_every == 0 or step == total:
                write_samples(step)
            stopping = stop_requested() or (stop_after is not None and step - start >= stop_after)
            if step % config.checkpoint_every == 0 or step == total or stopping:
                save_state(step, losses, finished=step == total)
            if stopping and step < total:
                status = "interrupted"
                break
    bar.close()
    writer.flush()
    seconds = time.perf_counter() - started
    if status == "interrupted":
        echo(
            f"stopped at step {step} of {total}; checkpoint and a partial style saved in "
            f"{bundle}: it transfers as it is, or run the same command to resume"
        )
        return TrainResult(bundle, status, step, total, start, seconds, losses)
    if step == start:
        # Nothing ran (the time limit was used up by earlier calls): finish the bundle as is.
        save_state(step, losses, finished=True)

    store.save_generator(bundle, _float32_generator(trainer))
    _save_bundle_extras(trainer, bundle, style, complete=True)
    if not (bundle / store.SAMPLES_FILE).exists():
        write_samples(step)
    store.write_style(bundle, describe(step, losses, complete=True))
    echo(f"trained {config.name!r}: {step} steps in {seconds / 60:.1f} min → {bundle}")
    return TrainResult(bundle, status, step, total, start, seconds, losses)


def make_trainer(config: TrainConfig, strategy=None):
    """The trainer of ``config.model``: a `CycleGANTrainer`, `CUTTrainer` or `DCGANTrainer`.

    Both offer the interface the loop in this module uses: ``domains`` (the training sets
    ``train_step`` takes a batch of), ``train_step``, ``progress_text``, ``sample_columns``,
    ``checkpoint``, ``pool_arrays``/``restore_pools``, ``build_generator``,
    ``exported_generator``, ``generator_description`` and ``optimizers``.
    """
    use_augment = config.augment == "diffaugment"
    if config.model == "dcgan":
        from gan_style.training.dcgan import DCGANTrainer

        return DCGANTrainer(config, use_augment=use_augment, strategy=strategy)
    if config.model in ("cut", "fastcut"):
        from gan_style.training.cut import CUTTrainer

        return CUTTrainer(config, use_augment=use_augment, strategy=strategy)
    if config.model == "reference":
        from gan_style.training.reference import ReferenceTrainer

        return ReferenceTrainer(config, use_augment=use_augment, strategy=strategy)
    from gan_style.training.cyclegan import CycleGANTrainer

    return CycleGANTrainer(config, use_augment=use_augment, strategy=strategy)


def _save_bundle_extras(trainer, bundle: Path, style: DomainData, *, complete: bool) -> None:
    """What a trainer's bundle carries beside the generator (a reference style's encoder and
    its collection's codes); nothing for the other trainers."""
    save = getattr(trainer, "save_bundle_extras", None)
    if save is not None:
        save(bundle, style.dataset, complete=complete)


def _float32_generator(trainer):
    """A float32 copy of the trainer's exported generator for the bundle: whatever precision
    trained it, the bundle runs anywhere, and transfer picks the precision of the machine it
    runs on."""
    import keras

    generator = trainer.exported_generator
    if generator.dtype_policy.name == "float32":
        return generator
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("float32")
    try:
        copy = trainer.build_generator(name=generator.name)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy.set_weights(generator.get_weights())
    return copy


def prepare_domain(
    source: str, role: str, config: TrainConfig, echo, size: int | None = None
) -> DomainData:
    """A prepared dataset for ``source``: itself if it is one, else a cached preparation.

    Args:
        source: The folder.
        role: ``style`` or ``content`` (for messages).
        config: The run's options.
        echo: Where status lines go.
        size: Shorter side to prepare the images at; None: ``image_size × 286 / 256``.

    Raises:
        DataError: the folder is missing, or fewer than `MIN_TRAIN_IMAGES` images are usable.
    """
    from gan_style.data import prepare

    path = Path(source).expanduser()
    if not path.is_dir():
        raise DataError(f"{path}: no such folder ({role} images)")
    if prepare.is_dataset(path):
        dataset = path
    else:
        image_size = _preset_value(config, "image_size")
        options = PrepareConfig(
            source=str(path.resolve()),
            output="",
            size=size or round(image_size * 286 / 256),
            min_size=image_size,
            seed=config.seed,
        )
        dataset = store.home() / "cache" / "datasets" / _cache_key(path, options)
        if not prepare.is_dataset(dataset):
            result = prepare.prepare_dataset(dataclasses.replace(options, output=str(dataset)))
            totals = result.manifest["totals"]
            reasons = ", ".join(
                f"{count} {reason}" for reason, count in totals["rejected_by_reason"].items()
            )
            echo(
                f"{role}: prepared {path}: {totals['kept']} kept ({totals['holdout']} held out), "
                f"{totals['duplicates']} duplicates, {totals['rejected']} rejected"
                + (f" ({reasons})" if reasons else "")
            )
    totals = prepare.read_manifest(dataset)["totals"]
    if totals["train"] < MIN_TRAIN_IMAGES:
        raise DataError(
            f"{path}: only {totals['train']} usable {role} training images; "
            f"at least {MIN_TRAIN_IMAGES} are needed"
        )
    return DomainData(str(path), dataset, totals["train"], totals["holdout"])


def _preset_value(config: TrainConfig, field: str):
    """``config``'s value of a preset field, the preset's when it is None."""
    from gan_style.config import MODEL_PRESETS, PRESET_FALLBACKS

    value = getattr(config, field)
    if value is None:
        value = MODEL_PRESETS[config.model][config.preset].get(field, PRESET_FALLBACKS.get(field))
    return value


def working_size(config: TrainConfig) -> int | None:
    """The shorter side both domains train at when ``style_scale`` is set, else None.

    ``style_scale`` × the style images' median shorter side (a prepared style dataset keeps the
    size it was prepared at), and at least the crop size: the strokes keep the scale they have
    in the paintings, and the photos are brought to the same shorter side so that a photo and a
    painting fill the network's view alike. Transfer styles photos at this shorter side
    (``stroke_size`` in ``style.json``).
    """
    from gan_style.data import prepare

    scale = _preset_value(config, "style_scale")
    if scale is None or config.model == "dcgan":
        return None
    image_size = _preset_value(config, "image_size")
    path = Path(config.style).expanduser()
    if prepare.is_dataset(path):
        return max(image_size, int(prepare.read_manifest(path)["config"]["size"]))
    median = _median_shorter_side(path)
    if median is None:
        return None  # no readable images: prepare_domain reports the folder
    return max(image_size, round(scale * median))


def _median_shorter_side(folder: Path) -> int | None:
    """Median shorter side of the images under ``folder`` (headers only), None if none."""
    import statistics

    from PIL import Image

    from gan_style.data.images import has_image_extension, is_clutter_name

    sides = []
    if not folder.is_dir():
        return None
    for directory, _, files in os.walk(folder, followlinks=True):
        for name in sorted(files):
            path = Path(directory, name)
            if is_clutter_name(path) or not has_image_extension(path):
                continue
            try:
                with Image.open(path) as image:
                    sides.append(min(image.size))
            except (OSError, ValueError, Image.DecompressionBombError):
                continue  # prepare-data reports it
    return round(statistics.median(sides)) if sides else None


def _cache_key(folder: Path, options: PrepareConfig) -> str:
    """Changes whenever a file under ``folder`` or a preparation option changes."""
    digest = hashlib.sha256(json.dumps(options.to_dict(), sort_keys=True).encode())
    for directory, subdirectories, files in os.walk(folder, followlinks=True):
        subdirectories.sort()
        for name in sorted(files):
            path = Path(directory, name)
            with contextlib.suppress(OSError):
                stat = path.stat()
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"{folder.name}-{digest.hexdigest()[:16]}"


def _count_files(folder: Path) -> int:
    return sum(1 for path in folder.iterdir() if path.suffix.lower() == ".jpg")


def _check_resumable(checkpoint: Path, saved: dict, config: TrainConfig) -> None:
    """Raises `TrainingError` unless the checkpoint's config (``saved``) has ``config``'s
    architecture."""
    from gan_style.config import PRESET_FALLBACKS, defaults

    # A field added in a later version is missing from older checkpoints: they used its default
    # (for a preset field, what every run did before the field existed).
    saved = {**defaults(TrainConfig), **PRESET_FALLBACKS, **saved}
    different = [
        f"{field}={saved.get(field)!r} (now {getattr(config, field)!r})"
        for field in ARCHITECTURE_FIELDS
        if saved.get(field) != getattr(config, field)
    ]
    if different:
        raise TrainingError(
            f"{checkpoint.parent.parent}: the earlier run of {config.name!r} used "
            f"{', '.join(different)}; use the same options to resume, or --restart"
        )


@contextlib.contextmanager
def _precision(precision: str):
    """Set the Keras dtype policy for the run and restore the previous one afterwards."""
    import keras

    from gan_style.training.devices import apply_precision

    previous = keras.mixed_precision.global_policy().name
    try:
        yield apply_precision(precision)
    finally:
        keras.mixed_precision.set_global_policy(previous)


@contextlib.contextmanager
def _stop_signals():
    """Ctrl-C or SIGTERM asks the loop to stop after the current step (a second Ctrl-C
    interrupts at once). Yields a function that tells whether a stop was asked for."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return

    def handle(signum, frame):
        if requested.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested.is_set
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _progress_bar(total: int, initial: int, enabled: bool):
    import sys

    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="step",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None if enabled else True,
    )


def _sample_photos(content: DomainData, image_size: int):
    """A fixed set of held-out photos (centre crops) for the sample grids."""
    import numpy as np

    from gan_style.data.pipeline import image_dataset

    split = "holdout" if content.holdout else "train"
    data = image_dataset(
        content.dataset,
        image_size=image_size,
        split=split,
        shuffle=False,
        repeat=False,
        random_crop=False,
        random_flip=False,
        drop_remainder=False,
    )
    return np.concatenate([batch.numpy() for batch in data.take(SAMPLE_COUNT)])


def _format_losses(losses: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:.4g}" for key, value in losses.items())


def _dataset_palette(dataset: Path) -> dict[str, Any]:
    """The `gan_style.postprocess.Palette` of a prepared dataset's training images, as JSON."""
    from gan_style.data.pipeline import _decode_record, _prepared_records

    records = _prepared_records(Path(dataset), "train").map(_decode_record)
    return palette_statistics(image.numpy() for image, _ in records).to_dict()


def _style_description(
    config,
    trainer,
    style,
    content,
    policy,
    step,
    losses,
    seconds,
    strategy,
    *,
    complete: bool,
    stroke_size: int | None,
):
    import keras
    import tensorflow as tf

    def domain(data: DomainData) -> dict[str, Any]:
        return {
            "source": data.source,
            "dataset": str(data.dataset),
            "train_images": data.train,
            "holdout_images": data.holdout,
        }

    description = {
        "name": config.name,
        "model": config.model,
        "complete": complete,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "generator": {"file": store.GENERATOR_FILE, **trainer.generator_description()},
        "data": {"style": domain(style), "content": domain(content) if content else None},
        "training": {
            "steps": step,
            "planned_steps": config.steps,
            "time_limit": config.time_limit,
            "seconds": round(seconds, 1),
            "final_losses": losses,
            "precision": policy,
            "replicas": strategy.num_replicas_in_sync,
        },
        "metrics": {},
        "versions": {
            "gan_style": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    }
    if stroke_size is not None:
        description["stroke_size"] = stroke_size
    return description
