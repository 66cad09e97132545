"""The CUT update (one-sided, contrastive), with Keras `Sequential` models and `train_on_batch`.

Paper (Park et al. 2020, "Contrastive Learning for Unpaired Image-to-Image Translation") ↔ code:

    ==================  =================================  ====================================
    paper               code                               what
    ==================  =================================  ====================================
    X, Y                photo, style                       the two domains
    G = G_dec ∘ G_enc   generator_photo_to_style           what a style bundle ships
    G_enc^l             encoder (taps: `NCE_LAYERS`)       a functional view of G's own layers
    H_l                 nce.heads[l]                       two-layer MLP per tapped layer
    D                   discriminator_style                real_style vs fake_style
    G(x)                fake_style
    L_PatchNCE(X)       nce                                eq. 5, weight λ_X
    L_PatchNCE(Y)       nce_identity                       on G(y) vs y, weight λ_Y (CUT only)
    ==================  =================================  ====================================

Variants (section 4 and the authors' `cut_model.py`): ``cut`` uses λ_X = λ_Y = 1, the two NCE
terms averaged, so the loss is L_GAN + (L_NCE(X) + L_NCE(Y)) / 2; ``fastcut`` drops the
identity term, uses λ_X = 10 and flip-equivariance: with probability 1/2 the photo is flipped
before G, and the features of G(flip(x)) are flipped back before they are compared with x's.

The generator is the same `Sequential` ResNet generator as CycleGAN's (anti-aliased by the
presets), so transfer, tiling and bundles work unchanged. The encoder features come from
functional views of that Sequential (`keras.Model` on its layers' outputs): they share its
weights, so the contrastive loss trains G's own encoder, as in the paper.

The Keras recipe is CycleGAN's (see `gan_style.training.cyclegan`): D is compiled alone (for
WGAN-GP inside its critic model, `gan_style.training.discriminator_update`); one
combined model ``(real_photo, real_style, flip) → {adversarial_style, nce[, nce_identity]}``
computes the NCE terms inside (`PatchNCE`) and is compiled with the NCE outputs' own value as
their loss; D is frozen before every combined step and unfrozen before its own. There is no
history pool (the authors' ``pool_size=0``). This class is the only place that compiles models,
flips ``trainable`` or calls `train_on_batch` for CUT.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from gan_style.config import TrainConfig
from gan_style.models.generators import TRUNK_PREFIX
from gan_style.training.augment import DiffAugment
from gan_style.training.discriminator_update import DiscriminatorUpdate
from gan_style.training.losses import get_adversarial_loss
from gan_style.training.patchnce import PatchNCE, mean_prediction_loss
from gan_style.training.pool import ImagePool
from gan_style.training.records import LossRecord
from gan_style.training.schedule import make_optimizer
from gan_style.training.translation import PhotoToStyleTrainer

#: Tapped layers of the generator's encoder, as in the authors' ``--nce_layers 0,4,8,12,16``:
#: the image itself, the two down-sampling convolutions, the first residual block and the
#: middle one (``None`` stands for the image input; the middle block is picked per depth).
NCE_LAYERS = (None, "encoder_down_1_conv", "encoder_down_2_conv", "first_block", "middle_block")


def nce_layer_names(num_blocks: int) -> list[str | None]:
    """The generator layers PatchNCE taps for a trunk of ``num_blocks`` residual blocks."""
    names: list[str | None] = []
    for name in NCE_LAYERS:
        if name == "first_block":
            name = f"{TRUNK_PREFIX}block_1"
        elif name == "middle_block":
            name = f"{TRUNK_PREFIX}block_{(num_blocks + 1) // 2}"
        if name not in names:
            names.append(name)
    return names


@dataclasses.dataclass(frozen=True)
class CUTStepLosses(LossRecord):
    """Losses of one CUT step (means over the batch)."""

    generator_total: float
    adversarial_style: float
    nce: float
    nce_identity: float
    discriminator_style: float
    adversarial_projected: float = 0.0
    discriminator_projected: float = 0.0

    def as_dict(self) -> dict[str, float]:
        values = super().as_dict()
        if not (self.adversarial_projected or self.discriminator_projected):
            # A run with one discriminator logs the losses it always did.
            del values["adversarial_projected"], values["discriminator_projected"]
        return values


class CUTTrainer(PhotoToStyleTrainer):
    """Builds G, D and the PatchNCE heads and performs one CUT step per `train_step` call.

    Args:
        config: A resolved `TrainConfig` with ``model`` ``cut`` or ``fastcut``.
        use_augment: Put DiffAugment in front of the discriminator.
        strategy: A `tf.distribute.Strategy` to build the models under (None: the default).
    """

    domains = ("photo", "style")
    #: The models this class trains (a subclass adds its own).
    models = ("cut", "fastcut")

    def __init__(self, config: TrainConfig, *, use_augment: bool, strategy=None):
        self.config = config = config.resolved()
        if config.model not in self.models:
            raise ValueError(
                f"{type(self).__name__} trains {' or '.join(map(repr, self.models))}, "
                f"not {config.model!r}"
            )
        self.identity = config.model != "fastcut"
        self.flip_equivariance = config.model == "fastcut"
        self.strategy = strategy or tf.distribute.get_strategy()
        self.adversarial = get_adversarial_loss(config.loss)
        size = config.image_size
        with self.strategy.scope():
            self.generator_photo_to_style = self.build_generator()
            # "patch+projected": the PatchGAN as discriminator_style, plus a projected one.
            kinds = config.discriminator.split("+")
            self.discriminators: dict[str, keras.Model] = {}
            self.updates: dict[str, DiscriminatorUpdate] = {}
            for index, kind in enumerate(kinds):
                key = "style" if index == 0 else f"style_{kind}"
                augment = None
                if use_augment:
                    augment = DiffAugment(
                        config.augment_policy, seed=config.seed + 1 + 60 * index, name="augment"
                    )
                self.discriminators[key] = self.build_discriminator(
                    f"discriminator_{key}", augment, seed_offset=1 + 60 * index, kind=kind
                )
                self.updates[key] = DiscriminatorUpdate(
                    self.discriminators[key],
                    self.adversarial,
                    make_optimizer(config, discriminator=True),
                    size,
                    seed=config.seed + 41 + 60 * index,
                )
            self.discriminator_style = self.discriminators["style"]
            self.update_style = self.updates["style"]
            self.nce = PatchNCE(seed=config.seed + 21, name="patch_nce")
            self._set_discriminators_trainable(False)
            self.combined = self._build_combined()
        self._score_shapes = {
            key: tuple(int(dim) for dim in model.compute_output_shape((1, size, size, 3))[1:])
            for key, model in self.discriminators.items()
        }
        self._score_shape = self._score_shapes["style"]
        self.pool_style = ImagePool(config.pool_size, seed=config.seed + 11)
        self._translate = tf.function(self._translate_eager, reduce_retracing=True)
        self._flip_rng = np.random.default_rng(config.seed + 31)

    # --- construction -------------------------------------------------------------------------

    @property
    def optimizers(self) -> list[keras.optimizers.Optimizer]:
        """Every optimizer of the run (their schedules end together)."""
        return [self.combined.optimizer, *(update.optimizer for update in self.updates.values())]

    def _set_discriminators_trainable(self, value: bool) -> None:
        for discriminator in self.discriminators.values():
            discriminator.trainable = value

    def _layer_taps(self) -> list:
        """Outputs of the tapped layers inside G (the image tap is added by the caller)."""
        generator = self.generator_photo_to_style
        return [
            generator.get_layer(name).output
            for name in nce_layer_names(self.config.num_blocks)
            if name is not None
        ]

    def _build_combined(self) -> keras.Model:
        size = self.config.image_size
        generator = self.generator_photo_to_style
        taps = self._layer_taps()
        # Views sharing G's weights: G with its encoder features, and the encoder alone. The
        # image itself is the first tap; it is added outside (a functional model that returns
        # its own input would make a cycle in the combined graph).
        with_layer_features = keras.Model(generator.inputs, [generator.outputs[0], *taps])
        layer_encoder = keras.Model(generator.inputs, taps)

        def with_features(images):
            output, *maps = with_layer_features(images)
            return [output, images, *maps]

        def encoder(images):
            return [images, *layer_encoder(images)]

        real_photo = keras.Input((size, size, 3), name="real_photo")
        real_style = keras.Input((size, size, 3), name="real_style")
        flip = keras.Input((1, 1, 1), name="flip_coin")
        produced = {}
        if self.flip_equivariance:
            source = _flip_where(flip, real_photo)
            fake_style = generator(source)
            key_maps = encoder(real_photo)
            query_maps = [_flip_where(flip, tensor) for tensor in encoder(fake_style)]
        else:
            fake_style, *key_maps = with_features(real_photo)
            query_maps = encoder(fake_style)
        weights = {}
        for key, discriminator in self.discriminators.items():
            produced[f"adversarial_{key}"] = discriminator(fake_style)
            weights[f"adversarial_{key}"] = 1.0
        produced["nce"] = self.nce([query_maps, key_maps])
        if self.identity:
            identity_style, *identity_keys = with_features(real_style)
            produced["nce_identity"] = self.nce([encoder(identity_style), identity_keys])
            weights.update(
                nce=0.5 * self.config.nce_weight, nce_identity=0.5 * self.config.nce_weight
            )
        else:
            weights["nce"] = self.config.nce_weight
        outputs = {
            name: keras.layers.Identity(name=name, dtype="float32")(tensor)
            for name, tensor in produced.items()
        }
        combined = keras.Model([real_photo, real_style, flip], outputs, name="cut_combined")
        losses = {
            name: self.adversarial.generator_keras_loss
            if name.startswith("adversarial")
            else mean_prediction_loss
            for name in outputs
        }
        combined.compile(optimizer=make_optimizer(self.config), loss=losses, loss_weights=weights)
        return combined

    # --- the update ---------------------------------------------------------------------------

    def _translate_eager(self, real_photo):
        return self.generator_photo_to_style(real_photo, training=False)

    def _flips(self, batch: int) -> np.ndarray:
        if not self.flip_equivariance:
            return np.zeros((batch, 1, 1, 1), np.float32)
        # One coin per step for the whole batch, as in the authors' code.
        return np.full((batch, 1, 1, 1), float(self._flip_rng.random() < 0.5), np.float32)

    def train_step(self, real_photo, real_style) -> CUTStepLosses:
        """One generator (and heads) update and one discriminator update.

        Args:
            real_photo: Batch of photos, (B, S, S, 3) in [-1, 1].
            real_style: Batch of style images, same shape.

        Returns:
            The step's losses.
        """
        batch = int(real_photo.shape[0])
        real = self.adversarial.real_target
        zeros = np.zeros((batch, 1), np.float32)
        targets = {"nce": zeros}
        for key in self.discriminators:
            targets[f"adversarial_{key}"] = self._scores(key, batch, real)
        if self.identity:
            targets["nce_identity"] = zeros
        targets = {name: targets[name] for name in self.combined.output_names}

        self._set_discriminators_trainable(False)
        logs = self.combined.train_on_batch(
            [real_photo, real_style, self._flips(batch)], targets, return_dict=True
        )

        fake_style = self.pool_style.query(np.asarray(self._translate(real_photo)))
        discriminator_losses = self._train_discriminators(real_style, fake_style)
        return CUTStepLosses(**self._step_losses(logs, discriminator_losses))

    def _train_discriminators(self, real_style, fake_style) -> dict[str, float]:
        """One update of each discriminator on style images and (pooled) fakes; their losses."""
        batch = int(real_style.shape[0])
        real, fake = self.adversarial.real_target, self.adversarial.fake_target
        self._set_discriminators_trainable(True)
        return {
            key: update.train(
                real_style,
                fake_style,
                self._scores(key, batch, real),
                self._scores(key, batch, fake),
            )
            for key, update in self.updates.items()
        }

    @staticmethod
    def _step_losses(logs: dict, discriminator_losses: dict[str, float]) -> dict[str, float]:
        """The `CUTStepLosses` fields of a step: the combined model's logs, the updates' losses."""
        return dict(
            generator_total=float(logs["loss"]),
            adversarial_style=float(logs["adversarial_style_loss"]),
            nce=float(logs["nce_loss"]),
            nce_identity=float(logs.get("nce_identity_loss", 0.0)),
            discriminator_style=discriminator_losses["style"],
            adversarial_projected=float(logs.get("adversarial_style_projected_loss", 0.0)),
            discriminator_projected=discriminator_losses.get("style_projected", 0.0),
        )

    def _scores(self, key: str, batch: int, value: float) -> np.ndarray:
        """Targets of discriminator ``key``'s patch scores."""
        return np.full((batch, *self._score_shapes[key]), value, dtype=np.float32)

    @staticmethod
    def progress_text(losses: dict[str, float]) -> str:
        """The losses in the progress bar."""
        text = (
            f"G {losses['adversarial_style']:.3f} NCE {losses['nce']:.3f} "
            f"D {losses['discriminator_style']:.3f}"
        )
        if losses.get("discriminator_projected"):
            text += (
                f" Gp {losses['adversarial_projected']:.3f} "
                f"Dp {losses['discriminator_projected']:.3f}"
            )
        return text

    def sample_columns(self, samples) -> tuple[list[np.ndarray], list[str]]:
        """Columns of a sample grid: the photos and their translations."""
        return [samples, self.translate(samples)], ["photo", "styled"]

    def translate(self, photos) -> np.ndarray:
        """Photos → style as a numpy array."""
        return np.asarray(self.generator_photo_to_style(photos, training=False))

    # --- state --------------------------------------------------------------------------------

    def checkpoint(self) -> tf.train.Checkpoint:
        """A `tf.train.Checkpoint` of every network, the heads and the optimizers (built)."""
        networks = self.checkpointed_networks()
        trainable = [
            *self.generator_photo_to_style.trainable_variables,
            *self.nce.trainable_variables,
            *(variable for model in networks.values() for variable in model.trainable_variables),
        ]
        with self.strategy.scope():
            self.combined.optimizer.build(trainable)
            for update in self.updates.values():
                update.build_optimizer()
        extra = dict(networks)
        for key in self.discriminators:
            if key != "style":
                extra[f"discriminator_{key}"] = self.discriminators[key]
                extra[f"discriminator_{key}_optimizer"] = self.updates[key].optimizer
        return tf.train.Checkpoint(
            generator_photo_to_style=self.generator_photo_to_style,
            discriminator_style=self.discriminator_style,
            patch_nce=self.nce,
            generator_optimizer=self.combined.optimizer,
            discriminator_style_optimizer=self.update_style.optimizer,
            seeds=_SeedStates(self.discriminators, self.nce, self.updates),
            **extra,
        )

    def checkpointed_networks(self) -> dict[str, keras.Model]:
        """Networks a subclass trains with the generator, by checkpoint name (CUT: none)."""
        return {}

    def pool_arrays(self) -> dict[str, np.ndarray]:
        """The pool's and the flip coin's state as numpy arrays (for ``arrays.npz``)."""
        arrays = {
            f"pool_style/{key}": np.asarray(v) for key, v in self.pool_style.get_state().items()
        }
        arrays["flip_rng"] = _rng_state(self._flip_rng)
        return arrays

    def restore_pools(self, arrays: dict[str, np.ndarray]) -> None:
        """Inverse of `pool_arrays`."""
        self.pool_style.set_state(
            {key.split("/", 1)[1]: v for key, v in arrays.items() if key.startswith("pool_style/")}
        )
        if "flip_rng" in arrays:
            _set_rng_state(self._flip_rng, arrays["flip_rng"])


