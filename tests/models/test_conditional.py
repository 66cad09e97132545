"""The conditioned generator and the style encoder: the code matters, baking it is exact, and
both networks save and load (safe mode) unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from gan_style import store
from gan_style.models.conditional import (
    ENCODER_GROUP,
    OUTPUT_COLOUR,
    AdaptiveColour,
    AdaptiveInstanceNorm,
    AdaptiveResidualBlock,
    AppendStyleCode,
    bake_style_code,
    build_reference_generator,
    build_style_encoder,
    conditioned_blocks,
    crop_grid,
    encode_style_image,
    generator_layers,
)
from gan_style.models.generators import build_resnet_generator

CODE_DIM = 4


@pytest.fixture(scope="module")
def generator():
    model = build_reference_generator(4, 3, CODE_DIM, antialias=True)
    rng = np.random.default_rng(0)
    for weight in model.weights:  # far from trivial, so a wrong fold shows everywhere
        scale = 0.5 if weight.path.endswith("kernel") else 0.2
        weight.assign(rng.normal(0.0, scale, tuple(weight.shape)).astype("float32"))
    return model


def run(generator, images, code):
    return np.asarray(generator(AppendStyleCode()([images, np.asarray(code)[None]])))


def test_it_has_the_plain_generators_layers_with_the_code_in_the_second_half(generator):
    plain = build_resnet_generator(None, 4, 3, antialias=True)
    found = generator_layers(generator)
    assert [name for name in found if name not in ("drop_style_code", OUTPUT_COLOUR)] == [
        layer.name for layer in plain.layers
    ]
    # Runs of plain layers are carried as one layer each: the code is split off once per run.
    assert [layer.name for layer in generator.layers] == [
        ENCODER_GROUP,
        "trunk_block_3",
        "carry_decoder_up_1_resize",
        "decoder_up_1_norm",
        "carry_decoder_up_1_relu",
        "decoder_up_2_norm",
        "carry_decoder_up_2_relu",
        OUTPUT_COLOUR,
        "drop_style_code",
        "decoder_head_tanh",
    ]
    assert (
        conditioned_blocks(3) == ["trunk_block_3"] and conditioned_blocks(6)[0] == "trunk_block_4"
    )
    assert isinstance(generator.get_layer("trunk_block_3"), AdaptiveResidualBlock)
    assert isinstance(generator.get_layer("decoder_up_2_norm"), AdaptiveInstanceNorm)
    assert isinstance(generator.get_layer(OUTPUT_COLOUR), AdaptiveColour)
    with pytest.raises(ValueError, match="at least 2"):
        build_reference_generator(4, 1, CODE_DIM)


def test_different_codes_give_visibly_different_images(generator):
    images = np.random.default_rng(1).uniform(-1, 1, (1, 32, 40, 3)).astype("float32")
    first = run(generator, images, [1.0, -1.0, 0.5, 0.0])
    second = run(generator, images, [-1.0, 1.0, 0.0, 0.5])
    assert np.mean(np.abs(first - second)) > 0.05


def test_baking_a_code_gives_the_same_images_from_a_plain_generator(generator):
    images = np.random.default_rng(2).uniform(-1, 1, (2, 24, 36, 3)).astype("float32")
    code = np.array([0.3, -0.7, 1.2, 0.1], np.float32)
    plain = bake_style_code(generator, code)
    assert not any(isinstance(layer, AdaptiveInstanceNorm) for layer in plain.layers)
    np.testing.assert_allclose(np.asarray(plain(images)), run(generator, images, code), atol=1e-4)
    with pytest.raises(ValueError, match="takes 4"):
        bake_style_code(generator, np.zeros(5))


def test_generator_and_encoder_round_trip_through_a_bundle(generator, tmp_path):
    encoder = build_style_encoder(CODE_DIM, 8)
    store.save_generator(tmp_path, generator)
    store.save_style_encoder(tmp_path, encoder)
    loaded_generator = store.load_generator(tmp_path)
    loaded_encoder = store.load_style_encoder(tmp_path)
    images = np.random.default_rng(3).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    code = np.asarray(encoder(images))[0]
    np.testing.assert_array_equal(np.asarray(loaded_encoder(images))[0], code)
    np.testing.assert_array_equal(run(loaded_generator, images, code), run(generator, images, code))


def test_an_image_is_encoded_as_the_mean_over_a_grid_of_crops():
    assert crop_grid(32, 32, 32) == [(0, 0)]
    assert crop_grid(40, 64, 32) == [
        (0, 0),
        (0, 16),
        (0, 32),
        (4, 0),
        (4, 16),
        (4, 32),
        (8, 0),
        (8, 16),
        (8, 32),
    ]
    encoder = build_style_encoder(CODE_DIM, 8)
    pixels = np.random.default_rng(4).integers(0, 256, (40, 64, 3)).astype(np.uint8)
    values = pixels.astype(np.float32) / 127.5 - 1
    crops = np.stack(
        [values[top : top + 32, left : left + 32] for top, left in crop_grid(40, 64, 32)]
    )
    np.testing.assert_allclose(
        encode_style_image(encoder, pixels, 32), np.asarray(encoder(crops)).mean(0), atol=1e-6
    )
