"""Tests of the FID Inception network: architecture, resizing, and features of real images.

The real-image test compares with ``data/inception_reference.npz``: features recorded once with
the original TorchScript network in torch (see ``data/README.md``).
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from gan_style.errors import DataError
from gan_style.metrics import inception

SHARED = Path(__file__).resolve().parents[3] / "shared"
SHARED_WEIGHTS = SHARED / "weights" / "fid_inception_v3_2015.npz"
REFERENCE = Path(__file__).parent / "data" / "inception_reference.npz"


@pytest.fixture(scope="module")
def network():
    return inception.build_inception_network()


def test_architecture_shapes(network):
    assert tuple(network.input.shape) == (None, 299, 299, 3)
    assert tuple(network.output.shape) == (None, 2048)
    expected_blocks = {
        "pool1": (35, 35, 192),
        "mixed_2": (35, 35, 288),
        "mixed_3": (17, 17, 768),
        "mixed_7": (17, 17, 768),
        "mixed_8": (8, 8, 1280),
        "mixed_10": (8, 8, 2048),
    }
    for name, shape in expected_blocks.items():
        assert tuple(network.get_layer(name).output.shape[1:]) == shape, name
    conv_layers = [layer for layer in network.layers if layer.name.endswith(".conv2d")]
    assert len(conv_layers) == 94
    assert not any(layer.use_bias for layer in conv_layers)
    batch_norms = [layer for layer in network.layers if layer.name.endswith(".batch_norm")]
    assert all(not layer.scale and layer.epsilon == 1e-3 for layer in batch_norms)


def test_pooling_branches(network):
    # Average pooling everywhere except mixed_10, and the average ignores the padding: on a
    # constant input the border stays constant (counting padded zeros would shrink it to 4/9).
    from keras import layers

    pools = {layer.name: layer for layer in network.layers if "pool" in layer.name}
    assert isinstance(pools["mixed_10.tower_2_pool"], layers.MaxPooling2D)
    assert isinstance(pools["mixed_9.tower_2_pool"], layers.AveragePooling2D)
    average_pools = [p for p in pools.values() if isinstance(p, layers.AveragePooling2D)]
    assert len(average_pools) == 8  # mixed, mixed_1, mixed_2, mixed_4 … mixed_7, mixed_9
    constant = np.full((1, 5, 5, 2), 3.0, np.float32)
    for pool in average_pools:
        np.testing.assert_array_equal(np.asarray(pool(constant)), constant)


def test_multiply_adds_are_inception_v3s(network):
    # 5.71 G multiply-adds at 299×299 (the "GFLOPS" torchvision lists for inception_v3).
    assert 5.70e9 < inception.count_multiply_adds(network) < 5.72e9


def test_layers_stay_float32_under_mixed_precision():
    import keras

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = inception.build_inception_network()
    finally:
        keras.config.set_dtype_policy(policy)
    assert model.input.dtype == model.output.dtype == "float32"
    computing = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.compute_dtype for layer in computing} == {"float32"}


def test_wrong_weight_shape_is_a_data_error(network):
    weights = {}
    for layer in network.layers:
        if layer.name.endswith(".conv2d"):
            unit = "net.layers." + layer.name[: -len(".conv2d")]
            kernel = np.zeros(layer.kernel.shape, np.float32).transpose(3, 2, 0, 1)
            weights[unit + ".weight"] = kernel
            for name in ("beta", "mean", "var"):
                weights[f"{unit}.{name}"] = np.ones(layer.filters, np.float32)
    weights["net.layers.mixed_4.tower.conv_1.weight"] = np.zeros((128, 128, 7, 1), np.float32)
    with pytest.raises(DataError, match=r"mixed_4\.tower\.conv_1\.weight has shape"):
        inception.set_inception_weights(network, weights)
    del weights["net.layers.mixed_4.tower.conv_1.weight"]
    with pytest.raises(DataError, match="lack"):
        inception.set_inception_weights(network, weights)


# --------------------------------------------------------------------------------------------
# Resizing.


def _reference_bilinear(image, size):
    """PyTorch's bilinear, align_corners=False: source = (target + ½)·scale − ½, clamped at 0."""

    def axis(length):
        source = np.maximum((np.arange(size) + 0.5) * length / size - 0.5, 0.0)
        lower = np.floor(source).astype(int)
        upper = np.minimum(lower + 1, length - 1)
        return lower, upper, source - lower

    top, bottom, vertical = axis(image.shape[0])
    left, right, horizontal = axis(image.shape[1])
    horizontal = horizontal[None, :, None]
    upper_row = image[top][:, left] * (1 - horizontal) + image[top][:, right] * horizontal
    lower_row = image[bottom][:, left] * (1 - horizontal) + image[bottom][:, right] * horizontal
    return upper_row * (1 - vertical[:, None, None]) + lower_row * vertical[:, None, None]


