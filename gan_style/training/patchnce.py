"""PatchNCE, the contrastive loss of CUT (Park et al. 2020, "Contrastive Learning for Unpaired
Image-to-Image Translation"), as a pure function and as the Keras layer the CUT trainer uses.

For one encoder layer l, features of the input photo x and of its translation G(x) are sampled
at the same P spatial positions s. A small MLP head H_l (two dense layers with a ReLU between,
256 wide, section 3.2 of the paper) maps each sampled feature to a 256-vector, which is
L2-normalised. Then, for each position s, the translated patch's vector v̂ = H_l(E_l(G(x)))_s
(the *query*) should pick out the input patch at the same place, v⁺ = H_l(E_l(x))_s (the
*positive*), among the input's patches at the other P - 1 places (the *negatives* v⁻), which is
a (P)-way classification with temperature τ (eq. 2):

    ℓ(v̂, v⁺, v⁻) = -log[ exp(v̂·v⁺/τ) / (exp(v̂·v⁺/τ) + Σ_n exp(v̂·v⁻_n/τ)) ]

    L_PatchNCE(G, H, X) = E_x Σ_l Σ_s ℓ(ẑ_l^s, z_l^s, z_l^{S∖s})                     (eq. 5)

As in the authors' code (`taesungp/contrastive-unpaired-translation`, `PatchNCELoss` and
`PatchSampleF`): negatives come from the same image only; the key features are detached (only
the query side sends gradients into G); the comparison of a query with its own position in the
negatives block is masked (set to -10 before the division by τ); the loss is averaged over
patches and then over layers rather than summed; and one random set of positions per layer is
shared by the query and key features and by all images of the batch.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

NCE_TEMPERATURE = 0.07
"""τ of eq. 2 (the paper's and the authors' default)."""

NUM_PATCHES = 256
"""Positions sampled per layer and image (the authors' ``--num_patches``)."""

HEAD_UNITS = 256
"""Width of the MLP heads (the authors' ``--netF_nc``)."""

_MASKED_LOGIT = -10.0
"""The authors' value for a query's comparison with itself in the negatives block."""


def patch_nce_loss(query, key, temperature: float = NCE_TEMPERATURE) -> Any:
    """PatchNCE of one layer: per-patch cross-entropy of picking the positive among P patches.

    Args:
        query: ``(batch, patches, dim)`` L2-normalised vectors of the translated image.
        key: ``(batch, patches, dim)`` L2-normalised vectors of the input image at the same
            positions (treated as constants: the gradient is stopped).
        temperature: τ.

    Returns:
        ``(batch,)`` float32: each image's loss averaged over its patches.
    """
    query = ops.cast(query, "float32")
    key = ops.stop_gradient(ops.cast(key, "float32"))
    positive = ops.sum(query * key, axis=-1, keepdims=True)  # (B, P, 1)
    negatives = ops.matmul(query, ops.transpose(key, (0, 2, 1)))  # (B, P, P)
    patches = ops.shape(negatives)[-1]
    diagonal = ops.eye(patches, dtype="bool")[None]
    negatives = ops.where(diagonal, _MASKED_LOGIT, negatives)
    logits = ops.concatenate([positive, negatives], axis=-1) / temperature
    # Cross-entropy with the positive (class 0) as the target.
    losses = ops.logsumexp(logits, axis=-1) - logits[..., 0]
    return ops.mean(losses, axis=-1)


@keras.saving.register_keras_serializable(package="gan_style")
class PatchNCE(keras.layers.Layer):
    """Samples patches of encoder features, projects them with MLP heads, returns PatchNCE.

    Called on two lists of feature maps of equal length (one map per tapped encoder layer):
    ``layer([query_maps, key_maps])`` returns the per-image loss ``(batch, 1)``, averaged over
    layers. The heads are the layer's weights (trained with the generator); the sampled
    positions come from the layer's own seed generator, so a restored run draws the same ones.

    Args:
        num_patches: Positions sampled per layer (fewer when a map has fewer positions).
        units: Width of the heads.
        temperature: τ.
        seed: Seed of the position sampling.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(
        self,
        num_patches: int = NUM_PATCHES,
        units: int = HEAD_UNITS,
        temperature: float = NCE_TEMPERATURE,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_patches = int(num_patches)
        self.units = int(units)
        self.temperature = float(temperature)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.heads: list[tuple[keras.layers.Dense, keras.layers.Dense]] = []

    def build(self, input_shape):
        query_shapes, _ = input_shape
        policy = self.dtype_policy
        for index, shape in enumerate(query_shapes):
            hidden = keras.layers.Dense(
                self.units, activation="relu", name=f"head_{index}_hidden", dtype=policy
            )
            output = keras.layers.Dense(self.units, name=f"head_{index}_output", dtype=policy)
            hidden.build((None, shape[-1]))
            output.build((None, self.units))
            self.heads.append((hidden, output))

    def _sample(self, feature_map, positions):
        batch = ops.shape(feature_map)[0]
        channels = ops.shape(feature_map)[-1]
        flat = ops.reshape(feature_map, (batch, -1, channels))
        return ops.take(flat, positions, axis=1)

    def project(self, index: int, sampled):
        """Head ``index`` on sampled features ``(batch, patches, channels)``, L2-normalised."""
        hidden, output = self.heads[index]
        vectors = ops.cast(output(hidden(sampled)), "float32")
        return vectors / (ops.sqrt(ops.sum(ops.square(vectors), axis=-1, keepdims=True)) + 1e-7)

    def call(self, inputs):
        query_maps, key_maps = inputs
        losses = []
        for index, (query_map, key_map) in enumerate(zip(query_maps, key_maps, strict=True)):
            height, width = query_map.shape[1], query_map.shape[2]
            count = height * width
            positions = keras.random.shuffle(
                ops.arange(count, dtype="int32"), seed=self.seed_generator
            )[: min(self.num_patches, count)]
            query = self.project(index, self._sample(query_map, positions))
            key = self.project(index, self._sample(key_map, positions))
            losses.append(patch_nce_loss(query, key, self.temperature))
        return ops.expand_dims(ops.mean(ops.stack(losses, axis=0), axis=0), -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0][0], 1)

    def get_config(self):
        return {
            **super().get_config(),
            "num_patches": self.num_patches,
            "units": self.units,
            "temperature": self.temperature,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="gan_style")
def mean_prediction_loss(y_true, y_pred):
    """Keras loss that is the prediction itself (``y_true`` is ignored).

    The combined model computes PatchNCE inside, as an output; `train_on_batch` minimises it
    through this loss with the NCE weight as its ``loss_weights`` entry.
    """
    del y_true
    return ops.mean(ops.cast(y_pred, "float32"), axis=-1)
