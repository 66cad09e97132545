"""Benchmark the FID feature network against a plain large convolution on the same machine.

    python benchmarks/evaluate.py [--batch-size 16] [--repeats 3] [--weights PATH]

Prints the network's throughput on batches of 299×299 images (images/s), its arithmetic rate
(GFLOP/s, from the multiply-adds of every Conv2D counted from the layer shapes, 2 FLOPs each),
and the rate of one large Conv2D measured in the same run, with their ratio: how close the
feature extractor comes to what this machine's convolution kernels reach. Both are compiled
``tf.function``\\s timed after a warm-up call; the median of ``--repeats`` calls is reported.

Throughput does not depend on the weights' values, so without weights (``--weights``,
``$GAN_STYLE_INCEPTION_WEIGHTS``, the cache or ../shared/weights; nothing is downloaded) the
network runs with random ones.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _median_seconds(function, argument, repeats: int) -> float:
    function(argument)  # trace and warm up
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(argument)
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def _network(weights_path):
    from gan_style.errors import GanStyleError
    from gan_style.metrics import inception
    from gan_style.metrics.weights import resolve_weights_path

    try:
        path = resolve_weights_path(weights_path, download=False)
    except GanStyleError:
        print("weights: none found, using random weights (same cost)")
        return inception.build_inception_network()
    print(f"weights: {path}")
    return inception.load_inception_network(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weights", default=None, help="FID Inception weights file")
    arguments = parser.parse_args()
    if arguments.batch_size < 1 or arguments.repeats < 1:
        parser.error("--batch-size and --repeats must be at least 1")

    import tensorflow as tf

    from gan_style.metrics import inception

    model = _network(arguments.weights)
    network_flops = 2 * inception.count_multiply_adds(model)
    forward = inception.feature_function(model)
    images = np.random.default_rng(0).uniform(0, 255, (arguments.batch_size, 299, 299, 3))
    images = tf.constant(images, tf.float32)
    network_seconds = _median_seconds(forward, images, arguments.repeats)
    images_per_second = arguments.batch_size / network_seconds
    network_rate = images_per_second * network_flops / 1e9

    # A large 3×3 convolution of the kind that dominates InceptionV3, as a compiled op.
    batch, size, channels = 8, 56, 256
    conv_input = tf.random.normal((batch, size, size, channels))
    kernel = tf.random.normal((3, 3, channels, channels)) * 0.05
    conv_flops = 2 * batch * size * size * 3 * 3 * channels * channels
    convolve = tf.function(lambda x: tf.nn.conv2d(x, kernel, strides=1, padding="SAME"))
    conv_seconds = _median_seconds(lambda x: convolve(x).numpy(), conv_input, arguments.repeats)
    conv_rate = conv_flops / conv_seconds / 1e9

    print(
        f"network: {network_flops / 2e9:.3f} G multiply-adds = {network_flops / 1e9:.2f} GFLOP "
        "per 299×299 image (Conv2D layers, from their shapes)"
    )
    print(
        f"feature extraction: batch {arguments.batch_size}: {network_seconds:.3f} s, "
        f"{images_per_second:.2f} images/s, {network_rate:.1f} GFLOP/s"
    )
    print(
        f"large Conv2D {batch}×{size}×{size}×{channels} → {channels}, 3×3: "
        f"{conv_seconds:.3f} s, {conv_rate:.1f} GFLOP/s"
    )
    print(f"ratio network / large Conv2D: {network_rate / conv_rate:.2f}")


if __name__ == "__main__":
    main()