@pytest.mark.parametrize("shape", [(256, 256, 3), (576, 1024, 3), (120, 333, 3)])
def test_bilinear_resize_matches_pytorch_semantics(shape):
    image = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    expected = _reference_bilinear(image.astype(np.float64), 299)
    # TensorFlow (like PyTorch) computes coordinates and weights in float32: up to ~0.01 of
    # 255 from the float64 reference. Any other sampling (corner-aligned, antialiased) is off
    # by whole levels.
    np.testing.assert_allclose(inception.resize_array(image, "bilinear"), expected, atol=0.02)


@pytest.mark.parametrize("resize", list(inception.RESIZE_METHODS))
def test_every_method_keeps_an_input_sized_image(resize):
    image = np.random.default_rng(1).uniform(0, 255, (299, 299, 3)).astype(np.float32)
    np.testing.assert_array_equal(inception.resize_array(image, resize), image)
    resized = inception.resize_array(np.full((64, 80, 3), 7.0, np.float32), resize)
    assert resized.shape == (299, 299, 3)
    np.testing.assert_allclose(resized, 7.0, atol=1e-3)


def test_unknown_resize_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match="expected one of bilinear, bicubic"):
        inception.check_resize_method("lanczos")


# --------------------------------------------------------------------------------------------
# Real weights and images.


def test_features_match_the_torchscript_reference():
    if not SHARED_WEIGHTS.is_file():
        pytest.skip(f"{SHARED_WEIGHTS} is absent (../shared/weights beside the repository)")
    from gan_style.evaluate import compute_features, load_rgb8

    reference = np.load(REFERENCE)
    names, modes = list(reference["names"]), list(reference["modes"])
    missing = [name for name in names if not (SHARED / "data" / name).is_file()]
    if missing:
        pytest.skip(f"reference images absent from {SHARED / 'data'}: {missing}")
    crops = []
    for name, mode, digest in zip(names, modes, reference["pixel_sha256"], strict=True):
        pixels = load_rgb8(SHARED / "data" / name)
        assert hashlib.sha256(pixels.tobytes()).hexdigest() == digest, (
            f"{name} decodes to other pixels than those the reference was recorded on"
        )
        if mode == "crop":
            top, left = (pixels.shape[0] - 299) // 2, (pixels.shape[1] - 299) // 2
            crops.append(pixels[top : top + 299, left : left + 299].astype(np.float32))

    model = inception.load_inception_network(SHARED_WEIGHTS)
    crop_features = inception.feature_function(model)(np.stack(crops))
    expected = reference["features"]
    is_crop = np.array(modes) == "crop"
    # On 299×299 inputs the network alone must match to 1e-4 per feature.
    np.testing.assert_allclose(crop_features, expected[is_crop], rtol=0, atol=1e-4)
    # Through the whole pipeline (Pillow → tf.data → bilinear resize → network) as well.
    resized_paths = [
        SHARED / "data" / name for name, mode in zip(names, modes, strict=True) if mode != "crop"
    ]
    features, loaded = compute_features(
        resized_paths, weights=SHARED_WEIGHTS, resize="bilinear", progress=False
    )
    assert loaded.all()
    np.testing.assert_allclose(features, expected[~is_crop], rtol=0, atol=1e-4)
