"""The reference-guided model: a style encoder and a generator conditioned on its style code.

G(x_content, x_style) in the manner of StarGAN v2 (Choi et al. 2020, section 2: a style
encoder E gives a code s = E(x_style); the generator takes the photo and s, which enters
through adaptive instance normalisation, AdaIN, in the second half of the trunk and in the
decoder). Both networks stay Keras ``Sequential``:

- The style encoder (`build_style_encoder`) is a small convolutional net → global average
  pooling → a code of ``code_dim`` numbers (float32 throughout: it is small, and a code is
  read back exactly).
- The generator (`build_reference_generator`) is the anti-aliased ResNet generator of
  `gan_style.models.generators`, layer for layer and name for name, whose input is the photo
  with the code broadcast over it as ``code_dim`` extra channels (`AppendStyleCode`). A
  broadcast code cannot simply be convolved: a constant channel convolves into a constant per
  output channel, which the next instance norm subtracts, so the code would vanish. Instead the
  code rides along as the last channels of every activation: the plain layers are wrapped in
  `CarryStyleCode` (the layer runs on the features, the code is passed on), the conditioned
  norms are `AdaptiveInstanceNorm` (normalise, then scale by 1 + γ(s) and shift by β(s),
  γ and β a dense layer of the code) and the conditioned residual blocks
  `AdaptiveResidualBlock`; `AdaptiveColour` scales and shifts the three channels of the
  head's output by the code (the palette and contrast of the result, one step from the code:
  a direct path for what most separates the moods of one painter); `DropStyleCode` strips the
  code before the output's tanh.

Once a code is chosen, every AdaIN is an ordinary instance norm whose scale and offset are
γ(s) and β(s), and `AdaptiveColour` a per-channel affine map of a convolution's output, which
folds into that convolution's kernel and bias. `bake_style_code` writes exactly that: the plain
ResNet generator of the same architecture with the code folded into its norms and its head.
Transfer runs that plain generator, so the exact tiled inference of `gan_style.tiling` applies
unchanged, with no extra cost per pixel.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from gan_style.models import check_positive_int
from gan_style.models.generators import TRUNK_PREFIX, build_resnet_generator
from gan_style.models.layers import (
    INSTANCE_NORM_EPSILON,
    ReflectionPadding2D,
    gan_kernel_initializer,
)

#: The decoder norms that AdaIN replaces (the trunk's second half is conditioned too).
ADAPTIVE_DECODER_NORMS = ("decoder_up_1_norm", "decoder_up_2_norm")


def _split(inputs, code_dim: int):
    """(features, code map) of a tensor whose last ``code_dim`` channels are the code."""
    return inputs[..., :-code_dim], inputs[..., -code_dim:]


def _code_vector(code_map):
    """The code of each sample, (batch, code_dim): the map is constant, so any pixel is it."""
    return code_map[:, 0, 0, :]


def _with_code(features, code_map):
    """``features`` with the code broadcast to their height and width appended."""
    code = ops.cast(code_map[:, :1, :1, :], features.dtype)
    return ops.concatenate([features, ops.zeros_like(features[..., :1]) + code], axis=-1)


@keras.saving.register_keras_serializable(package="gan_style")
class AppendStyleCode(keras.layers.Layer):
    """[images (B, H, W, C), codes (B, k)] → (B, H, W, C + k): the code broadcast as channels."""

    def call(self, inputs):
        images, codes = inputs
        codes = ops.cast(codes, images.dtype)[:, None, None, :]
        return ops.concatenate([images, ops.zeros_like(images[..., :1]) + codes], axis=-1)

    def compute_output_shape(self, input_shape):
        image_shape, code_shape = input_shape
        return (*image_shape[:-1], image_shape[-1] + code_shape[-1])


@keras.saving.register_keras_serializable(package="gan_style")
class DropStyleCode(keras.layers.Layer):
    """Drops the last ``code_dim`` channels (the carried code).

    Args:
        code_dim: Length of the style code.
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def __init__(self, code_dim: int, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(code_dim, "code_dim")
        self.code_dim = code_dim

    def call(self, inputs):
        return inputs[..., : -self.code_dim]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] - self.code_dim)

    def get_config(self):
        return {**super().get_config(), "code_dim": self.code_dim}


