"""`train` end to end on tiny synthetic data: bundles, resume, errors, and that it learns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_style import store
from gan_style.cli import cli
from gan_style.config import TrainConfig
from gan_style.errors import DataError, TrainingError
from gan_style.train import train
from tests.conftest import TINY_CLI, TINY_NETWORKS, photo_like, quiet, styled

SIZE = TINY_NETWORKS["image_size"]
TINY = dict(TINY_NETWORKS, checkpoint_every=2, sample_every=100)


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("domains")
    for index in range(24):
        photo = photo_like(40, 40, seed=300 + index)
        (root / "photos").mkdir(exist_ok=True)
        (root / "style").mkdir(exist_ok=True)
        photo.save(root / "photos" / f"p{index:02d}.png")
        styled(photo_like(40, 40, seed=600 + index)).save(root / "style" / f"s{index:02d}.png")
    return root / "style", root / "photos"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GAN_STYLE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def config(domains, name="tiny", **overrides) -> TrainConfig:
    style, photos = domains
    return TrainConfig(style=str(style), content=str(photos), name=name, **{**TINY, **overrides})


def test_a_short_run_writes_a_complete_bundle(domains, home):
    result = train(config(domains, steps=3), echo=quiet, progress=False)
    assert result.status == "finished" and result.step == 3
    bundle = home / "styles" / "tiny"
    assert result.bundle == bundle
    for name in ("generator.keras", "style.json", "samples.png"):
        assert (bundle / name).is_file(), name
    style = store.read_style(bundle)
    assert style["name"] == "tiny" and style["model"] == "cut"  # the default model
    assert style["complete"] is True and store.is_complete(bundle)
    # The 40-pixel style images are kept at their own scale (style_scale 1), not shrunk.
    assert style["stroke_size"] == 40
    assert style["training"]["steps"] == 3
    assert style["config"]["augment"] == "diffaugment"  # 21 style images < 1000
    assert style["data"]["style"]["train_images"] + style["data"]["style"]["holdout_images"] == 24
    assert set(style["training"]["final_losses"]) >= {"generator_total", "nce", "nce_identity"}
    generator = store.load_generator(bundle)
    output = np.asarray(generator(np.zeros((1, 36, 44, 3), np.float32)))
    assert output.shape == (1, 36, 44, 3) and output.dtype == np.float32
    assert Image.open(bundle / "samples.png").size[0] > 100
    assert any((bundle / "run" / "logs").iterdir())  # TensorBoard events


def test_the_default_recipe_trains_with_both_discriminators(domains, home):
    """No --discriminator: cut's preset scores with the PatchGAN and the projected one."""
    result = train(config(domains, name="default", steps=2, discriminator=None), echo=quiet)
    style = store.read_style(result.bundle)
    assert style["config"]["discriminator"] == "patch+projected"
    losses = style["training"]["final_losses"]
    assert {"discriminator_style", "discriminator_projected", "adversarial_projected"} <= set(
        losses
    )
    assert all(np.isfinite(value) for value in losses.values())
    output = store.load_generator(result.bundle)(np.zeros((1, 32, 32, 3), np.float32))
    assert np.isfinite(np.asarray(output)).all()


