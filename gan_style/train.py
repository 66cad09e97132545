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
from gan_style.config import PrepareConfig, TrainConfig
from gan_style.errors import ConfigError, DataError, TrainingError

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
    bundle = store.bundle_folder(config.name)
    run_folder = bundle / store.RUN_FOLDER
    if restart and bundle.exists():
        echo(f"--restart: removing the earlier run of {config.name!r} ({bundle})")
        shutil.rmtree(bundle)

    if config.model == "dcgan" and config.content is not None:
        raise ConfigError(
            f"--content {config.content}: the dcgan model learns from the style images "
            "alone; leave --content out (or use --model cyclegan to translate photos)"
        )
    style = prepare_domain(config.style, "style", config, echo)
    content = None
    if config.model != "dcgan":
        content_source = config.content or str(BUNDLED_PHOTOS)
        if config.content is None:
            echo(f"no --content given: using the {_count_files(BUNDLED_PHOTOS)} bundled photos")
        content = prepare_domain(content_source, "content", config, echo)
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
        if saved_step >= resolved.steps and store.is_bundle(bundle):
            echo(
                f"style {config.name!r} is already trained ({saved_step} steps): use --restart "
                "to train it again, or a larger --steps to continue"
            )
            return TrainResult(
                bundle, "already trained", saved_step, resolved.steps, saved_step, 0.0, {}
            )

    with _precision(resolved.precision) as policy:
        return _run(
            resolved, bundle, manager, latest, style, content, policy, progress, echo, stop_after
        )


def _run(config, bundle, manager, latest, style, content, policy, progress, echo, stop_after):
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
    if latest is not None:
        state, arrays = manager.restore(latest, checkpoint)
        trainer.restore_pools(arrays)
        start = int(state["step"])
        echo(f"resuming {config.name!r} at step {start} of {config.steps} ({latest.name})")
    (run_folder / "config.json").write_text(json.dumps(config.to_dict(), indent=1) + "\n")

    batch = config.batch_size
    common = dict(image_size=config.image_size, batch_size=batch, skip=start * batch)
    domains = {"photo": (content, 1), "style": (style, 2)}
    datasets = [
        image_dataset(domains[name][0].dataset, seed=config.seed * 2 + domains[name][1], **common)
        for name in trainer.domains
    ]
    batches: Iterator = iter(tf.data.Dataset.zip(tuple(datasets)))
    samples = _sample_photos(content, config.image_size) if content is not None else None
    writer = tf.summary.create_file_writer(str(run_folder / "logs"))

    def save_state(step: int, losses: dict[str, float]) -> None:
        manager.save(
            step,
            checkpoint,
            arrays=trainer.pool_arrays(),
            state={"config": config.to_dict(), "losses": losses, "policy": policy},
        )

    def write_samples(step: int) -> None:
        from gan_style.atomic import write_bytes_atomic
        from gan_style.report import sample_grid

        columns, titles = trainer.sample_columns(samples)
        caption = f"{config.name} · step {step} of {config.steps}"
        png = sample_grid(columns, titles, caption=caption)
        write_bytes_atomic(bundle / store.SAMPLES_FILE, png)
        with writer.as_default(step=step):
            rows = np.concatenate(columns, 2)
            tf.summary.image("samples", (rows + 1) / 2, max_outputs=len(rows))

    bar = _progress_bar(config.steps, start, progress)
    losses: dict[str, float] = {}
    step = start
    started = time.perf_counter()
    status = "finished"
    with _stop_signals() as stop_requested:
        while step < config.steps:
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
            images_per_second = (
                len(trainer.domains) * batch * (step - start) / (time.perf_counter() - started)
            )
            bar.update(1)
            bar.set_postfix_str(f"{trainer.progress_text(losses)} {images_per_second:.1f} img/s")
            if bar.disable and (step % (config.log_every * 10) == 0 or step == config.steps):
                echo(
                    f"step {step}/{config.steps}  {_format_losses(losses)}  "
                    f"{images_per_second:.2f} img/s"
                )
            if step % config.log_every == 0:
                with writer.as_default(step=step):
                    for key, value in losses.items():
                        tf.summary.scalar(f"loss/{key}", value)
                    tf.summary.scalar("images_per_second", images_per_second)
            if step % config.sample_every == 0 or step == config.steps:
                write_samples(step)
            stopping = stop_requested() or (stop_after is not None and step - start >= stop_after)
            if step % config.checkpoint_every == 0 or step == config.steps or stopping:
                save_state(step, losses)
            if stopping and step < config.steps:
                status = "interrupted"
                break
    bar.close()
    writer.flush()
    seconds = time.perf_counter() - started
    if status == "interrupted":
        echo(
            f"stopped at step {step} of {config.steps}; checkpoint saved in "
            f"{manager.latest()}: run the same command to resume"
        )
        return TrainResult(bundle, status, step, config.steps, start, seconds, losses)

    store.save_generator(bundle, _float32_generator(trainer))
    if not (bundle / store.SAMPLES_FILE).exists():
        write_samples(step)
    store.write_style(
        bundle,
        _style_description(
            config, trainer, style, content, policy, step, losses, seconds, strategy
        ),
    )
    echo(f"trained {config.name!r}: {step} steps in {seconds / 60:.1f} min → {bundle}")
    return TrainResult(bundle, status, step, config.steps, start, seconds, losses)


def make_trainer(config: TrainConfig, strategy=None):
    """The trainer of ``config.model``: a `CycleGANTrainer` or a `DCGANTrainer`.

    Both offer the interface the loop in this module uses: ``domains`` (the training sets
    ``train_step`` takes a batch of), ``train_step``, ``progress_text``, ``sample_columns``,
    ``checkpoint``, ``pool_arrays``/``restore_pools``, ``build_generator``,
    ``exported_generator`` and ``generator_description``.
    """
    use_augment = config.augment == "diffaugment"
    if config.model == "dcgan":
        from gan_style.training.dcgan import DCGANTrainer

        return DCGANTrainer(config, use_augment=use_augment, strategy=strategy)
    from gan_style.training.cyclegan import CycleGANTrainer

    return CycleGANTrainer(config, use_augment=use_augment, strategy=strategy)


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


def prepare_domain(source: str, role: str, config: TrainConfig, echo) -> DomainData:
    """A prepared dataset for ``source``: itself if it is one, else a cached preparation.

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
        image_size = config.image_size or _preset_image_size(config)
        options = PrepareConfig(
            source=str(path.resolve()),
            output="",
            size=round(image_size * 286 / 256),
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


def _preset_image_size(config: TrainConfig) -> int:
    from gan_style.config import MODEL_PRESETS

    return MODEL_PRESETS[config.model][config.preset]["image_size"]


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
    from gan_style.config import defaults

    # A field added in a later version is missing from older checkpoints: they used its default.
    saved = {**defaults(TrainConfig), **saved}
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


def _style_description(config, trainer, style, content, policy, step, losses, seconds, strategy):
    import keras
    import tensorflow as tf

    def domain(data: DomainData) -> dict[str, Any]:
        return {
            "source": data.source,
            "dataset": str(data.dataset),
            "train_images": data.train,
            "holdout_images": data.holdout,
        }

    return {
        "name": config.name,
        "model": config.model,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "generator": {"file": store.GENERATOR_FILE, **trainer.generator_description()},
        "data": {"style": domain(style), "content": domain(content) if content else None},
        "training": {
            "steps": step,
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
