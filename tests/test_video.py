"""Videos through `gan-style transfer`: frames, rate, size, rotation, sound, errors, flicker."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from gan_style.config import TransferConfig
from gan_style.temporal import TemporalSmoother, warping_error
from gan_style.transfer import transfer_files
from gan_style.video import FrameStyler, input_kind
from tests.conftest import TOY_STYLE, make_clip, moving_pattern, photo_like
from tests.conftest import run_cli as run

STYLE = TOY_STYLE


@pytest.fixture(autouse=True)
def home(toy_home, monkeypatch) -> Path:
    """Every test here runs with the toy style's store as GAN_STYLE_HOME."""
    monkeypatch.setenv("GAN_STYLE_HOME", str(toy_home))
    return toy_home


def probe(path: Path) -> dict:
    """What a player sees: frames (decoded), times, size, rotation, streams and durations."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        audio = container.streams.audio
        return {
            "frames": len(frames),
            "times": [float(frame.time) for frame in frames],
            "size": (frames[0].width, frames[0].height),
            "rotation": frames[0].rotation,
            "rate": float(video.average_rate),
            "audio": len(audio),
            "audio_seconds": float(audio[0].duration * audio[0].time_base) if audio else None,
            "metadata": dict(container.metadata),
            "pixels": [frame.to_ndarray(format="rgb24") for frame in frames],
        }


def test_a_clip_keeps_its_frames_rate_size_rotation_sound_and_metadata(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=24, rotation=90, metadata={"title": "the pan"})
    result = run("transfer", str(clip), "--style", STYLE, "--out", str(tmp_path / "out.mp4"))
    assert result.exit_code == 0, result.output
    source, output = probe(clip), probe(tmp_path / "out.mp4")
    assert output["frames"] == source["frames"] == 24
    assert output["rate"] == pytest.approx(24, abs=0.01) and source["rate"] == pytest.approx(
        24, abs=0.01
    )
    assert output["times"] == pytest.approx(source["times"], abs=1e-3)
    assert output["size"] == source["size"] == (64, 48)
    assert output["rotation"] == source["rotation"] == 90
    assert output["audio"] == 1
    assert output["audio_seconds"] == pytest.approx(source["audio_seconds"], abs=1e-3)
    assert output["metadata"]["title"] == "the pan"
    difference = np.abs(
        output["pixels"][5].astype(np.int16) - source["pixels"][5].astype(np.int16)
    ).mean()
    assert difference > 10  # styled, not copied
    assert "24 frames of 64×48, 24.01 fps; copied audio (aac)" in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4", "out.mp4"]


def test_odd_sizes_and_a_variable_frame_rate_are_kept(tmp_path):
    times = [0.0, 0.04, 0.07, 0.15, 0.2, 0.31, 0.33, 0.4, 0.52, 0.6]
    clip = make_clip(
        tmp_path / "odd.mp4",
        width=63,
        height=37,
        pixel_format="yuv444p",
        times=times,
        frames=len(times),
    )
    result = run("transfer", str(clip), "--style", STYLE, "--out", str(tmp_path / "styled"))
    assert result.exit_code == 0, result.output
    output = probe(tmp_path / "styled" / "odd_toy.mp4")
    assert output["size"] == (63, 37)
    assert output["times"] == pytest.approx(times, abs=1e-3)


def test_images_and_videos_mix_and_a_video_is_recognised_by_content(tmp_path):
    clip = make_clip(tmp_path / "in" / "no_extension", frames=6, audio=False)
    photo_like(40, 30, seed=1).save(tmp_path / "in" / "photo.png")
    assert input_kind(clip) == "video"
    assert input_kind(tmp_path / "in" / "photo.png") == "image"
    result = run(
        "transfer",
        str(clip),
        str(tmp_path / "in" / "photo.png"),
        "--style",
        STYLE,
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["written"] == 2
    assert probe(tmp_path / "out" / "no_extension_toy.mp4")["frames"] == 6
    assert (tmp_path / "out" / "photo_toy.png").is_file()
    assert summary["videos"][0]["copied_streams"] == []


def test_a_corrupt_clip_is_one_line_and_the_others_are_done(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    good = make_clip(tmp_path / "good.mp4", frames=4, audio=False)
    result = run("transfer", str(bad), str(good), "--style", STYLE, "--out", str(tmp_path / "o"))
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if "bad.mp4" in line]
    assert len(lines) == 1 and "not a readable video" in lines[0]
    assert "error: 1 of 2 inputs failed" in result.output
    assert sorted(path.name for path in (tmp_path / "o").iterdir()) == ["good_toy.mp4"]


def test_a_truncated_tail_keeps_the_frames_before_it_in_one_line(tmp_path):
    clip = make_clip(tmp_path / "whole.mkv", frames=40, audio=False)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 6 // 10])
    result = run("transfer", str(cut), "--style", STYLE, "--out", str(tmp_path / "cut_out.mkv"))
    assert result.exit_code == 0, result.output
    frames = probe(tmp_path / "cut_out.mkv")["frames"]
    assert 5 <= frames < 40
    lines = [line for line in result.output.splitlines() if line.startswith(f"{cut}:")]
    assert len(lines) == 1 and "kept" in lines[0]


def test_ctrl_c_leaves_nothing_behind(tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "clip.mp4", frames=12)
    original = FrameStyler.__call__
    calls = []

    def interrupted(self, frame):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return original(self, frame)

    monkeypatch.setattr(FrameStyler, "__call__", interrupted)
    out = tmp_path / "out"
    out.mkdir()
    config = TransferConfig(inputs=(str(clip),), style=STYLE, output=str(out))
    with pytest.raises(KeyboardInterrupt):
        transfer_files(config)
    assert list(out.iterdir()) == []


def test_smoothing_follows_the_motion_and_lowers_the_warping_error():
    frames = [moving_pattern(96, 64, index) for index in range(12)]
    rng = np.random.default_rng(0)
    # A flickering "style": the frame plus fresh noise every frame.
    flickering = [
        np.clip(frame + rng.normal(0, 12, frame.shape), 0, 255).astype(np.uint8) for frame in frames
    ]
    smoother = TemporalSmoother(0.8)
    smoothed = [smoother(frame, out) for frame, out in zip(frames, flickering, strict=True)]
    raw_error = warping_error(flickering, frames)
    assert warping_error(smoothed, frames) < raw_error / 2
    # The smoothed frames still show the moving pattern, not the first frame frozen.
    last = smoothed[-1].astype(np.float32)
    assert np.abs(last - frames[-1]).mean() < np.abs(last - frames[0]).mean() / 2


def test_the_cli_smoothing_lowers_the_warping_error_of_a_styled_pan(tmp_path):
    clip = make_clip(tmp_path / "pan.mp4", frames=12, width=96, height=64, audio=False)
    errors = {}
    for weight in ("0", "0.8"):
        out = tmp_path / f"pan_{weight}.mp4"
        arguments = ("--temporal-smoothing", weight, "--crf", "0")
        result = run("transfer", str(clip), "--style", STYLE, "--out", str(out), *arguments)
        assert result.exit_code == 0, result.output
        errors[weight] = warping_error(probe(out)["pixels"], probe(clip)["pixels"])
    assert errors["0.8"] < errors["0"] * 0.75


def test_video_options_are_checked_in_one_line(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=2, audio=False)
    result = run("transfer", str(clip), "--style", STYLE, "--out", str(tmp_path / "x.jpg"))
    assert result.exit_code == 2
    assert "a video's result is a video" in result.output
    result = run("transfer", str(clip), "--style", STYLE, "--temporal-smoothing", "1")
    assert result.exit_code == 2


def test_a_scene_cut_starts_the_smoothing_afresh():
    smoother = TemporalSmoother(0.9)
    before = [moving_pattern(64, 48, index) for index in range(3)]
    after = np.asarray(photo_like(64, 48, seed=5))
    for frame in before:
        smoother(frame, 255 - frame)
    styled_after = 255 - after
    assert np.abs(smoother(after, styled_after).astype(int) - styled_after).mean() < 1


def test_the_pixel_aspect_and_other_codecs_and_containers(tmp_path):
    clip = make_clip(tmp_path / "wide.mp4", frames=4, pixel_aspect=(4, 3))
    out = tmp_path / "wide.mkv"
    result = run(
        "transfer", str(clip), "--style", STYLE, "--out", str(out), "--video-codec", "hevc"
    )
    assert result.exit_code == 0, result.output
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "hevc"
        assert video.sample_aspect_ratio == Fraction(4, 3)
    # WebM holds VP9 but not AAC: the sound is left out, said in one line.
    webm = tmp_path / "wide.webm"
    result = run(
        "transfer", str(clip), "--style", STYLE, "--out", str(webm), "--video-codec", "vp9"
    )
    assert result.exit_code == 0, result.output
    assert probe(webm)["frames"] == 4 and probe(webm)["audio"] == 0
    assert "audio (aac), cannot go into a .webm file; left out" in result.output
    result = run("transfer", str(clip), "--style", STYLE, "--out", str(tmp_path / "x.webm"))
    assert result.exit_code == 2 and "libx264 cannot write into a webm file" in result.output
    assert not (tmp_path / "x.webm").exists()
