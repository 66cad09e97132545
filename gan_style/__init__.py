"""gan-style: learn a personal image style with a GAN and apply it at full resolution.

The package imports nothing heavy at start-up: TensorFlow and Keras are imported by the modules
that need them, so ``gan-style --help`` answers at once.
"""

__version__ = "0.1.0"