def test_stop_and_resume_continues_exactly(domains, home):
    straight = train(config(domains, name="straight", steps=4), echo=quiet, progress=False)
    first = train(
        config(domains, name="resumed", steps=4), echo=quiet, progress=False, stop_after=2
    )
    assert (first.status, first.step) == ("interrupted", 2)
    partial = store.read_style(first.bundle)  # a usable style is left behind
    assert partial["complete"] is False and partial["training"]["steps"] == 2
    assert not store.is_complete(first.bundle)
    with pytest.raises(TrainingError, match=r"num_filters=4 \(now 8\)"):
        train(config(domains, name="resumed", steps=4, num_filters=8), echo=quiet, progress=False)
    lines: list[str] = []
    second = train(config(domains, name="resumed", steps=4), echo=lines.append, progress=False)
    assert (second.status, second.resumed_from, second.step) == ("finished", 2, 4)
    assert any("resuming 'resumed' at step 2 of 4" in line for line in lines)
    expected = store.load_generator(straight.bundle).get_weights()
    actual = store.load_generator(second.bundle).get_weights()
    for left, right in zip(expected, actual, strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)
    again = train(config(domains, name="resumed", steps=4), echo=quiet, progress=False)
    assert again.status == "already trained"


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(domains, home, monkeypatch):
    from gan_style.training import cyclegan

    real_step = cyclegan.CycleGANTrainer.train_step
    calls = {"count": 0}

    def failing_step(self, photo, style):
        calls["count"] += 1
        losses = real_step(self, photo, style)
        if calls["count"] == 3:
            return cyclegan.StepLosses(**{**losses.as_dict(), "cycle": float("nan")})
        return losses

    monkeypatch.setattr(cyclegan.CycleGANTrainer, "train_step", failing_step)
    with pytest.raises(TrainingError, match=r"non-finite loss at step 3 .*step-00000002"):
        train(config(domains, steps=6, model="cyclegan"), echo=quiet, progress=False)
    checkpoints = home / "styles" / "tiny" / "run" / "checkpoints"
    assert sorted(path.name for path in checkpoints.iterdir()) == ["step-00000002"]


def test_too_few_images_is_an_error_before_training(tmp_path, home, domains):
    few = tmp_path / "few"
    few.mkdir()
    for index in range(3):
        photo_like(40, 40, seed=index).save(few / f"{index}.png")
    (few / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    with pytest.raises(DataError, match=r"only 3 usable style training images; at least 4"):
        train(config((few, domains[1])), echo=quiet, progress=False)
    assert not (home / "styles" / "tiny").exists()


def test_it_learns_the_colour_of_the_style(domains, home):
    """A short run moves translated photos toward the style domain's colour statistics."""
    import tensorflow as tf

    style_dir, photo_dir = domains
    photos = np.stack(
        [np.asarray(Image.open(p), np.float32) / 127.5 - 1 for p in sorted(photo_dir.glob("*.png"))]
    )[:, :SIZE, :SIZE]
    style_mean = np.mean(
        [
            np.asarray(Image.open(p), np.float32).mean((0, 1)) / 127.5 - 1
            for p in sorted(style_dir.glob("*.png"))
        ],
        axis=0,
    )

    def distance(generator) -> float:
        return float(
            np.abs(np.asarray(generator(tf.constant(photos))).mean((0, 1, 2)) - style_mean).sum()
        )

    import keras

    from gan_style.models.generators import build_resnet_generator

    keras.utils.set_random_seed(0)
    untrained = distance(build_resnet_generator(SIZE, 8, 2))
    result = train(
        config(
            domains,
            name="learner",
            model="cyclegan",
            steps=150,
            num_filters=8,
            num_blocks=2,
            checkpoint_every=1000,
        ),
        echo=quiet,
        progress=False,
    )
    trained = distance(store.load_generator(result.bundle))
    assert trained < 0.5 * untrained, (trained, untrained)


def test_cli_train_restart_and_styles(domains, home):
    style, photos = domains
    runner = CliRunner()
    arguments = [
        "train",
        str(style),
        "--content",
        str(photos),
        "--name",
        "cli_style",
        "--steps",
        "2",
        *TINY_CLI,
        "--json",
    ]
    result = runner.invoke(cli, [*arguments, "--checkpoint-every", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "finished" and summary["step"] == 2
    listing = runner.invoke(cli, ["styles", "--json"])
    assert [entry["name"] for entry in json.loads(listing.output)] == ["cli_style"]
    table = runner.invoke(cli, ["styles"]).output
    assert table.startswith("cli_style") and "2 steps" in table

    checkpoints = home / "styles" / "cli_style" / "run" / "checkpoints"
    assert [path.name for path in sorted(checkpoints.iterdir())] == [
        "step-00000001",
        "step-00000002",
    ]
    restarted = runner.invoke(cli, [*arguments, "--ngf", "8", "--restart"], catch_exceptions=False)
    assert restarted.exit_code == 0, restarted.output
    assert "--restart: removing the earlier run of 'cli_style'" in restarted.stderr
    assert json.loads(restarted.stdout)["resumed_from"] == 0
    assert [path.name for path in sorted(checkpoints.iterdir())] == ["step-00000002"]
    assert store.read_style(home / "styles" / "cli_style")["config"]["num_filters"] == 8


def test_cli_errors_are_one_line(tmp_path, home):
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "nowhere"), "--name", "x"])
    assert result.exit_code == 3
    assert result.output.strip() == f"error: {tmp_path / 'nowhere'}: no such folder (style images)"
    result = CliRunner().invoke(cli, ["train", str(tmp_path), "--name", "bad name!"])
    assert result.exit_code == 4 and "invalid style name 'bad name!'" in result.output


