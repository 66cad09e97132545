"""Generators: the ResNet image-to-image translator (CycleGAN) and the DCGAN noise-to-image one.

ResNet generator (Johnson et al. 2016, "Perceptual Losses for Real-Time Style Transfer"; the
CycleGAN generator of Zhu et al. 2017, appendix 7.2), with up-sampling by resize + convolution
instead of transposed convolution (Odena et al. 2016, "Deconvolution and Checkerboard
Artifacts", whose best results were with nearest-neighbour resizing). Nearest rather than
bilinear also because Keras 3.15's bilinear `UpSampling2D` fails when traced with an unknown
height or width (keras-team/keras#22079 made `ops.image.resize` test its size with a Python
`if`), and Keras traces with unknown sizes as soon as a model sees a second image size. Its
layers, in order, with the resolution each one works at (the `*_blur` layers only with
`antialias=True`):

    ==========================  ==========  ====================================================
    layer names                 resolution  role
    ==========================  ==========  ====================================================
    encoder_stem_*              1           reflect-pad 3, 7×7 conv, instance norm, ReLU
    encoder_down_1_*            1 → 1/2     [blur], reflect-pad 1, 3×3 conv stride 2, norm, ReLU
    encoder_down_2_*            1/2 → 1/4   [blur], reflect-pad 1, 3×3 conv stride 2, norm, ReLU
    trunk_block_1 … _N          1/4         `ResidualBlock` × num_blocks
    decoder_up_1_*              1/4 → 1/2   nearest ×2, [blur], reflect-pad 1, 3×3 conv, norm,
                                            ReLU
    decoder_up_2_*              1/2 → 1     nearest ×2, [blur], reflect-pad 1, 3×3 conv, norm,
                                            ReLU
    decoder_head_*              1           reflect-pad 3, 7×7 conv, tanh (float32)
    ==========================  ==========  ====================================================

Anti-aliasing (`antialias=True`; Zhang 2019, "Making Convolutional Networks Shift-Invariant
Again", on by default in CUT's generator). A stride-2 convolution samples every other pixel, so
whatever its input holds at periods 2-4 folds into coarser patterns, and nearest ×2 repeats every
pixel twice, which puts a period-2 staircase into the decoder: together they leave a fixed grid
of period 4 in translated images. The fixed binomial blur `Blur2D` ([1, 2, 1]² / 16, no weights)
goes right before each down-sampling's padding (blur, then the stride-2 convolution: as in
StyleGAN2, the convolution keeps its cost, unlike CUT's stride-1 convolution followed by a
blurred subsampling) and right after each nearest ×2 resize (nearest ×2 then the blur is
zero-stuffing and the [1, 3, 3, 1]² filter, CUT's blurred `Upsample`, i.e. bilinear ×2 with
half-pixel centres). The blurs add layers but no weights and leave every other layer's name
and weights as they are, so `antialias=False` builds exactly the model of earlier bundles.

Tiled full-resolution inference. The model is a `Sequential`, so it splits at layer indices:
`start, stop = resnet_trunk_range(generator)` gives `generator.layers[:start]` (the encoder),
`generator.layers[start:stop]` (the residual trunk) and `generator.layers[stop:]` (the decoder).
The trunk works at 1/4 resolution, where even a 12 MP photo's activations fit in memory, so it
can run on the whole image at once and its instance norms see whole-image statistics. Only the
encoder and decoder layers need tiling. Every layer there is local (pads and convolutions see a
few pixels around each output) except the `*_norm` layers, whose mean and variance must be the
whole image's: run the layers up to a norm tile by tile, accumulate per-channel sums and sums of
squares over the tiles' interiors, then normalise every tile with those statistics
(`(x - mean) / sqrt(var + layer.epsilon) * layer.gamma + layer.beta`). Tiles must overlap by at
least the receptive field of the local layers between two norms and start at multiples of 4 so
the stride-2 grids line up. The layer names above are part of the contract with that code: keep
them when changing the architecture.

DCGAN generator (Radford et al. 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks"): noise → Dense → 4×4 feature map → transposed
convolutions with batch norm and ReLU, doubling the size each step → tanh.

Both end in a float32 tanh, so under a mixed precision policy they still return float32 images
in [-1, 1].
"""

