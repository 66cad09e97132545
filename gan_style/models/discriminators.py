"""Discriminators: the 70×70 PatchGAN (CycleGAN, pix2pix), the DCGAN one, and the projected one
(a trained head on frozen ImageNet features, `gan_style.models.projected`).

All return raw scores (logits), float32 even under a mixed precision policy; the adversarial
loss chosen in `gan_style.training.losses` decides how they are read. All take an optional
augmentation layer (`gan_style.training.augment.DiffAugment`) as their first layer, so the same
differentiable augmentation applies to real and fake images in D's own `train_on_batch` and in
the combined generator model, and is skipped at inference.
"""

from collections.abc import Mapping

import keras
import numpy as np

from gan_style.models import check_positive_int, check_power_of_two_size
from gan_style.models.generators import BATCH_NORM_MOMENTUM
from gan_style.models.layers import Blur2D, gan_kernel_initializer, instance_normalization
from gan_style.models.projected import FrozenFeatures

LEAKY_RELU_SLOPE = 0.2


def _conv(num_filters: int, strides: int, name: str, use_bias: bool) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(
        num_filters,
        4,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=gan_kernel_initializer(),
        name=name,
    )


def _prefix_layers(augment: keras.layers.Layer | None) -> list[keras.layers.Layer]:
    return [] if augment is None else [augment]


def build_patch_discriminator(
    num_filters: int = 64,
    num_layers: int = 3,
    augment: keras.layers.Layer | None = None,
    name: str = "patch_discriminator",
    antialias: bool = False,
) -> keras.Sequential:
    """Builds the PatchGAN discriminator (Isola et al. 2017, pix2pix, section 3.2.2).

    C64 → C128 → C256 (4×4 convs, stride 2) → C512 (stride 1) → 1-channel 4×4 conv, each Ck
    followed by instance norm (except the first) and LeakyReLU(0.2). With `num_layers=3` every
    output score sees a 70×70 patch of the input; the output is (batch, H/8, W/8, 1) for inputs
    whose sides are multiples of 8 (zero "same" padding keeps the map at H/8 rather than
    PyTorch's H/8 - 2, with the same receptive field).

    With `antialias` a fixed blur (`Blur2D`, Zhang 2019) named `block_<k>_blur` comes before
    the stride-2 convolution of every block but the first: blocks 2 … num_layers, which
    subsample feature maps. The first sees the image itself, and the blur's gain is 0 at period
    2 and 1/2 at period 4, so blurring there would hide from the discriminator the very
    checkerboard and grid artifacts of fake images it should penalise (StyleGAN2 and CUT
    likewise run a full-resolution convolution before their first blur). The blurs have no
    weights and keep the sizes: the output stays (batch, H/8, W/8, 1) and the other layers keep
    their names, so `antialias=False` is the model of earlier runs.

    Args:
        num_filters: Filters of the first convolution; doubled per layer up to 8×.
        num_layers: Stride-2 convolutions (3 gives the 70×70 receptive field, 1 a 16×16 one).
        augment: Optional layer placed first, e.g. `DiffAugment()`; give each discriminator its
            own instance.
        name: Model name (e.g. "discriminator_style").
        antialias: Blur before the stride-2 convolutions of blocks 2 … num_layers.

    Returns:
        A `keras.Sequential` mapping (batch, H, W, 3) images in [-1, 1] to float32 patch logits.

    Raises:
        ValueError: If an argument is out of range.
    """
    check_positive_int(num_filters, "num_filters")
    check_positive_int(num_layers, "num_layers")
    if not isinstance(antialias, bool):
        raise ValueError(f"antialias must be True or False; received {antialias!r}.")
    layers = [
        keras.Input((None, None, 3), name="image"),
        *_prefix_layers(augment),
        _conv(num_filters, 2, "block_1_conv", use_bias=True),
        keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name="block_1_relu"),
    ]
    for index in range(2, num_layers + 2):
        # The last block keeps the resolution; the ones before halve it.
        strides = 2 if index <= num_layers else 1
        if antialias and strides == 2:
            layers.append(Blur2D(name=f"block_{index}_blur"))
        layers += [
            _conv(num_filters * min(2 ** (index - 1), 8), strides, f"block_{index}_conv", False),
            instance_normalization(name=f"block_{index}_norm"),
            keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name=f"block_{index}_relu"),
        ]
    # float32 so the scores (and the losses on them) stay float32 under mixed precision.
    layers.append(
        keras.layers.Conv2D(
            1,
            4,
            padding="same",
            kernel_initializer=gan_kernel_initializer(),
            dtype="float32",
            name="logits",
        )
    )
    return keras.Sequential(layers, name=name)