def test_kill_9_loses_at_most_the_steps_since_the_last_checkpoint(domains, tmp_path):
    """A hard kill mid-run leaves only complete checkpoints; the next run resumes from one."""
    style, photos = domains
    environment = {
        **os.environ,
        "GAN_STYLE_HOME": str(tmp_path / "home"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    command = [
        sys.executable,
        "-m",
        "gan_style",
        "train",
        str(style),
        "--content",
        str(photos),
        "--name",
        "killed",
        "--steps",
        "400",
        *TINY_CLI,
        "--checkpoint-every",
        "1",
    ]
    errors = tmp_path / "stderr.txt"
    with open(errors, "wb") as stderr:
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=stderr
        )
        checkpoints = tmp_path / "home" / "styles" / "killed" / "run" / "checkpoints"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(checkpoints.glob("step-*"))) < 2:
            assert process.poll() is None, errors.read_text()[-2000:]
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
    saved = sorted(checkpoints.glob("step-*"))
    assert saved, "no checkpoint was written before the kill: " + errors.read_text()[-2000:]
    for folder in saved:
        assert (folder / "trainer.json").is_file() and (folder / "arrays.npz").is_file()
    last = json.loads((saved[-1] / "trainer.json").read_text())["step"]
    # The last checkpoint's bundle refresh may itself have been cut short by the kill (it is
    # written after the checkpoint), so the partial style is at that step or the one before.
    partial = json.loads((tmp_path / "home" / "styles" / "killed" / "style.json").read_text())
    assert partial["complete"] is False and last - 1 <= partial["training"]["steps"] <= last
    transfer_partial("killed", photos, environment, tmp_path / "killed.png")
    resumed = subprocess.run(
        [*command[: command.index("400")], str(last + 1), *command[command.index("400") + 1 :]],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming 'killed' at step {last} of {last + 1}" in resumed.stdout
    assert (tmp_path / "home" / "styles" / "killed" / "style.json").is_file()


MIRRORED_SCRIPT = """
import os, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from gan_style.config import TrainConfig
from gan_style.train import train
style, photos = sys.argv[1:3]
result = train(TrainConfig(style=style, content=photos, name="mirrored", steps=2, image_size=32,
                           num_filters=4, num_blocks=1, disc_filters=4, disc_layers=2,
                           pool_size=4, batch_size=2, strategy="mirrored", precision="float32"),
               progress=False, echo=lambda line: None)
print(result.status, result.step)
"""


@pytest.mark.slow  # a subprocess training on two logical devices: ~30 s
def test_mirrored_strategy_on_two_logical_cpu_devices(domains, tmp_path):
    style, photos = domains
    environment = {
        **os.environ,
        "GAN_STYLE_HOME": str(tmp_path / "home"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    completed = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(style), str(photos)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split() == ["finished", "2"]
    bundle = tmp_path / "home" / "styles" / "mirrored"
    assert store.read_style(bundle)["training"]["replicas"] == 2


@pytest.mark.slow  # two runs, ~30 s; the old-cyclegan resume test covers the default path
def test_a_checkpoint_from_before_a_new_option_still_resumes(domains, home):
    """Options added in later versions are missing from older checkpoints: they had defaults."""
    first = train(config(domains, name="old", steps=2), echo=quiet, progress=False, stop_after=1)
    assert first.status == "interrupted"
    state_file = next((first.bundle / "run" / "checkpoints").iterdir()) / "trainer.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    del state["config"]["latent_dim"]  # an option that did not exist before dcgan
    del state["config"]["d_learning_rate"]  # nor this, before --d-lr
    state_file.write_text(json.dumps(state), encoding="utf-8")
    second = train(config(domains, name="old", steps=2), echo=quiet, progress=False)
    assert (second.status, second.resumed_from, second.step) == ("finished", 1, 2)
    # Those runs trained the discriminators at the generators' rate, and still do.
    saved = store.read_style(second.bundle)["config"]
    assert saved["d_learning_rate"] == saved["learning_rate"]


def test_a_time_limited_run_plans_its_steps_and_ends_inside_its_budget(domains, home):
    started = time.perf_counter()
    result = train(config(domains, name="timed", time_limit=25.0), echo=quiet, progress=False)
    wall = time.perf_counter() - started
    assert result.status == "finished"
    assert wall <= 25.0 + 2.0, wall  # the final bundle is written inside the reserve
    style = store.read_style(result.bundle)
    training = style["training"]
    assert style["complete"] is True
    # The plan was made and met: the learning rate decayed to zero at the last step.
    # The plan was made (it needs the warm-up and the measured steps) and used the budget.
    from gan_style.training.budget import MIN_MEASURED_STEPS, WARMUP_STEPS

    assert training["steps"] == training["planned_steps"] == result.step
    assert result.step >= WARMUP_STEPS + MIN_MEASURED_STEPS and wall >= 0.75 * 25.0
    assert style["config"]["steps"] == result.step
    assert training["time_limit"] == 25.0
    again = train(config(domains, name="timed", time_limit=25.0), echo=quiet, progress=False)
    assert again.status == "already trained"


def test_an_old_cyclegan_checkpoint_resumes_without_naming_its_model(domains, home):
    """Runs from before cut became the default resume as the cyclegan runs they are."""
    first = train(
        config(domains, name="legacy", steps=2, model="cyclegan"),
        echo=quiet,
        progress=False,
        stop_after=1,
    )
    state_file = next((first.bundle / "run" / "checkpoints").iterdir()) / "trainer.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    for field in ("antialias", "style_scale", "nce_weight", "time_limit", "discriminator"):
        del state["config"][field]  # options that did not exist then
    state_file.write_text(json.dumps(state), encoding="utf-8")
    second = train(config(domains, name="legacy", steps=2), echo=quiet, progress=False)
    assert (second.status, second.resumed_from, second.step) == ("finished", 1, 2)
    style = store.read_style(second.bundle)
    assert style["model"] == "cyclegan" and style["config"]["antialias"] is False
    assert style["config"]["discriminator"] == "patch"
    assert "stroke_size" not in style  # transfer keeps its full-resolution default


def transfer_partial(name: str, photos: Path, environment: dict, output: Path) -> None:
    """Transfers a photo with the partial style ``name`` and checks the one-line note."""
    transferred = subprocess.run(
        [
            *(sys.executable, "-m", "gan_style", "transfer", str(next(photos.iterdir()))),
            *("--style", name, "--out", str(output)),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert transferred.returncode == 0, transferred.stderr[-2000:]
    assert f"style {name!r} is partial: its training stopped at step" in transferred.stderr
    assert Image.open(output).size == (40, 40)


def test_ctrl_c_leaves_a_partial_style_that_transfers(domains, tmp_path):
    style, photos = domains
    environment = {
        **os.environ,
        "GAN_STYLE_HOME": str(tmp_path / "home"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    command = [
        *(sys.executable, "-m", "gan_style", "train", str(style), "--content", str(photos)),
        *("--name", "stopped", "--steps", "100000", *TINY_CLI, "--checkpoint-every", "2"),
    ]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    style_json = tmp_path / "home" / "styles" / "stopped" / "style.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not style_json.is_file():
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    partial = json.loads(style_json.read_text())
    assert partial["complete"] is False and partial["training"]["steps"] >= 2
    transfer_partial("stopped", photos, environment, tmp_path / "stopped.png")
