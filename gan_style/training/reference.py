"""The reference-guided update: CUT's, with a generator that takes a style image's code.

G(x, s) paints photo x in the look of one style image r, s = E(r) (`gan_style.models.
conditional`: E a Sequential style encoder, G a Sequential generator with the code as carried
channels and AdaIN in the second half of its trunk and its decoder). Trained on one collection
with CUT's recipe (`gan_style.training.cut`: PatchNCE, anti-aliased networks, the PatchGAN and
the projected discriminator judging G's output against the collection), plus the two terms the
reference-guided literature uses to make the code matter (StarGAN v2, Choi et al. 2020, eqs. 2
and 3), plus a cheap colour-statistics match to the reference.

Paper ↔ code (StarGAN v2's names, as far as they carry over):

    ==================  =================================  ====================================
    paper               code                               what
    ==================  =================================  ====================================
    E                   style_encoder                      image → style code (k numbers)
    G(x, s)             generator_photo_to_style           photo + code → painting
    x, x̃_ref, x̃'_ref    real_photo, real_style, other_style  a photo and two references
    s̃, s̃'               code, other_code                   E(real_style), E(other_style)
    G(x, s̃)             fake_style                         what D judges
    L_adv               adversarial_style[_projected]      D vs the whole collection
    L_PatchNCE          nce, nce_identity                  CUT's (the identity: G(r, E(r)))
    L_sty (eq. 2)       style_reconstruction               E(G(x, s̃)) ≈ s̃: the code is kept
    L_ds (eq. 3)        diversity                          −‖G(x, s̃) − G(x, s̃')‖₁: it matters
    ─                   reference_statistics               mean and std per RGB channel of
                                                           G(x, s̃) ≈ those of x̃_ref
    ==================  =================================  ====================================

The generator's total (weights in `LOSS_WEIGHTS`):

    L_G = L_adv + λ_NCE (L_NCE(X) + L_NCE(Y)) / 2 + λ_sty L_sty + λ_ds L_ds + λ_stat L_stat

with ``L_sty = mean|E(G(x, s̃)) − s̃|``, ``L_ds = −(1 − t/T) mean|G(x, s̃) − G(x, s̃')|``
(bounded: G's output is a tanh, so it is at least −2; its weight falls linearly to zero over the
run's T steps, as StarGAN v2 decays λ_ds, so that the end of the run is judged by realism and
the reference alone) and ``L_stat = mean_c |μ_c(G(x, s̃)) − μ_c(x̃_ref)| +
|σ_c(G(x, s̃)) − σ_c(x̃_ref)|``. E is trained with G by every one of these terms (one optimizer,
as StarGAN v2 trains its encoder with the generator's objective); the diversity term keeps it
from collapsing to one code, the style reconstruction makes G write what E reads, and the
statistics term ties what it reads to the reference's palette and contrast, the strongest
difference between the moods of one painter.

The Keras recipe is CUT's: the discriminators are compiled alone (`DiscriminatorUpdate`), one
combined model ``(real_photo, real_style, other_style) → {adversarial_*, nce, nce_identity,
style_reconstruction, diversity, reference_statistics}`` is compiled with the scalar outputs'
own value as their loss, and the discriminators are frozen before every combined step. This
class is the only place that compiles these models or calls `train_on_batch` for them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from gan_style.config import TrainConfig
from gan_style.models.conditional import (
    ENCODER_GROUP,
    AppendStyleCode,
    build_reference_generator,
    build_style_encoder,
    encode_style_files,
)
from gan_style.training.cut import CUTStepLosses, CUTTrainer, nce_layer_names
from gan_style.training.patchnce import mean_prediction_loss
from gan_style.training.schedule import make_optimizer

#: k, the length of the style code: StarGAN v2 uses 64 for faces with many attributes; one
#: painter's moods differ in a few global traits (palette, contrast, softness, stroke), and a
#: short code trains faster on a CPU and averages well. 8 numbers.
CODE_DIM = 8
#: λ of the terms added to CUT's. StarGAN v2's λ_sty = λ_ds = 1. The colour statistics get 5:
#: at 1, a 2-minute Monet run left two outputs of one photo for two references 1.4 % apart
#: (mean pixel difference) and their nearest reference no better than chance; the moods of one
#: painter differ first in palette and contrast, which this term ties to the reference.
LOSS_WEIGHTS = {"style_reconstruction": 1.0, "diversity": 1.0, "reference_statistics": 5.0}
#: Filters of the style encoder's first convolution.
ENCODER_FILTERS = 32
#: Style images whose codes a partial bundle (an intermediate checkpoint) carries: enough for
#: a usable mean code, few enough that a checkpoint stays quick; the finished bundle has all.
PARTIAL_CODES = 16


@dataclasses.dataclass(frozen=True)
class ReferenceStepLosses(CUTStepLosses):
    """Losses of one reference-guided step (means over the batch)."""

    style_reconstruction: float = 0.0
    diversity: float = 0.0
    reference_statistics: float = 0.0


class ReferenceTrainer(CUTTrainer):
    """Builds E, G, the discriminators and the PatchNCE heads; one step per `train_step` call.

    Args:
        config: A resolved `TrainConfig` with ``model`` ``reference``.
        use_augment: Put DiffAugment in front of the discriminators.
        strategy: A `tf.distribute.Strategy` to build the models under (None: the default).
    """

    domains = ("photo", "style", "reference")
    models = ("reference",)
    code_dim = CODE_DIM

    def __init__(self, config: TrainConfig, *, use_augment: bool, strategy=None):
        self._last_style = None
        super().__init__(config, use_augment=use_augment, strategy=strategy)
        self._append = AppendStyleCode(name="append_style_code")
        self._translate_with = tf.function(self._translate_with_eager, reduce_retracing=True)

    # --- construction -------------------------------------------------------------------------

    def build_generator(self, name: str = "generator_photo_to_style") -> keras.Sequential:
        """A fresh conditioned generator of this run's architecture."""
        config = self.config
        return build_reference_generator(
            config.num_filters,
            config.num_blocks,
            self.code_dim,
            name=name,
            antialias=config.antialias,
        )

    def _build_combined(self) -> keras.Model:
        # Called by CUTTrainer.__init__ inside the strategy scope, after G and the discriminators.
        self.style_encoder = build_style_encoder(self.code_dim, ENCODER_FILTERS)
        size = self.config.image_size
        generator, encoder = self.generator_photo_to_style, self.style_encoder
        # G's first layer carries the code past its plain encoder (ENCODER_GROUP, a nested
        # Sequential that never sees the code): a view of it with PatchNCE's taps, then the
        # rest of G's layers, is G itself, sharing its weights, with the encoder features of the
        # same forward pass (as CUT's with_features).
        plain_encoder = generator.get_layer(ENCODER_GROUP).layer
        taps = [
            plain_encoder.get_layer(name).output
            for name in nce_layer_names(self.config.num_blocks)
            if name is not None
        ]
        with_layer_features = keras.Model(
            plain_encoder.inputs, [plain_encoder.outputs[0], *taps], name="encoder_with_taps"
        )
        layer_encoder = keras.Model(plain_encoder.inputs, taps, name="encoder_taps")
        rest = generator.layers[1:]
        append = AppendStyleCode(name="append_code")

        def decode(encoded, code):
            """The layers after the plain encoder, with ``code`` appended to its output."""
            tensor = append([encoded, code])
            for layer in rest:
                tensor = layer(tensor)
            return tensor

        def with_features(images, code):
            encoded, *maps = with_layer_features(images)
            return [decode(encoded, code), encoded, images, *maps]

        def features(images):
            return [images, *layer_encoder(images)]

        real_photo = keras.Input((size, size, 3), name="real_photo")
        real_style = keras.Input((size, size, 3), name="real_style")
        other_style = keras.Input((size, size, 3), name="other_style")
        code = encoder(real_style)
        other_code = encoder(other_style)
        fake_style, encoded_photo, *key_maps = with_features(real_photo, code)
        produced = {}
        weights = {}
        for key, discriminator in self.discriminators.items():
            produced[f"adversarial_{key}"] = discriminator(fake_style)
            weights[f"adversarial_{key}"] = 1.0
        produced["nce"] = self.nce([features(fake_style), key_maps])
        identity_style, _, *identity_keys = with_features(real_style, code)
        produced["nce_identity"] = self.nce([features(identity_style), identity_keys])
        weights.update(nce=0.5 * self.config.nce_weight, nce_identity=0.5 * self.config.nce_weight)

        # The plain encoder does not see the code: the second reference reuses its output.
        other_fake = decode(encoded_photo, other_code)
        produced["style_reconstruction"] = ops.mean(
            ops.abs(encoder(fake_style) - code), axis=-1, keepdims=True
        )
        self._diversity_decay = LinearDecay(name="diversity_decay")
        produced["diversity"] = self._diversity_decay(
            -ops.mean(
                ops.abs(ops.cast(fake_style, "float32") - ops.cast(other_fake, "float32")),
                axis=(1, 2, 3),
            )[:, None]
        )
        produced["reference_statistics"] = _statistics_distance(fake_style, real_style)
        weights.update(LOSS_WEIGHTS)
        outputs = {
            name: keras.layers.Identity(name=name, dtype="float32")(tensor)
            for name, tensor in produced.items()
        }
        combined = keras.Model(
            [real_photo, real_style, other_style], outputs, name="reference_combined"
        )
        losses = {
            name: self.adversarial.generator_keras_loss
            if name.startswith("adversarial")
            else mean_prediction_loss
            for name in outputs
        }
        combined.compile(optimizer=make_optimizer(self.config), loss=losses, loss_weights=weights)
        return combined

    # --- the update ---------------------------------------------------------------------------

    def _translate_with_eager(self, real_photo, real_style):
        code = self.style_encoder(real_style, training=False)
        return self.generator_photo_to_style(self._append([real_photo, code]), training=False)

    def train_step(self, real_photo, real_style, other_style) -> ReferenceStepLosses:
        """One update of G, E and the heads, then one of each discriminator.

        Args:
            real_photo: Batch of photos, (B, S, S, 3) in [-1, 1].
            real_style: Batch of style images, the references of this step and D's real images.
            other_style: Another batch of style images (the second references of L_ds).

        Returns:
            The step's losses.
        """
        batch = int(real_photo.shape[0])
        real = self.adversarial.real_target
        zeros = np.zeros((batch, 1), np.float32)
        targets = {name: zeros for name in self.combined.output_names}
        for key in self.discriminators:
            targets[f"adversarial_{key}"] = self._scores(key, batch, real)

        optimizer = self.combined.optimizer
        self._diversity_decay.set_progress(
            int(optimizer.iterations.numpy()), optimizer._learning_rate.total_steps
        )
        self._set_discriminators_trainable(False)
        logs = self.combined.train_on_batch(
            [real_photo, real_style, other_style], targets, return_dict=True
        )
        self._last_style = np.asarray(real_style[:1])

        fake_style = self.pool_style.query(np.asarray(self._translate_with(real_photo, real_style)))
        discriminator_losses = self._train_discriminators(real_style, fake_style)
        return ReferenceStepLosses(
            **self._step_losses(logs, discriminator_losses),
            style_reconstruction=float(logs["style_reconstruction_loss"]),
            diversity=float(logs["diversity_loss"]),
            reference_statistics=float(logs["reference_statistics_loss"]),
        )

    @staticmethod
    def progress_text(losses: dict[str, float]) -> str:
        """The losses in the progress bar."""
        return (
            CUTTrainer.progress_text(losses)
            + f" sty {losses['style_reconstruction']:.3f} ds {losses['diversity']:.3f}"
        )

    def sample_columns(self, samples) -> tuple[list[np.ndarray], list[str]]:
        """Columns of a sample grid: the photos, and them in the look of the last reference."""
        if self._last_style is None:
            size = self.config.image_size
            self._last_style = np.zeros((1, size, size, 3), np.float32)
        references = np.repeat(self._last_style, len(samples), axis=0)
        styled = np.asarray(self._translate_with(samples, references))
        return [samples, references, styled], ["photo", "reference", "styled"]

    def translate(self, photos, references) -> np.ndarray:
        """Photos → style as a numpy array, each in the look of its reference (same shape)."""
        return np.asarray(self._translate_with(photos, references))

    def generator_description(self) -> dict:
        """The ``generator`` section of ``style.json``: a conditioned generator."""
        return {
            "direction": "photo + style code → style",
            "input_multiple": 4,
            "value_range": [-1, 1],
            "code_dim": self.code_dim,
        }

    # --- the bundle's style encoder and codes -------------------------------------------------

    def save_bundle_extras(self, bundle: Path, style_dataset: Path, *, complete: bool) -> None:
        """Writes the style encoder and the codes of the collection's training images.

        Args:
            bundle: The style bundle.
            style_dataset: The prepared style dataset (its ``train`` split is encoded).
            complete: All the training images (the finished bundle), or the first
                `PARTIAL_CODES` (a checkpoint's partial bundle).
        """
        from gan_style import store
        from gan_style.data.folders import export_split, list_images

        folder = export_split(style_dataset, "train", bundle / store.RUN_FOLDER / "style_train")
        files = list_images(folder)
        if not complete:
            files = files[:PARTIAL_CODES]
        crop, shorter_side = self.config.image_size, _shorter_side(style_dataset)
        codes = encode_style_files(self.style_encoder, files, crop, shorter_side)
        store.save_style_encoder(bundle, self.style_encoder)
        store.write_style_codes(
            bundle,
            {
                "code_dim": self.code_dim,
                "crop": crop,
                "shorter_side": shorter_side,
                "images": [path.name for path in files],
                "codes": [[float(value) for value in code] for code in codes],
            },
        )

    # --- state --------------------------------------------------------------------------------

    def checkpointed_networks(self) -> dict[str, keras.Model]:
        """The style encoder, which trains with the generator."""
        return {"style_encoder": self.style_encoder}


