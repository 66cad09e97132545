"""Frozen configuration dataclasses, one per job, with validation and a JSON round-trip.

A config is built by the CLI (or by a Python caller), validated on construction, and saved next
to whatever the job writes (the dataset manifest, checkpoints, style bundles) so that a run can
be repeated or resumed exactly. Invalid values raise `gan_style.errors.ConfigError` with a
message that names the option, the value received and what is expected.
"""

from __future__ import annotations

import dataclasses
import os
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
        workers: Decoding processes; None uses every core.
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
