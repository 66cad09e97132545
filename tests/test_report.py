"""gan_style.report: figures are PNGs of the expected layout; bad input is refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gan_style import report


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_to_uint8_maps_the_range_and_clips():
    values = np.array([-2.0, -1.0, 0.0, 1.0, 3.0])
    np.testing.assert_array_equal(report.to_uint8(values), [0, 0, 128, 255, 255])


def test_a_grid_is_as_wide_as_its_columns_and_as_tall_as_its_rows():
    images = np.zeros((3, 16, 32, 3), np.float32)
    two = png_size(report.sample_grid([images, images], ["a", "b"]))
    three = png_size(report.sample_grid([images, images, images], ["a", "b", "c"]))
    one_row = png_size(report.sample_grid([images[:1], images[:1]], ["a", "b"]))
    assert three[0] > two[0] and two[1] > one_row[1]
    with pytest.raises(ValueError, match="one title per column"):
        report.sample_grid([images], ["a", "b"])


def test_a_before_after_grid_reads_files_of_any_size(tmp_path):
    paths = []
    for index, size in enumerate([(40, 20), (20, 40)]):
        path = tmp_path / f"{index}.jpg"
        Image.new("RGB", size, (200, 10, 10)).save(path)
        paths.append(str(path))
    data = report.before_after_grid([tuple(paths)], titles=("photo", "styled"), caption="c")
    assert png_size(data)[0] > 0


def test_a_metrics_chart_needs_a_metric():
    assert png_size(report.metrics_chart({"fid": 12.0, "kid": 0.01, "kid_std": 0.002}, title="t"))
    with pytest.raises(ValueError, match="no metric to plot"):
        report.metrics_chart({"n_a": 3}, title="t")
