"""gan_style.config: the one source of every command's options, and the commands mirror it."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from gan_style.cli import cli
from gan_style.config import (
    DIFF_AUGMENT_POLICIES,
    MODELS,
    PRECISIONS,
    RESIZE_METHODS,
    TRAIN_DISCRIMINATORS,
    TRAIN_LOSSES,
    EvaluateConfig,
    GenerateConfig,
    PrepareConfig,
    TrainConfig,
    defaults,
    parse_augment_policy,
    parse_duration,
)
from gan_style.errors import ConfigError


def _options(command_name: str, leave_out: tuple[str, ...] = ("as_json",)):
    command = cli.commands[command_name]
    context = click.Context(command)
    options = {p.name: p for p in command.params if p.name not in leave_out}
    return options, context


def _check_defaults(options, context, config_type, fields: set[str]) -> None:
    assert set(options) == fields
    for name, default in defaults(config_type).items():
        if name in options:
            assert options[name].get_default(context) == default, name


def test_evaluate_mirrors_its_config():
    options, context = _options("evaluate", leave_out=("as_json", "folders"))
    _check_defaults(options, context, EvaluateConfig, set(defaults(EvaluateConfig)) - {"folders"})


def test_generate_mirrors_its_config():
    options, context = _options("generate")
    _check_defaults(options, context, GenerateConfig, set(defaults(GenerateConfig)) | {"style"})


def test_prepare_mirrors_its_config():
    options, context = _options("prepare-data", leave_out=("as_json", "source", "output"))
    config_defaults = defaults(PrepareConfig)
    # The shards' JPEG quality is a library setting, not a command-line option.
    assert set(options) == set(config_defaults) - {"jpeg_quality"}
    for name, option in options.items():
        default = option.get_default(context)
        if name == "background":  # given as R,G,B text
            default = tuple(int(part) for part in default.split(","))
        assert default == config_defaults[name], name


def test_train_mirrors_its_config():
    options, context = _options("train", leave_out=("as_json", "style", "name", "restart"))
    train_fields = set(defaults(TrainConfig))
    assert set(options) <= train_fields, set(options) - train_fields
    _check_defaults(options, context, TrainConfig, set(options))
    for name, choices in (
        ("model", MODELS),
        ("loss", TRAIN_LOSSES),
        ("precision", PRECISIONS),
        ("discriminator", TRAIN_DISCRIMINATORS),
    ):
        assert tuple(options[name].type.choices) == choices, name


def test_resize_methods_are_the_networks():
    from gan_style.metrics.inception import RESIZE_METHODS as NETWORK_METHODS

    assert tuple(NETWORK_METHODS) == RESIZE_METHODS


def test_the_losses_are_what_the_trainers_train():
    from gan_style.training import ADVERSARIAL_LOSS_NAMES
    from gan_style.training.losses import ADVERSARIAL_LOSSES

    assert TRAIN_LOSSES == ADVERSARIAL_LOSS_NAMES == tuple(ADVERSARIAL_LOSSES)


def test_config_imports_neither_tensorflow_nor_the_training_package():
    code = (
        "import sys; sys.modules['tensorflow'] = None; import gan_style.config, gan_style.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('gan_style.training')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"folders": ("a", "b"), "style": "s"}, "either --style or two folders"),
        ({"folders": ("a",)}, "give two folders"),
        ({"folders": ("a", "b"), "ssim": True}, "--ssim needs --style"),
        ({"folders": ("a", "b"), "grid": "g.png"}, "--grid needs --style"),
        ({"folders": ("a", "b"), "recognition": True}, "--recognition needs --style"),
        ({"style": "s", "resize": "lanczos"}, "resize must be one of"),
        ({"style": "s", "batch_size": 0}, "batch_size must be >= 1"),
    ],
)
def test_evaluate_config_refuses(options, message):
    with pytest.raises(ConfigError, match=message):
        EvaluateConfig(**options)


def test_no_metric_flag_means_every_metric_that_applies():
    assert EvaluateConfig(folders=("a", "b")).metrics() == {
        "fid": True,
        "kid": True,
        "ssim": False,
        "recognition": False,
    }
    assert all(EvaluateConfig(style="s").metrics().values())
    assert EvaluateConfig(style="s", kid=True).metrics() == {
        "fid": False,
        "kid": True,
        "ssim": False,
        "recognition": False,
    }


def test_generate_config_refuses():
    with pytest.raises(ConfigError, match="count must be >= 1"):
        GenerateConfig(style="s", count=0)
    with pytest.raises(ConfigError, match="truncation must be > 0"):
        GenerateConfig(style="s", truncation=0)


def test_configs_round_trip_through_json():
    for config in (
        EvaluateConfig(folders=("a", "b"), kid=True),
        GenerateConfig(style="s", count=3, truncation=0.7),
        TrainConfig(style="s", name="n", discriminator="projected", time_limit=60),
    ):
        assert type(config).from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown GenerateConfig fields"):
        GenerateConfig.from_dict({"style": "s", "colour": 1})


def test_train_config_resolves_presets_and_refuses_bad_combinations():
    resolved = TrainConfig(style="s", name="n").resolved()
    assert resolved.model == "cut" and resolved.discriminator == "patch+projected"
    cyclegan = TrainConfig(style="s", name="n", model="cyclegan").resolved()
    assert cyclegan.discriminator == "patch"
    assert resolved.image_size == 128 and resolved.nce_weight == 1.0
    assert TrainConfig(style="s", name="n", model="fastcut").resolved().nce_weight == 10.0
    assert TrainConfig(style="s", name="n", time_limit=60).resolved().steps == 10**9
    with pytest.raises(ConfigError, match="dcgan model has its own discriminator"):
        TrainConfig(style="s", name="n", model="dcgan", discriminator="projected")
    with pytest.raises(ConfigError, match="wgan-gp"):
        TrainConfig(style="s", name="n", model="dcgan", loss="wgan-gp")
    with pytest.raises(ConfigError, match="multiple of 8"):
        TrainConfig(style="s", name="n", image_size=60)


def test_durations_and_policies_parse():
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90
    assert parse_duration("45") == 45
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration("soon")
    assert parse_augment_policy("color, cutout") == ("color", "cutout")
    assert set(parse_augment_policy(",".join(DIFF_AUGMENT_POLICIES))) == set(DIFF_AUGMENT_POLICIES)
    with pytest.raises(ValueError, match="Unknown DiffAugment policy 'flip'"):
        parse_augment_policy("color,flip")
