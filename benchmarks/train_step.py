"""Benchmark of the training steps: speed, the machine's floor, and the cost of our design.

For each CycleGAN preset (fast: 32 filters, 6 blocks; quality: 64 filters, 9 blocks) at 128 and
256 px, the CUT and FastCUT steps with the same networks (anti-aliased, as their presets), and
the DCGAN fast preset (64 px, batches of 32), in float32 and mixed_bfloat16, it prints, all
measured in this one run:

- seconds per step and images/s (CycleGAN: two images per step, one photo and one style image;
  DCGAN: the batch of 32 real images);
- the step's FLOPs, counted by TensorFlow's graph profiler on the traced forward passes (a
  backward pass costs two forwards), and the GFLOP/s achieved, as a ratio against a large
  Conv2D's GFLOP/s in the same precision: how close the step is to this CPU's conv floor;
- the same networks trained by one fused `tf.function` + `GradientTape` step (same losses and
  updates, no fake pool), and the ratio train_on_batch / fused: what the product's required
  `train_on_batch` design costs.

Run: ``python benchmarks/train_step.py [--steps N] [--only fast|quality] [--sizes 128,256]
[--models cyclegan,cut,fastcut,dcgan]``. CUT has no fused twin here (its PatchNCE sampling
would have to be written twice): its row leaves those columns empty.
Never run it beside another benchmark or a training run: the figures would be meaningless.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

PRESETS = {"fast": (32, 6, 32), "quality": (64, 9, 64)}

#: Units of one generator forward (G) and one discriminator forward at batch 1 (D) in a step:
#: combined update: 6 generator forwards + their backwards (×3) = 18 G, 2 D forwards with input
#: gradients (×2) = 4 D; fakes for the pool: 2 G; two D updates on batches of 2, forward and
#: backward (×3) = 12 D.
GENERATOR_UNITS, DISCRIMINATOR_UNITS = 20, 16
#: The same per image of a DCGAN batch: D update: fakes (1 G), D forward and backward on the real
#: and the fake image (6 D); G update: G forward and backward (3 G), D forward with input
#: gradients (2 D).
DCGAN_GENERATOR_UNITS, DCGAN_DISCRIMINATOR_UNITS = 4, 8
DCGAN_SIZE, DCGAN_BATCH = 64, 32
#: The same for CUT, in generator (G), tapped-encoder (E) and discriminator (D) forwards: the
#: combined update runs G on the photo and E on its translation, and for CUT the same on the
#: style image (NCE identity), each with its backward (×3); D on the fake with input gradients
#: (2 D); the fake for D (1 G); the D update on a batch of 2 (6 D). FastCUT runs E on the photo
#: separately (flip-equivariance) and has no identity term.
CUT_UNITS = {"cut": (7, 6, 8), "fastcut": (4, 6, 8)}


def forward_flops(model, size: int | None) -> float:
    """FLOPs of one batch-1 forward pass, from TensorFlow's graph profiler (size None: the
    model's own input shape, e.g. a noise vector)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    shape = [1, size, size, 3] if size else [1, *model.input_shape[1:]]
    spec = tf.TensorSpec(shape, tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    options = (
        option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
        .with_empty_output()
        .build()
    )
    return float(model_analyzer.profile(graph, options=options).total_float_ops)


def conv_reference(policy: str, repeats: int = 5) -> float:
    """GFLOP/s of a large 3×3 Conv2D (8×64×64×256 → 256) under ``policy``."""
    keras.mixed_precision.set_global_policy(policy)
    layer = keras.layers.Conv2D(256, 3, padding="same", use_bias=False)
    inputs = tf.random.uniform((8, 64, 64, 256))
    run = tf.function(lambda x: layer(x))
    run(inputs).numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        run(inputs).numpy()
    seconds = (time.perf_counter() - started) / repeats
    return 2 * 8 * 64 * 64 * 256 * 256 * 9 / seconds / 1e9


def make_trainer(preset: str, size: int, steps: int):
    from gan_style.config import TrainConfig
    from gan_style.training.cyclegan import CycleGANTrainer

    filters, blocks, disc_filters = PRESETS[preset]
    config = TrainConfig(
        style="-",
        name="bench",
        model="cyclegan",
        image_size=size,
        steps=steps + 10,
        num_filters=filters,
        num_blocks=blocks,
        disc_filters=disc_filters,
    )
    return CycleGANTrainer(config, use_augment=True)


def time_steps(step, batches, steps: int) -> float:
    step(*batches[0])  # trace
    step(*batches[1])
    started = time.perf_counter()
    for index in range(steps):
        step(*batches[index % len(batches)])
    return (time.perf_counter() - started) / steps


def fused_step_function(trainer):
    """The same update as `CycleGANTrainer.train_step`, as one tf.function with GradientTape."""
    config = trainer.config
    generators = [trainer.generator_photo_to_style, trainer.generator_style_to_photo]
    discriminators = [trainer.discriminator_style, trainer.discriminator_photo]
    adversarial = trainer.adversarial
    generator_optimizer = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1)
    discriminator_optimizer = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1)
    identity_weight = config.identity_weight * config.cycle_weight
    for model in generators + discriminators:
        model.trainable = True
    generator_variables = [v for model in generators for v in model.trainable_variables]
    discriminator_variables = [v for model in discriminators for v in model.trainable_variables]

    @tf.function
    def step(real_photo, real_style):
        g, f = generators
        d_style, d_photo = discriminators
        with tf.GradientTape() as tape:
            fake_style, fake_photo = g(real_photo, training=True), f(real_style, training=True)
            cycled_photo, cycled_style = f(fake_style, training=True), g(fake_photo, training=True)
            loss = (
                adversarial.generator_loss(d_style(fake_style, training=True))
                + adversarial.generator_loss(d_photo(fake_photo, training=True))
                + config.cycle_weight * tf.reduce_mean(tf.abs(cycled_photo - real_photo))
                + config.cycle_weight * tf.reduce_mean(tf.abs(cycled_style - real_style))
                + identity_weight
                * tf.reduce_mean(tf.abs(f(real_photo, training=True) - real_photo))
                + identity_weight
                * tf.reduce_mean(tf.abs(g(real_style, training=True) - real_style))
            )
        generator_optimizer.apply(tape.gradient(loss, generator_variables), generator_variables)
        fake_style, fake_photo = g(real_photo, training=False), f(real_style, training=False)
        with tf.GradientTape() as tape:
            d_loss = 0.5 * (
                adversarial.discriminator_loss(
                    d_style(real_style, training=True), d_style(fake_style, training=True)
                )
                + adversarial.discriminator_loss(
                    d_photo(real_photo, training=True), d_photo(fake_photo, training=True)
                )
            )
        discriminator_optimizer.apply(
            tape.gradient(d_loss, discriminator_variables), discriminator_variables
        )
        return loss, d_loss

    return step


