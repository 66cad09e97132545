"""Metrics for `gan-style evaluate`: FID and KID on Inception features, SSIM and PSNR on images.

The metric functions take arrays (features or images), not files, so they are testable without
a network:

- :func:`frechet_inception_distance` / :func:`frechet_distance` (:mod:`.fid`)
- :func:`kernel_inception_distance` (:mod:`.kid`)
- :func:`structural_similarity` and :func:`peak_signal_to_noise_ratio` (:mod:`.content`)

The feature network lives in :mod:`.inception` and its weights in :mod:`.weights`; both import
TensorFlow only when a network is built. Folders of images are read by :mod:`.features` (with
its cache) and scored by :mod:`gan_style.evaluate`.
"""

from gan_style.metrics.content import peak_signal_to_noise_ratio, structural_similarity
from gan_style.metrics.fid import feature_statistics, frechet_distance, frechet_inception_distance
from gan_style.metrics.kid import kernel_inception_distance

__all__ = [
    "feature_statistics",
    "frechet_distance",
    "frechet_inception_distance",
    "kernel_inception_distance",
    "peak_signal_to_noise_ratio",
    "structural_similarity",
]