def _flip_where(flip, images):
    """Images flipped left-right where ``flip`` (broadcast over H, W, C) is 1."""
    return ops.where(ops.cast(flip, "bool"), ops.flip(images, axis=2), images)


class _SeedStates(tf.Module):
    """Tracks the seed-generator states (DiffAugment, patch sampling) for exact resumes."""

    def __init__(
        self,
        discriminators: dict[str, keras.Model],
        nce: PatchNCE,
        updates: dict[str, DiscriminatorUpdate],
    ):
        super().__init__()

        def augment_states(key: str) -> list:
            return [layer.seed_generator.state for layer in _augments(discriminators[key])]

        # The order of the single-discriminator runs first, so their checkpoints still restore.
        states = [*augment_states("style"), nce.seed_generator.state, *updates["style"].seed_states]
        for key in discriminators:
            if key != "style":
                states += [*augment_states(key), *updates[key].seed_states]
        self.states = states


def _augments(discriminator: keras.Model) -> list[DiffAugment]:
    return [layer for layer in discriminator.layers if isinstance(layer, DiffAugment)]


def _rng_state(rng: np.random.Generator) -> np.ndarray:
    import json

    return np.frombuffer(json.dumps(rng.bit_generator.state).encode(), dtype=np.uint8)


def _set_rng_state(rng: np.random.Generator, array: np.ndarray) -> None:
    import json

    rng.bit_generator.state = json.loads(bytes(np.asarray(array, np.uint8)).decode())