def bench_cut(model: str, preset: str, size: int, policy: str, reference: float, steps: int, rng):
    from gan_style.config import TrainConfig
    from gan_style.training.cut import CUTTrainer

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    filters, blocks, disc_filters = PRESETS[preset]
    config = TrainConfig(
        style="-",
        name="bench",
        model=model,
        image_size=size,
        steps=steps + 10,
        num_filters=filters,
        num_blocks=blocks,
        disc_filters=disc_filters,
    )
    trainer = CUTTrainer(config, use_augment=True)
    generator = trainer.generator_photo_to_style
    encoder = keras.Model(generator.inputs, trainer._layer_taps())
    generator_units, encoder_units, discriminator_units = CUT_UNITS[model]
    flops = (
        generator_units * forward_flops(generator, size)
        + encoder_units * forward_flops(encoder, size)
        + discriminator_units * forward_flops(trainer.discriminator_style, size)
    )
    batches = [
        tuple(rng.uniform(-1, 1, (1, size, size, 3)).astype("float32") for _ in range(2))
        for _ in range(3)
    ]
    seconds = time_steps(trainer.train_step, batches, steps)
    achieved = flops / seconds / 1e9
    print(
        f"{model + '-' + preset:16s} {size:4d} {policy:15s} {seconds:7.2f} {2 / seconds:6.2f} "
        f"{flops / 1e9:10.1f} {achieved:8.1f} {achieved / reference:6.2f} {'—':>12s} "
        f"{'—':>9s}",
        flush=True,
    )
    keras.backend.clear_session()


def make_dcgan_trainer(steps: int):
    from gan_style.config import TrainConfig
    from gan_style.training.dcgan import DCGANTrainer

    config = TrainConfig(style="-", name="bench", model="dcgan", steps=steps + 10)
    return DCGANTrainer(config, use_augment=True)


def fused_dcgan_step_function(trainer):
    """The same update as `DCGANTrainer.train_step`, as one tf.function with GradientTape."""
    config = trainer.config
    generator, discriminator = trainer.generator, trainer.discriminator
    adversarial = trainer.adversarial
    generator_optimizer = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1)
    discriminator_optimizer = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1)
    discriminator.trainable = True

    @tf.function
    def step(real, noise):
        batch = tf.shape(real)[0]
        fakes = generator(noise[:batch], training=True)
        with tf.GradientTape() as tape:
            scores = discriminator(tf.concat([real, fakes], 0), training=True)
            d_loss = adversarial.discriminator_loss(scores[:batch], scores[batch:])
        variables = discriminator.trainable_variables
        discriminator_optimizer.apply(tape.gradient(d_loss, variables), variables)
        with tf.GradientTape() as tape:
            fake_scores = discriminator(generator(noise[batch:], training=True), training=True)
            loss = adversarial.generator_loss(fake_scores)
        variables = generator.trainable_variables
        generator_optimizer.apply(tape.gradient(loss, variables), variables)
        return loss, d_loss

    return step


