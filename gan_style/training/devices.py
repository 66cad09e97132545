"""Choosing the numeric precision and the `tf.distribute` strategy for a run.

``--precision auto``: ``mixed_float16`` on a CUDA GPU; ``mixed_bfloat16`` on a CPU with native
bfloat16 arithmetic (AVX512-BF16 or AMX), which measured about 1.6× faster for the full model on
such a CPU (``mixed_float16`` on a CPU is about 9× slower: it is emulated); ``float32``
otherwise, for transfer. Training's ``auto`` is float32 on every CPU (see
`resolve_training_precision`). Generator outputs and discriminator scores stay float32 under
every policy.

``--strategy auto``: no strategy on a CPU or a single GPU (MirroredStrategy over one device
only adds overhead), MirroredStrategy across several local GPUs. ``multiworker`` reads the
cluster from ``TF_CONFIG``. We build no distributed engine of our own.
"""

from __future__ import annotations

import functools

_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (Linux: /proc/cpuinfo flags)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(flag in flags for flag in _BF16_CPU_FLAGS)
    except OSError:
        return False
    return False


def gpu_count() -> int:
    """Number of visible GPUs."""
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy name that ``precision`` means on this machine."""
    if precision != "auto":
        return precision
    if gpu_count():
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"


def resolve_training_precision(precision: str) -> str:
    """What ``precision`` means for training here: like `resolve_precision`, except that
    ``auto`` is float32 on every CPU.

    bfloat16 training was 1.6× faster per step on this project's CPU but lost on every measure
    of quality in the same number of steps (Monet, fast CycleGAN preset, 3000 steps: KID ×1000
    156 against 78.5, SSIM 0.527 against 0.590, period-4 grid peak 564× against 18× for the
    photos), so it does not pay per minute; transfer keeps bfloat16, where the outputs stay
    44-58 dB from float32's.
    """
    if precision != "auto":
        return precision
    return "mixed_float16" if gpu_count() else "float32"


def apply_precision(precision: str) -> str:
    """Set Keras' global dtype policy for training at ``precision``; returns the policy set."""
    import keras

    policy = resolve_training_precision(precision)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def resolve_strategy_name(strategy: str) -> str:
    """``default``, ``mirrored`` or ``multiworker``: what ``strategy`` means here."""
    if strategy != "auto":
        return strategy
    return "mirrored" if gpu_count() > 1 else "default"


def make_strategy(strategy: str):
    """The `tf.distribute.Strategy` for ``strategy`` (``default``: TensorFlow's no-op one)."""
    import tensorflow as tf

    name = resolve_strategy_name(strategy)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()