class LinearDecay(keras.layers.Layer):
    """Its input times ``1 − t/T``, the share of the run still to go (`set_progress` sets it;
    a non-trainable variable, so the traced step reads it without a retrace)."""

    def build(self, input_shape):
        self.factor = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="factor", dtype="float32"
        )

    def set_progress(self, step: int, total_steps: int) -> None:
        """The factor for step ``step`` of ``total_steps``."""
        self.factor.assign(max(0.0, 1.0 - step / max(1, total_steps)))

    def call(self, inputs):
        return inputs * self.factor


def _statistics_distance(images, references):
    """mean over RGB of |μ_c(images) − μ_c(references)| + |σ_c(images) − σ_c(references)|,
    per sample, (batch, 1)."""
    images = ops.cast(images, "float32")
    references = ops.cast(references, "float32")
    axes = (1, 2)
    mean_gap = ops.abs(ops.mean(images, axis=axes) - ops.mean(references, axis=axes))
    std_gap = ops.abs(ops.std(images, axis=axes) - ops.std(references, axis=axes))
    return ops.mean(mean_gap + std_gap, axis=-1, keepdims=True)


def _shorter_side(style_dataset: Path) -> int:
    """The shorter side the style images were prepared at (the scale E trained at)."""
    from gan_style.data import prepare

    return int(prepare.read_manifest(style_dataset)["options"]["size"])