import math

import keras

from gan_style.models import check_positive_int, check_power_of_two_size
from gan_style.models.layers import (
    Blur2D,
    ReflectionPadding2D,
    ResidualBlock,
    gan_kernel_initializer,
    instance_normalization,
)

TRUNK_PREFIX = "trunk_"
"""Name prefix of the ResNet generator's residual blocks, which run at 1/4 resolution."""

BATCH_NORM_MOMENTUM = 0.9
"""Momentum of the DCGAN models' batch-norm moving averages: PyTorch's 0.1 update rate, as in
the DCGAN reference code, rather than Keras' 0.99, so that the statistics `generate` uses at
inference follow the generator as it trains instead of lagging thousands of steps behind."""


def _conv_norm_relu(
    prefix: str, num_filters: int, kernel_size: int, strides: int = 1, blur: bool = False
) -> list[keras.layers.Layer]:
    """[Blur →] reflect-pad → conv (no bias) → instance norm → ReLU, named `<prefix>_pad` etc."""
    return [
        *([Blur2D(name=f"{prefix}_blur")] if blur else []),
        ReflectionPadding2D(kernel_size // 2, name=f"{prefix}_pad"),
        keras.layers.Conv2D(
            num_filters,
            kernel_size,
            strides=strides,
            use_bias=False,
            kernel_initializer=gan_kernel_initializer(),
            name=f"{prefix}_conv",
        ),
        instance_normalization(name=f"{prefix}_norm"),
        keras.layers.ReLU(name=f"{prefix}_relu"),
    ]


def build_resnet_generator(
    image_size: int | None = None,
    num_filters: int = 64,
    num_blocks: int = 9,
    name: str = "resnet_generator",
    antialias: bool = False,
) -> keras.Sequential:
    """Builds the CycleGAN ResNet generator, fully convolutional, for NHWC images in [-1, 1].

    The model accepts any height and width that are multiples of 4 (other sizes come back with a
    different size: pad by reflection to a multiple of 4 and crop the output). See the module
    docstring for the layer layout and how to split it for tiled inference.

    Args:
        image_size: Training crop size, only checked here (a multiple of 4, at least 8); the
            model's input stays `(None, None, 3)` so the same model transfers full-resolution
            images. None skips the check.
        num_filters: Filters of the first convolution; the encoder doubles them twice, so the
            trunk has `4 * num_filters` channels (64 → 256, as in CycleGAN).
        num_blocks: Residual blocks in the trunk: 9 for 256-pixel training crops in CycleGAN,
            6 for 128-pixel ones.
        name: Model name (e.g. "generator_photo_to_style").
        antialias: Blur (`Blur2D`) before each stride-2 convolution and after each nearest ×2
            resize, against the period-4 grid artifact (see the module docstring). False builds
            the plain CycleGAN generator, layer for layer the model of earlier bundles.

    Returns:
        A `keras.Sequential` mapping (batch, H, W, 3) to (batch, H, W, 3) float32 images in
        [-1, 1].

    Raises:
        ValueError: If an argument is out of range.
    """
    if image_size is not None and (
        not isinstance(image_size, int) or image_size < 8 or image_size % 4
    ):
        raise ValueError(
            "image_size must be a multiple of 4 of at least 8 (the generator halves the size "
            f"twice), or None; received {image_size!r}."
        )
    check_positive_int(num_filters, "num_filters")
    check_positive_int(num_blocks, "num_blocks")
    if not isinstance(antialias, bool):
        raise ValueError(f"antialias must be True or False; received {antialias!r}.")
    trunk_filters = 4 * num_filters
    layers = [
        keras.Input((None, None, 3), name="image"),
        *_conv_norm_relu("encoder_stem", num_filters, 7),
        *_conv_norm_relu("encoder_down_1", 2 * num_filters, 3, strides=2, blur=antialias),
        *_conv_norm_relu("encoder_down_2", trunk_filters, 3, strides=2, blur=antialias),
    ]
    layers += [
        ResidualBlock(trunk_filters, name=f"{TRUNK_PREFIX}block_{index}")
        for index in range(1, num_blocks + 1)
    ]
    for index, filters in ((1, 2 * num_filters), (2, num_filters)):
        prefix = f"decoder_up_{index}"
        layers += [
            keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{prefix}_resize"),
            *_conv_norm_relu(prefix, filters, 3, blur=antialias),
        ]
    layers += [
        ReflectionPadding2D(3, name="decoder_head_pad"),
        keras.layers.Conv2D(
            3, 7, kernel_initializer=gan_kernel_initializer(), name="decoder_head_conv"
        ),
        # float32 so that mixed precision still returns float32 images (Pillow needs them).
        keras.layers.Activation("tanh", dtype="float32", name="decoder_head_tanh"),
    ]
    return keras.Sequential(layers, name=name)


def resnet_trunk_range(generator: keras.Sequential) -> tuple[int, int]:
    """Returns `(start, stop)` such that `generator.layers[start:stop]` is the residual trunk.

    `generator.layers[:start]` is the encoder (full resolution down to 1/4) and
    `generator.layers[stop:]` the decoder (1/4 back up to full resolution).

    Args:
        generator: A model made by `build_resnet_generator` (or loaded from one).

    Raises:
        ValueError: If the model has no contiguous run of layers named `trunk_*`.
    """
    indices = [
        index for index, layer in enumerate(generator.layers) if layer.name.startswith(TRUNK_PREFIX)
    ]
    if not indices or indices != list(range(indices[0], indices[-1] + 1)):
        raise ValueError(
            f"Expected a ResNet generator with a contiguous run of {TRUNK_PREFIX}* layers; "
            f"model {generator.name!r} has layers {[layer.name for layer in generator.layers]}."
        )
    return indices[0], indices[-1] + 1


def build_dcgan_generator(
    latent_dim: int = 128,
    image_size: int = 64,
    num_filters: int = 64,
    name: str = "dcgan_generator",
) -> keras.Sequential:
    """Builds a DCGAN generator: a latent vector → an image in [-1, 1].

    Dense → reshape to 4×4 → [transposed conv 4×4 stride 2, batch norm, ReLU] repeated, halving
    the channels each time down to `num_filters` → transposed conv to 3 channels → tanh.

    Args:
        latent_dim: Length of the noise vector.
        image_size: Side of the square output; a power of two, at least 8.
        num_filters: Channels of the last hidden layer; the 4×4 map has
            `num_filters * image_size / 8` (512 for 64 pixels and 64 filters, as in DCGAN).
        name: Model name.

    Returns:
        A `keras.Sequential` mapping (batch, latent_dim) to (batch, image_size, image_size, 3)
        float32 images.

    Raises:
        ValueError: If an argument is out of range.
    """
    check_positive_int(latent_dim, "latent_dim")
    check_positive_int(num_filters, "num_filters")
    check_power_of_two_size(image_size)
    num_upsamplings = int(math.log2(image_size)) - 2
    base_filters = num_filters * 2 ** (num_upsamplings - 1)
    layers = [
        keras.Input((latent_dim,), name="latent"),
        keras.layers.Dense(
            4 * 4 * base_filters,
            use_bias=False,
            kernel_initializer=gan_kernel_initializer(),
            name="project",
        ),
        keras.layers.Reshape((4, 4, base_filters), name="project_reshape"),
        keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name="project_norm"),
        keras.layers.ReLU(name="project_relu"),
    ]
    for index in range(1, num_upsamplings):
        layers += [
            keras.layers.Conv2DTranspose(
                base_filters // 2**index,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=gan_kernel_initializer(),
                name=f"up_{index}_conv",
            ),
            keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"up_{index}_norm"),
            keras.layers.ReLU(name=f"up_{index}_relu"),
        ]
    layers += [
        keras.layers.Conv2DTranspose(
            3,
            4,
            strides=2,
            padding="same",
            kernel_initializer=gan_kernel_initializer(),
            name="head_conv",
        ),
        keras.layers.Activation("tanh", dtype="float32", name="head_tanh"),
    ]
    return keras.Sequential(layers, name=name)