def build_dcgan_discriminator(
    image_size: int = 64,
    num_filters: int = 64,
    augment: keras.layers.Layer | None = None,
    name: str = "dcgan_discriminator",
) -> keras.Sequential:
    """Builds a DCGAN discriminator (Radford et al. 2016): an image → one logit.

    [4×4 conv stride 2, batch norm (not on the first), LeakyReLU(0.2)] repeated, doubling the
    filters, down to a 4×4 map → flatten → dense logit. Batch norm couples the samples of a
    batch, so pair this model with the "lsgan", "bce" or "hinge" loss rather than "wgan-gp",
    whose gradient penalty assumes per-sample scores.

    Args:
        image_size: Side of the square input; a power of two, at least 8.
        num_filters: Filters of the first convolution.
        augment: Optional layer placed first, e.g. `DiffAugment()`.
        name: Model name.

    Returns:
        A `keras.Sequential` mapping (batch, image_size, image_size, 3) images to float32
        logits of shape (batch, 1).

    Raises:
        ValueError: If an argument is out of range.
    """
    check_positive_int(num_filters, "num_filters")
    check_power_of_two_size(image_size)
    layers = [
        keras.Input((image_size, image_size, 3), name="image"),
        *_prefix_layers(augment),
        _conv(num_filters, 2, "block_1_conv", use_bias=True),
        keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name="block_1_relu"),
    ]
    size, filters, index = image_size // 2, num_filters, 1
    while size > 4:
        size, filters, index = size // 2, filters * 2, index + 1
        layers += [
            _conv(filters, 2, f"block_{index}_conv", use_bias=False),
            keras.layers.BatchNormalization(
                momentum=BATCH_NORM_MOMENTUM, name=f"block_{index}_norm"
            ),
            keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name=f"block_{index}_relu"),
        ]
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(
            1, kernel_initializer=gan_kernel_initializer(), dtype="float32", name="logits"
        ),
    ]
    return keras.Sequential(layers, name=name)


def build_projected_discriminator(
    num_filters: int = 32,
    augment: keras.layers.Layer | None = None,
    name: str = "projected_discriminator",
    backbone: Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
) -> keras.Sequential:
    """Builds a discriminator on frozen EfficientNet-Lite0 features (Projected GAN).

    ``[Input, augment?, FrozenFeatures, Conv 3×3 (4·num_filters), LeakyReLU, Conv 3×3,
    LeakyReLU, Conv 1×1 → 1]``: the frozen backbone and its fixed random projection
    (`gan_style.models.projected.FrozenFeatures`) see the (augmented) image, and only the head
    is trained. Output: (batch, ceil(H/8), ceil(W/8), 1) float32 patch logits, the PatchGAN's
    shape for sides that are multiples of 8.

    Args:
        num_filters: A quarter of the head's width (so the presets' ``disc_filters`` scale it).
        augment: Optional layer placed first, e.g. `DiffAugment()`.
        name: Model name.
        backbone: The EfficientNet-Lite0 state dict (`projected.load_backbone_arrays`); None
            leaves the backbone at zeros (for a model whose weights a checkpoint restores).
        seed: Seed of the random projection and the head's initialisation.
    """
    check_positive_int(num_filters, "num_filters")
    features = FrozenFeatures(seed=seed, name="frozen_features")
    width = 4 * num_filters

    def conv(filters, kernel, layer_name, dtype=None):
        return keras.layers.Conv2D(
            filters,
            kernel,
            padding="same",
            kernel_initializer=gan_kernel_initializer(),
            dtype=dtype,
            name=layer_name,
        )

    model = keras.Sequential(
        [
            keras.Input((None, None, 3), name="image"),
            *_prefix_layers(augment),
            features,
            conv(width, 3, "head_1_conv"),
            keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name="head_1_relu"),
            conv(width, 3, "head_2_conv"),
            keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name="head_2_relu"),
            conv(1, 1, "logits", dtype="float32"),
        ],
        name=name,
    )
    if backbone is not None:
        features.set_backbone(backbone)
    return model