@keras.saving.register_keras_serializable(package="gan_style")
class CarryStyleCode(keras.layers.Layer):
    """Runs ``layer`` on the features and passes the code channels on, resized to its output.

    Args:
        layer: A layer of the plain generator (padding, blur, convolution, norm, ReLU, resize,
            residual block).
        code_dim: Length of the style code (the input's last channels).
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def __init__(self, layer, code_dim: int, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(code_dim, "code_dim")
        self.layer = layer
        self.code_dim = code_dim

    def _feature_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] - self.code_dim)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(self._feature_shape(input_shape))

    def call(self, inputs):
        features, code_map = _split(inputs, self.code_dim)
        return _with_code(self.layer(features), code_map)

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._feature_shape(input_shape))
        return (*inner[:-1], inner[-1] + self.code_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "layer": keras.saving.serialize_keras_object(self.layer),
            "code_dim": self.code_dim,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = keras.saving.deserialize_keras_object(config.pop("layer"))
        return cls(layer, **config)


class _CodeAffine(keras.layers.Layer):
    """Base of the layers that scale and shift their features per channel by the carried code:
    ``[γ, β] = W s + b``, a dense layer of the code s (``affine``), built for the features'
    channels; subclasses say what is scaled.

    Args:
        code_dim: Length of the style code (the input's last channels).
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    #: Initialiser of the dense layer's kernel (Keras's Dense default).
    kernel_initializer = "glorot_uniform"

    def __init__(self, code_dim: int, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(code_dim, "code_dim")
        self.code_dim = code_dim
        self.affine = None

    def build(self, input_shape):
        self.channels = int(input_shape[-1]) - self.code_dim
        self.affine = keras.layers.Dense(
            2 * self.channels,
            kernel_initializer=self.kernel_initializer,
            name="affine",
            dtype="float32",
        )
        self.affine.build((None, self.code_dim))

    def scale_and_offset(self, codes):
        """(1 + γ(s), β(s)) for codes (batch, code_dim), each (batch, channels), float32."""
        parameters = self.affine(ops.cast(codes, "float32"))
        return 1.0 + parameters[:, : self.channels], parameters[:, self.channels :]

    def scale_and_shift(self, values, codes):
        """``values · (1 + γ(s)) + β(s)``, per sample and channel (float32 values)."""
        scale, offset = self.scale_and_offset(codes)
        return values * scale[:, None, None, :] + offset[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "code_dim": self.code_dim}


@keras.saving.register_keras_serializable(package="gan_style")
class AdaptiveInstanceNorm(_CodeAffine):
    """AdaIN (Huang & Belongie 2017; StarGAN v2 eq. in its appendix): the features of each
    sample normalised over height and width, then ``x̂ · (1 + γ(s)) + β(s)``, where
    ``[γ, β] = W s + b`` is a dense layer of the carried code s. The code is passed on.

    Args:
        code_dim: Length of the style code (the input's last channels).
        epsilon: Added to the variance, as in the plain generator's instance norms.
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def __init__(self, code_dim: int, epsilon: float = INSTANCE_NORM_EPSILON, **kwargs):
        super().__init__(code_dim, **kwargs)
        self.epsilon = float(epsilon)

    def modulate(self, features, codes):
        """AdaIN of ``features`` (without code channels) with ``codes`` (batch, code_dim)."""
        values = ops.cast(features, "float32")
        mean = ops.mean(values, axis=(1, 2), keepdims=True)
        variance = ops.var(values, axis=(1, 2), keepdims=True)
        normalised = (values - mean) * ops.rsqrt(variance + self.epsilon)
        return ops.cast(self.scale_and_shift(normalised, codes), features.dtype)

    def call(self, inputs):
        features, code_map = _split(inputs, self.code_dim)
        return _with_code(self.modulate(features, _code_vector(code_map)), code_map)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="gan_style")
class AdaptiveResidualBlock(keras.layers.Layer):
    """`ResidualBlock` with AdaIN norms: x + AdaIN₂(conv(relu(AdaIN₁(conv(x), s))), s).

    StarGAN v2's AdaINResBlk, in the CycleGAN block's form (reflection padding, no bias, no
    activation after the addition). The code is passed on.

    Args:
        num_filters: Channels of the features (the input has ``code_dim`` more).
        code_dim: Length of the style code.
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    def __init__(self, num_filters: int, code_dim: int, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(num_filters, "num_filters")
        check_positive_int(code_dim, "code_dim")
        self.num_filters = num_filters
        self.code_dim = code_dim
        policy = self.dtype_policy
        self.pad_1 = ReflectionPadding2D(1, name="pad_1", dtype=policy)
        self.conv_1 = self._conv("conv_1")
        self.norm_1 = AdaptiveInstanceNorm(code_dim, name="norm_1", dtype=policy)
        self.pad_2 = ReflectionPadding2D(1, name="pad_2", dtype=policy)
        self.conv_2 = self._conv("conv_2")
        self.norm_2 = AdaptiveInstanceNorm(code_dim, name="norm_2", dtype=policy)

    def _conv(self, name: str) -> keras.layers.Conv2D:
        return keras.layers.Conv2D(
            self.num_filters,
            3,
            use_bias=False,
            kernel_initializer=gan_kernel_initializer(),
            name=name,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        channels = input_shape[-1] - self.code_dim
        if channels != self.num_filters:
            raise ValueError(
                f"AdaptiveResidualBlock with num_filters={self.num_filters} and "
                f"code_dim={self.code_dim} needs {self.num_filters + self.code_dim} input "
                f"channels; received input shape {tuple(input_shape)}."
            )
        feature_shape = (*input_shape[:-1], channels)
        padded_shape = self.pad_1.compute_output_shape(feature_shape)
        self.conv_1.build(padded_shape)
        self.norm_1.build(input_shape)
        self.conv_2.build(padded_shape)
        self.norm_2.build(input_shape)

    def call(self, inputs):
        features, code_map = _split(inputs, self.code_dim)
        codes = _code_vector(code_map)
        hidden = ops.relu(self.norm_1.modulate(self.conv_1(self.pad_1(features)), codes))
        output = features + self.norm_2.modulate(self.conv_2(self.pad_2(hidden)), codes)
        return _with_code(output, code_map)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "num_filters": self.num_filters,
            "code_dim": self.code_dim,
        }


@keras.saving.register_keras_serializable(package="gan_style")
class AdaptiveColour(_CodeAffine):
    """The head's output channels c (before the tanh) as ``x_c · (1 + γ_c(s)) + β_c(s)``,
    ``[γ, β]`` a dense layer of the carried code s, initialised to zero (the layer starts as
    the identity). The code is passed on.

    Args:
        code_dim: Length of the style code (the input's last channels).
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).
    """

    kernel_initializer = "zeros"

    def call(self, inputs):
        features, code_map = _split(inputs, self.code_dim)
        values = self.scale_and_shift(ops.cast(features, "float32"), _code_vector(code_map))
        return _with_code(ops.cast(values, features.dtype), code_map)


#: Name of the reference generator's `AdaptiveColour` (absent from bundles made before it).
OUTPUT_COLOUR = "decoder_head_colour"


def conditioned_blocks(num_blocks: int) -> list[str]:
    """Names of the trunk blocks that take the code: those after the middle one (StarGAN v2
    conditions the second half of its bottleneck); the first half stays plain, so PatchNCE's
    taps (up to the middle block) see the same features whatever the code."""
    middle = (num_blocks + 1) // 2
    return [f"{TRUNK_PREFIX}block_{index}" for index in range(middle + 1, num_blocks + 1)]


#: Name of the reference generator's first layer: the plain encoder and the first half of the
#: trunk, which do not take the code, as one `CarryStyleCode` around a nested `Sequential`.
ENCODER_GROUP = "encoder_and_plain_trunk"


def build_reference_generator(
    num_filters: int = 64,
    num_blocks: int = 9,
    code_dim: int = 8,
    name: str = "generator_photo_to_style",
    antialias: bool = False,
) -> keras.Sequential:
    """The ResNet generator conditioned on a style code (see the module docstring).

    The plain generator's layers, in order and with their names, in runs: each run of plain
    layers between two conditioned ones is one `CarryStyleCode` around a nested `Sequential`
    (the first, `ENCODER_GROUP`, is the encoder and the first half of the trunk), so the code
    is split off and appended once per run, not once per layer (per layer, that copying made
    a training step 1.8× as long as the plain generator's on a CPU).

    Args:
        num_filters: As in `build_resnet_generator`.
        num_blocks: As in `build_resnet_generator` (at least 2, so that a block takes the code).
        code_dim: Length of the style code: the input has 3 + ``code_dim`` channels.
        name: Model name.
        antialias: As in `build_resnet_generator`.

    Returns:
        A `keras.Sequential` mapping (batch, H, W, 3 + code_dim) to (batch, H, W, 3) float32
        images in [-1, 1].
    """
    check_positive_int(code_dim, "code_dim")
    if not isinstance(num_blocks, int) or num_blocks < 2:
        raise ValueError(
            f"num_blocks must be at least 2 for the reference model (the second half of the "
            f"trunk takes the style code); received {num_blocks!r}."
        )
    plain = build_resnet_generator(None, num_filters, num_blocks, antialias=antialias)
    adaptive_blocks = set(conditioned_blocks(num_blocks))
    layers: list = [keras.Input((None, None, 3 + code_dim), name="image_and_code")]
    run: list = []
    channels = {"input": 3, "now": 3}

    def flush() -> None:
        if not run:
            return
        group_name = ENCODER_GROUP if len(layers) == 1 else f"carry_{run[0].name}"
        group = keras.Sequential(
            [keras.Input((None, None, channels["input"]), name=f"{group_name}_input"), *run],
            name=f"{group_name}_layers",
        )
        layers.append(CarryStyleCode(group, code_dim, name=group_name))
        run.clear()
        channels["input"] = channels["now"]

    for layer in plain.layers:
        if isinstance(layer, keras.layers.Conv2D):
            channels["now"] = layer.filters
        if layer.name in adaptive_blocks:
            flush()
            layers.append(AdaptiveResidualBlock(layer.num_filters, code_dim, name=layer.name))
        elif layer.name in ADAPTIVE_DECODER_NORMS:
            flush()
            layers.append(AdaptiveInstanceNorm(code_dim, epsilon=layer.epsilon, name=layer.name))
        elif layer.name == "decoder_head_tanh":
            flush()
            layers += [
                AdaptiveColour(code_dim, name=OUTPUT_COLOUR),
                DropStyleCode(code_dim, name="drop_style_code"),
                keras.layers.Activation("tanh", dtype="float32", name=layer.name),
            ]
        else:
            run.append(type(layer).from_config(layer.get_config()))
    return keras.Sequential(layers, name=name)


def generator_layers(generator: keras.Sequential) -> dict[str, keras.layers.Layer]:
    """Every layer of a reference generator by its plain-generator name (runs opened up)."""
    found: dict[str, keras.layers.Layer] = {}
    for layer in generator.layers:
        inner = layer.layer if isinstance(layer, CarryStyleCode) else None
        if isinstance(inner, keras.Sequential):
            found.update((sublayer.name, sublayer) for sublayer in inner.layers)
        elif inner is not None:
            found[layer.name] = inner
        else:
            found[layer.name] = layer
    return found


def reference_architecture(generator: keras.Sequential) -> dict:
    """``num_filters``, ``num_blocks``, ``code_dim`` and ``antialias`` of a reference generator.

    Raises:
        ValueError: The model is not one `build_reference_generator` made.
    """
    found = generator_layers(generator)
    if "encoder_stem_conv" not in found or "drop_style_code" not in found:
        raise ValueError(
            f"model {generator.name!r} is not a reference generator (layers {sorted(found)})"
        )
    return {
        "num_filters": int(found["encoder_stem_conv"].filters),
        "num_blocks": sum(name.startswith(TRUNK_PREFIX) for name in found),
        "code_dim": int(found["drop_style_code"].code_dim),
        "antialias": "encoder_down_1_blur" in found,
    }


def bake_style_code(generator: keras.Sequential, code) -> keras.Sequential:
    """The plain ResNet generator that ``generator`` is for one fixed style ``code``.

    Every AdaIN becomes an instance norm with scale 1 + γ(code) and offset β(code), the
    `AdaptiveColour` of the output is folded into the head's convolution; every other layer
    keeps its weights. The result is what `build_resnet_generator` makes, so
    `gan_style.tiling.TiledGenerator` runs it exactly, at any size.

    Args:
        generator: A model from `build_reference_generator` (or loaded from a bundle).
        code: (code_dim,) style code.

    Returns:
        A float32 `keras.Sequential` mapping (batch, H, W, 3) to (batch, H, W, 3).
    """
    architecture = reference_architecture(generator)
    found = generator_layers(generator)
    code = np.asarray(code, np.float32).reshape(1, -1)
    if code.shape[1] != architecture["code_dim"]:
        raise ValueError(
            f"the style code has {code.shape[1]} numbers; the generator takes "
            f"{architecture['code_dim']}."
        )
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("float32")
    try:
        plain = build_resnet_generator(
            None,
            architecture["num_filters"],
            architecture["num_blocks"],
            name=generator.name,
            antialias=architecture["antialias"],
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)

    def fold(norm, adaptive: AdaptiveInstanceNorm) -> None:
        scale, offset = adaptive.scale_and_offset(code)
        norm.gamma.assign(np.asarray(scale)[0])
        norm.beta.assign(np.asarray(offset)[0])

    for layer in plain.layers:
        source = found[layer.name]
        if isinstance(source, AdaptiveInstanceNorm):
            fold(layer, source)
        elif isinstance(source, AdaptiveResidualBlock):
            layer.conv_1.kernel.assign(source.conv_1.kernel)
            layer.conv_2.kernel.assign(source.conv_2.kernel)
            fold(layer.norm_1, source.norm_1)
            fold(layer.norm_2, source.norm_2)
        elif layer.weights:
            layer.set_weights(source.get_weights())
    if OUTPUT_COLOUR in found:
        # conv(x) · a + b is the convolution with kernel · a and bias · a + b.
        head = plain.get_layer("decoder_head_conv")
        scale, offset = (
            np.asarray(value)[0] for value in found[OUTPUT_COLOUR].scale_and_offset(code)
        )
        head.kernel.assign(np.asarray(head.kernel) * scale)
        head.bias.assign(np.asarray(head.bias) * scale + offset)
    return plain


def build_style_encoder(
    code_dim: int = 8, num_filters: int = 32, name: str = "style_encoder"
) -> keras.Sequential:
    """The style encoder E: an image of any size → its style code (float32).

    Four 4×4 stride-2 convolutions with leaky ReLU (no normalisation: the statistics a norm
    would remove are the style), global average pooling, a dense layer to ``code_dim``
    numbers: StarGAN v2's style encoder, slimmed for a CPU. Glorot initialisation (as
    PyTorch's default in StarGAN v2), not the GANs' N(0, 0.02): through four plain layers that
    would shrink the codes to thousandths, and the generator would start blind to them.
    Global pooling makes the code one vector for the whole image, so it conditions the
    generator the same way in every tile.

    Args:
        code_dim: Length of the code.
        num_filters: Filters of the first convolution (doubled twice, to 4 × num_filters).
        name: Model name.

    Returns:
        A `keras.Sequential` mapping (batch, H, W, 3) in [-1, 1] to (batch, code_dim).
    """
    check_positive_int(code_dim, "code_dim")
    check_positive_int(num_filters, "num_filters")
    layers: list = [keras.Input((None, None, 3), name="style_image")]
    for index, filters in enumerate((1, 2, 4, 4), start=1):
        layers += [
            keras.layers.Conv2D(
                num_filters * filters,
                4,
                strides=2,
                padding="same",
                name=f"encoder_{index}_conv",
                dtype="float32",
            ),
            keras.layers.LeakyReLU(0.2, name=f"encoder_{index}_relu", dtype="float32"),
        ]
    layers += [
        keras.layers.GlobalAveragePooling2D(name="pool", dtype="float32"),
        keras.layers.Dense(code_dim, name="code", dtype="float32"),
    ]
    return keras.Sequential(layers, name=name)


def crop_grid(height: int, width: int, crop: int, per_side: int = 3) -> list[tuple[int, int]]:
    """Top-left corners of up to ``per_side`` × ``per_side`` evenly spaced ``crop`` squares."""

    def starts(length: int) -> list[int]:
        if length <= crop:
            return [0]
        count = per_side
        return sorted({round(index * (length - crop) / (count - 1)) for index in range(count)})

    return [(top, left) for top in starts(height) for left in starts(width)]


def encode_style_image(encoder: keras.Model, pixels: np.ndarray, crop: int) -> np.ndarray:
    """The style code of one image at the scale the encoder trained at: the mean of its codes
    over a grid of ``crop``-pixel squares (what training showed it: random crops).

    Args:
        encoder: The style encoder.
        pixels: (height, width, 3) uint8 image, already at the training scale.
        crop: The training crop side.

    Returns:
        (code_dim,) float32.
    """
    height, width = pixels.shape[:2]
    values = pixels.astype(np.float32) / 127.5 - 1.0
    side = min(crop, height, width)
    crops = np.stack(
        [
            values[top : top + side, left : left + side]
            for top, left in crop_grid(height, width, side)
        ]
    )
    codes = np.asarray(encoder(crops, training=False), np.float32)
    return codes.mean(axis=0)


def encode_style_files(encoder: keras.Model, paths, crop: int, shorter_side: int) -> np.ndarray:
    """The style codes of image files, each as `encode_style_image` gives it once the image is
    brought to ``shorter_side`` (the scale the style images trained at, Lanczos as in
    preparation; enlarged when smaller, so the strokes the encoder sees have their trained size).

    Args:
        encoder: The style encoder.
        paths: Image files.
        crop: The training crop side.
        shorter_side: The shorter side the style's images were prepared at.

    Returns:
        (len(paths), code_dim) float32.

    Raises:
        DataError: A file is unreadable or not an image; the message names it.
    """
    from gan_style.data.image_io import read_source
    from gan_style.data.images import resize_shorter_side

    codes = []
    for path in paths:
        image = resize_shorter_side(read_source(path).image, shorter_side, upscale=True)
        codes.append(encode_style_image(encoder, np.asarray(image.convert("RGB")), crop))
    return np.stack(codes).astype(np.float32)
