import json

import numpy as np
import pytest

from gan_style.training.pool import ImagePool


def numbered_batch(first, batch_size=10):
    """Images filled with their number, so where each came from is recognisable."""
    numbers = np.arange(first, first + batch_size, dtype="float32")
    return np.broadcast_to(numbers[:, None, None, None], (batch_size, 4, 4, 3)).copy()


def numbers(images):
    return images[:, 0, 0, 0].astype(int).tolist()


def test_the_first_size_images_go_in_and_come_back_unchanged():
    pool = ImagePool(size=50, seed=0)

    for first in range(0, 50, 10):
        batch = numbered_batch(first)
        np.testing.assert_array_equal(pool.query(batch), batch)

    assert len(pool) == 50
    assert sorted(numbers(pool.get_state()["images"])) == list(range(50))


def test_a_full_pool_swaps_half_of_the_images_with_stored_ones():
    pool = ImagePool(size=50, seed=0)
    for first in range(0, 50, 10):
        pool.query(numbered_batch(first))
    stored = set(range(50))
    swapped = 0

    for first in range(50, 2050, 10):
        batch = numbered_batch(first)
        result = pool.query(batch)
        for new, returned in zip(numbers(batch), numbers(result), strict=True):
            if returned != new:
                # A stored image came back and the new one took its place.
                assert returned in stored
                stored.remove(returned)
                stored.add(new)
                swapped += 1
        assert set(numbers(pool.get_state()["images"])) == stored

    assert 0.45 < swapped / 2000 < 0.55
    assert len(pool) == 50


def test_query_does_not_modify_its_input():
    pool = ImagePool(size=2, seed=0)
    pool.query(numbered_batch(0, batch_size=2))
    batch = numbered_batch(100)

    result = pool.query(batch)

    np.testing.assert_array_equal(batch, numbered_batch(100))
    assert result is not batch
    assert numbers(result) != numbers(batch)


def test_a_pool_of_size_zero_returns_its_input():
    pool = ImagePool(size=0)
    batch = numbered_batch(0)

    np.testing.assert_array_equal(pool.query(batch), batch)
    assert len(pool) == 0


def test_restored_state_gives_identical_subsequent_outputs(tmp_path):
    pool = ImagePool(size=50, seed=1)
    for first in range(0, 70, 10):
        pool.query(numbered_batch(first).astype("float16"))
    state = pool.get_state()
    assert json.loads(state["rng_state"])["bit_generator"] == "PCG64"
    np.savez(tmp_path / "pool.npz", **state)

    with np.load(tmp_path / "pool.npz", allow_pickle=False) as saved:
        restored = ImagePool(size=50, seed=999)
        restored.set_state(dict(saved))

    assert len(restored) == 50
    for first in range(70, 300, 10):
        batch = numbered_batch(first).astype("float16")
        expected, result = pool.query(batch), restored.query(batch)
        assert result.dtype == np.float16
        np.testing.assert_array_equal(result, expected)


def test_restoring_an_empty_pool():
    state = ImagePool(size=5, seed=2).get_state()
    pool = ImagePool(size=5, seed=3)
    pool.query(numbered_batch(0, batch_size=3))

    pool.set_state(state)

    assert len(pool) == 0
    np.testing.assert_array_equal(pool.query(numbered_batch(10, 5)), numbered_batch(10, 5))


def test_set_state_rejects_more_images_than_the_size():
    pool = ImagePool(size=50, seed=0)
    for first in range(0, 50, 10):
        pool.query(numbered_batch(first))

    with pytest.raises(ValueError, match="holds 50 images; this pool keeps at most 10"):
        ImagePool(size=10).set_state(pool.get_state())


def test_query_rejects_a_different_image_shape():
    pool = ImagePool(size=4, seed=0)
    pool.query(numbered_batch(0, batch_size=2))

    with pytest.raises(ValueError, match=r"holds images of shape \(4, 4, 3\)"):
        pool.query(np.zeros((2, 8, 8, 3), "float32"))


@pytest.mark.parametrize("size", [-1, 2.5, True])
def test_pool_rejects_a_bad_size(size):
    with pytest.raises(ValueError, match="size must be a non-negative int"):
        ImagePool(size=size)
