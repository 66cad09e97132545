"""Style recognition: a classifier fit on two domains' training features, applied to new sets."""

import numpy as np
import pytest

from gan_style.metrics.recognition import fit_style_classifier, style_recognition, style_share


def blob(centre: float, count: int, seed: int, width: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).normal(centre, 1.0, (count, width))


def test_it_recognises_the_style_side_and_not_the_photo_side():
    report = style_recognition(
        blob(+1.5, 60, 0),
        blob(-1.5, 30, 1),  # unequal sizes: the classes are balanced by weight
        {
            "style_holdout": blob(+1.5, 40, 2),
            "photos": blob(-1.5, 40, 3),
            "halfway": blob(0.0, 400, 4),
            "moved": blob(+1.0, 40, 5),
        },
    )
    share = report["style_share"]
    assert share["style_holdout"] >= 0.95 and share["photos"] <= 0.05
    assert share["moved"] >= 0.85
    assert 0.3 < share["halfway"] < 0.7  # the boundary lies between the two domains
    assert report["counts"] == {"style_holdout": 40, "photos": 40, "halfway": 400, "moved": 40}
    assert (report["n_style_train"], report["n_photo_train"]) == (60, 30)


def test_the_share_is_the_fraction_above_one_half():
    classifier = fit_style_classifier(blob(2.0, 20, 0, 2), blob(-2.0, 20, 1, 2))
    far_style, far_photo = np.full((3, 2), 5.0), np.full((1, 2), -5.0)
    assert style_share(classifier, np.concatenate([far_style, far_photo])) == 0.75


def test_bad_inputs_are_value_errors():
    with pytest.raises(ValueError, match="at least 4 style training images"):
        fit_style_classifier(blob(1, 3, 0), blob(-1, 10, 1))
    with pytest.raises(ValueError, match="differ in width"):
        fit_style_classifier(blob(1, 10, 0, 8), blob(-1, 10, 1, 4))
    classifier = fit_style_classifier(blob(1, 10, 0), blob(-1, 10, 1))
    with pytest.raises(ValueError, match="no features"):
        style_share(classifier, np.zeros((0, 16)))
