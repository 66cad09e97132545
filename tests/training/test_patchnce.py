"""PatchNCE against a hand-computed case, and the layer that samples and projects patches."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from gan_style.training.patchnce import PatchNCE, mean_prediction_loss, patch_nce_loss


def unit(rng, shape) -> np.ndarray:
    vectors = rng.normal(size=shape)
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype("float32")


def reference(query: np.ndarray, key: np.ndarray, temperature: float) -> np.ndarray:
    """Eq. 2 of Park et al. 2020 written out patch by patch, in float64."""
    batch, patches, _ = query.shape
    losses = np.zeros(batch)
    for image in range(batch):
        for position in range(patches):
            positive = query[image, position] @ key[image, position]
            negatives = [
                query[image, position] @ key[image, other]
                for other in range(patches)
                if other != position
            ]
            # The authors mask the query's own position in the negatives with -10.
            logits = np.array([positive, -10.0, *negatives], np.float64) / temperature
            losses[image] += -logits[0] + np.log(np.exp(logits).sum())
    return losses / patches


def test_patch_nce_matches_the_hand_computed_loss():
    rng = np.random.default_rng(0)
    query, key = unit(rng, (2, 5, 3)), unit(rng, (2, 5, 3))
    actual = np.asarray(patch_nce_loss(query, key, temperature=0.07))
    np.testing.assert_allclose(actual, reference(query, key, 0.07), rtol=1e-5)


def test_patch_nce_is_low_when_each_query_matches_its_own_key_only():
    eye = np.eye(4, dtype="float32")[None]  # orthogonal patches: positives 1, negatives 0
    aligned = float(np.asarray(patch_nce_loss(eye, eye, temperature=1.0))[0])
    shuffled = float(np.asarray(patch_nce_loss(eye, eye[:, ::-1], temperature=1.0))[0])
    # Positive e^1; three negatives e^0 and the masked entry e^-10, per patch.
    expected = -1.0 + np.log(np.e + 3.0 + np.exp(-10.0))
    assert aligned == pytest.approx(expected, rel=1e-5)
    assert float(np.asarray(patch_nce_loss(eye, eye))[0]) < 1e-5  # τ = 0.07 sharpens it
    assert shuffled > aligned + 1


def test_patch_nce_sends_no_gradient_into_the_keys():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    query = tf.Variable(unit(rng, (1, 6, 4)))
    key = tf.Variable(unit(rng, (1, 6, 4)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(patch_nce_loss(query, key))
    query_gradient, key_gradient = tape.gradient(loss, [query, key])
    assert key_gradient is None
    assert float(tf.reduce_max(tf.abs(query_gradient))) > 0


def test_layer_samples_the_same_positions_for_query_and_key():
    layer = PatchNCE(num_patches=16, units=8, seed=3)
    rng = np.random.default_rng(2)
    maps = [rng.normal(size=(2, 8, 8, 5)).astype("float32"), rng.normal(size=(2, 4, 4, 7))]
    same = np.asarray(layer([maps, maps]))
    other = np.asarray(layer([maps, [maps[0][::-1], maps[1][::-1]]]))
    assert same.shape == (2, 1)
    # Identical features at identical positions: the positives are the largest logits.
    assert np.all(same < other)
    assert len(layer.trainable_weights) == 8  # two dense layers (kernel, bias) per map


def test_layer_takes_fewer_patches_than_a_small_map_has():
    layer = PatchNCE(num_patches=256, units=4, seed=0)
    maps = [np.random.default_rng(0).normal(size=(1, 3, 3, 2)).astype("float32")]
    assert np.isfinite(np.asarray(layer([maps, maps]))).all()


def test_layer_config_round_trip():
    layer = PatchNCE(num_patches=64, units=32, temperature=0.1, seed=5, name="nce")
    rebuilt = PatchNCE.from_config(layer.get_config())
    assert (rebuilt.num_patches, rebuilt.units, rebuilt.temperature, rebuilt.seed) == (
        64,
        32,
        0.1,
        5,
    )
    assert keras.saving.get_registered_object("gan_style>PatchNCE") is PatchNCE


def test_mean_prediction_loss_is_the_prediction():
    values = np.array([[0.5], [1.5]], np.float32)
    np.testing.assert_allclose(
        np.asarray(mean_prediction_loss(np.zeros_like(values), values)), [0.5, 1.5]
    )