def bench_dcgan(policy: str, reference: float, steps: int, rng) -> None:
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    trainer = make_dcgan_trainer(steps)
    flops = DCGAN_BATCH * (
        DCGAN_GENERATOR_UNITS * forward_flops(trainer.generator, None)
        + DCGAN_DISCRIMINATOR_UNITS * forward_flops(trainer.discriminator, DCGAN_SIZE)
    )
    shape = (DCGAN_BATCH, DCGAN_SIZE, DCGAN_SIZE, 3)
    reals = [rng.uniform(-1, 1, shape).astype("float32") for _ in range(3)]
    noise = [
        rng.standard_normal((2 * DCGAN_BATCH, trainer.config.latent_dim)).astype("float32")
        for _ in range(3)
    ]
    seconds = time_steps(trainer.train_step, [(real,) for real in reals], steps)
    fused = time_steps(
        fused_dcgan_step_function(trainer), list(zip(reals, noise, strict=True)), steps
    )
    achieved = flops / seconds / 1e9
    images = DCGAN_BATCH / seconds
    print(
        f"{'dcgan-fast':16s} {DCGAN_SIZE:4d} {policy:15s} {seconds:7.2f} {images:6.1f} "
        f"{flops / 1e9:10.1f} {achieved:8.1f} {achieved / reference:6.2f} "
        f"{fused:12.2f} {seconds / fused:9.2f}",
        flush=True,
    )
    keras.backend.clear_session()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per configuration")
    parser.add_argument("--only", choices=tuple(PRESETS), default=None)
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--models", default="cyclegan,cut,fastcut,dcgan")
    arguments = parser.parse_args()
    models = arguments.models.split(",")
    presets = (
        ([arguments.only] if arguments.only else list(PRESETS)) if "cyclegan" in models else []
    )
    sizes = [int(size) for size in arguments.sizes.split(",")]
    precisions = arguments.precisions.split(",")

    print(f"{os.cpu_count()} cores, TensorFlow {tf.__version__}, Keras {keras.__version__}")
    references = {policy: conv_reference(policy) for policy in precisions}
    for policy, value in references.items():
        print(f"reference  large Conv2D 3×3 256→256 on 8×64×64, {policy}: {value:6.1f} GFLOP/s")
    rng = np.random.default_rng(0)
    print(
        f"{'model':16s} {'px':>4s} {'precision':15s} {'s/step':>7s} {'img/s':>6s} "
        f"{'GFLOP/step':>10s} {'GFLOP/s':>8s} {'÷conv':>6s} {'fused s/step':>12s} "
        f"{'tob÷fused':>9s}"
    )
    for preset in presets:
        for size in sizes:
            for policy in precisions:
                keras.mixed_precision.set_global_policy(policy)
                keras.utils.set_random_seed(0)
                trainer = make_trainer(preset, size, arguments.steps)
                flops = GENERATOR_UNITS * forward_flops(
                    trainer.generator_photo_to_style, size
                ) + DISCRIMINATOR_UNITS * forward_flops(trainer.discriminator_style, size)
                batches = [
                    tuple(
                        rng.uniform(-1, 1, (1, size, size, 3)).astype("float32") for _ in range(2)
                    )
                    for _ in range(3)
                ]
                seconds = time_steps(trainer.train_step, batches, arguments.steps)
                fused = time_steps(fused_step_function(trainer), batches, arguments.steps)
                achieved = flops / seconds / 1e9
                print(
                    f"{'cyclegan-' + preset:16s} {size:4d} {policy:15s} {seconds:7.2f} "
                    f"{2 / seconds:6.2f} "
                    f"{flops / 1e9:10.1f} {achieved:8.1f} {achieved / references[policy]:6.2f} "
                    f"{fused:12.2f} {seconds / fused:9.2f}",
                    flush=True,
                )
                keras.backend.clear_session()
    for model in ("cut", "fastcut"):
        if model not in models:
            continue
        for preset in [arguments.only] if arguments.only else list(PRESETS):
            for size in sizes:
                for policy in precisions:
                    bench_cut(model, preset, size, policy, references[policy], arguments.steps, rng)
    if "dcgan" in models:
        for policy in precisions:
            bench_dcgan(policy, references[policy], arguments.steps, rng)
    keras.mixed_precision.set_global_policy("float32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
