"""Style recognition: how often an independent classifier takes transferred photos for the style.

FID and KID ask whether two sets of Inception features have the same distribution. With a few
dozen held-out images, and photos whose content differs from the paintings', they mostly measure
content, and say little about whether a transfer *looks like* the style. This metric asks that
directly, as the "deception rate" of style-transfer papers (Sanakoyeu et al. 2018, "A
Style-Aware Content Loss for Real-time HD Style Transfer", section 4.2, with a classifier of
artists): a classifier learns style images from photos on the *training* images of the two
domains, and is then applied to images it never saw.

- held-out style images: the share it calls style is its ceiling (how well it recognises the
  style at all);
- held-out photos as they are: the share it calls style is its floor (false alarms);
- the transfers of those photos: the share it calls style is the score. Between floor and
  ceiling, it says how far the transfer carries a photo into the style.

The classifier is scikit-learn's L2-regularised logistic regression on standardised Inception
pool features (the ones FID uses), with balanced class weights because the two training sets
differ in size. Its settings are fixed in advance (scikit-learn's defaults), never tuned on the
held-out images. It is independent of the GAN: the generator was never trained against it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Fewer training images than this per domain give a classifier too unstable to report.
MIN_TRAINING_IMAGES = 4


def fit_style_classifier(style_features: np.ndarray, photo_features: np.ndarray, *, seed: int = 0):
    """A logistic regression telling style images (class 1) from photos (class 0).

    Args:
        style_features: ``(n_style, d)`` features of the style's training images.
        photo_features: ``(n_photo, d)`` features of the training photos.
        seed: Seed of the solver (it is deterministic for lbfgs; kept for completeness).

    Returns:
        A fitted scikit-learn pipeline (standardisation, then logistic regression).

    Raises:
        ValueError: A domain has fewer than `MIN_TRAINING_IMAGES` images, or the feature widths
            differ.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    style_features = np.asarray(style_features, dtype=np.float64)
    photo_features = np.asarray(photo_features, dtype=np.float64)
    for name, features in (("style", style_features), ("photo", photo_features)):
        if features.ndim != 2 or len(features) < MIN_TRAINING_IMAGES:
            raise ValueError(
                f"the style classifier needs at least {MIN_TRAINING_IMAGES} {name} training "
                f"images as a 2-d feature array, got shape {features.shape}"
            )
    if style_features.shape[1] != photo_features.shape[1]:
        raise ValueError(
            f"style and photo features differ in width: {style_features.shape[1]} vs "
            f"{photo_features.shape[1]}"
        )
    features = np.concatenate([style_features, photo_features])
    labels = np.concatenate([np.ones(len(style_features)), np.zeros(len(photo_features))])
    classifier = make_pipeline(
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=5000, random_state=seed),
    )
    return classifier.fit(features, labels)


def style_share(classifier, features: np.ndarray) -> float:
    """The fraction of ``features`` rows the classifier calls style (probability above 1/2)."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) == 0:
        raise ValueError("no features to classify")
    return float(np.mean(classifier.predict_proba(features)[:, 1] > 0.5))


def style_recognition(
    style_train: np.ndarray,
    photo_train: np.ndarray,
    evaluated: Mapping[str, np.ndarray],
    *,
    seed: int = 0,
) -> dict:
    """Fits the classifier on the training features and reports the style share of each set.

    Args:
        style_train: Features of the style's training images.
        photo_train: Features of the training photos.
        evaluated: Name → features of a set never trained on (e.g. ``"transferred"``,
            ``"photos"``, ``"style_holdout"``).
        seed: Seed of the classifier.

    Returns:
        ``{"style_share": {name: fraction}, "counts": {name: n}, "n_style_train",
        "n_photo_train", "classifier"}``.
    """
    classifier = fit_style_classifier(style_train, photo_train, seed=seed)
    return {
        "style_share": {name: style_share(classifier, rows) for name, rows in evaluated.items()},
        "counts": {name: len(rows) for name, rows in evaluated.items()},
        "n_style_train": len(style_train),
        "n_photo_train": len(photo_train),
        "classifier": "logistic regression on standardised Inception pool features "
        "(scikit-learn defaults, balanced classes), fit on the training images",
    }
