"""Reading an estimator's pickle (WHAM, PHALP) without running code from it.

Unpickling calls whatever global the file names, so a crafted `.pkl` runs any command. These
files only ever hold containers, numbers, strings and numpy arrays, so the unpickler here resolves
only those globals (`ALLOWED_GLOBALS`) and refuses any other one, naming the file and the global,
before anything is called. Plain pickles (any protocol) and joblib dumps (protocol 2 or later, its
default being the highest; uncompressed or compressed with zlib, gzip, bz2, xz or lzma, as
`joblib.dump(..., compress=...)` writes them) are read; joblib's arrays go through its
`NumpyUnpickler`, whose object arrays are read here with the same restriction.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import zlib
from pathlib import Path
from typing import Any, Callable

_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [(module, name) for module in ("builtins", "__builtin__")  # protocols 0-2 name builtins the Python 2 way
     for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float",
                  "complex", "bool", "slice")]
    + [("_codecs", "encode")]  # bytes in protocols 0-2
    + [("collections", "defaultdict"), ("collections", "OrderedDict")]
    + [("numpy", "ndarray"), ("numpy", "dtype")]
    + [(module, name) for module in _NUMPY_CORE for name in ("_reconstruct", "scalar", "_frombuffer")]
    + [("joblib.numpy_pickle", "NumpyArrayWrapper")]
)
"""(module, name) of every global an estimator's pickle may name: containers, numbers, strings,
numpy arrays, dtypes and scalars (numpy 1 and 2 module names), and joblib's array wrapper; each
only builds data from its arguments."""

DILL_LOAD_TYPE = ("dill._dill", "_load_type")
"""Once dill is imported (it extends pickle by default), pickle writes a builtin type such as a
defaultdict's `dict` factory as `dill._dill._load_type("dict")`: read as that builtin type, if allowed."""

_DECOMPRESSORS: tuple[tuple[bytes, Callable[[bytes], bytes]], ...] = (
    (b"\x78", zlib.decompress),  # joblib's default compressor
    (b"\x1f\x8b", gzip.decompress),
    (b"BZ", bz2.decompress),
    (b"\xfd7zXZ", lzma.decompress),
    (b"\x5d\x00", lzma.decompress),
)
"""Magic bytes → decompression, for the compressors `joblib.dump` writes (its `compressor.py`)."""


class RefusedPickleError(pickle.UnpicklingError):
    """A pickle names a global outside `ALLOWED_GLOBALS`."""


def _find_allowed(source: Path, module: str, name: str, find_class: Callable[[str, str], Any], shown: str = "") -> Any:
    """`find_class(module, name)` for an allowed global; raises `RefusedPickleError` for any other."""
    if (module, name) == DILL_LOAD_TYPE:
        return lambda type_name: _find_allowed(source, "builtins", type_name, find_class, f"{module}.{name}('{type_name}')")
    if (module, name) not in ALLOWED_GLOBALS:
        raise RefusedPickleError(
            f"{source}: refused to load the global '{shown or f'{module}.{name}'}': an estimator's output holds only "
            "containers, numbers, strings and numpy arrays, and unpickling anything else can run code; "
            "if you trust the file, retry with trust_pickle=True (--trust-pickle)"
        )
    return find_class(module, name)


def _restricted_unpickler(source: Path, data: io.BytesIO) -> Any:
    """joblib's `NumpyUnpickler` (plain pickles pass through it unchanged), resolving only allowed globals."""
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    class ObjectArrays(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return _find_allowed(source, module, name, super().find_class)

    class Restricted(NumpyUnpickler):
        dispatch = NumpyUnpickler.dispatch.copy()

        def find_class(self, module: str, name: str) -> Any:
            return _find_allowed(source, module, name, super().find_class)

        def load_build(self) -> None:
            state, wrapper = self.stack[-1], self.stack[-2]
            if isinstance(wrapper, NumpyArrayWrapper) and getattr(state.get("dtype"), "hasobject", False):
                # joblib < 1.6 reads the pickle of an object array with a bare pickle.load: read it here.
                self.stack.pop()
                self.stack[-1] = ObjectArrays(self.file_handle).load()
                return
            super().load_build()

        dispatch[pickle.BUILD[0]] = load_build

    return Restricted(str(source), data, ensure_native_byte_order=True)


def load_restricted_pickle(path: Path) -> Any:
    """The object in a pickle or joblib file at `path`; raises `RefusedPickleError` for a global
    outside `ALLOWED_GLOBALS` (and whatever unpickling a corrupt file raises)."""
    raw = Path(path).read_bytes()
    for magic, decompress in _DECOMPRESSORS:
        if raw.startswith(magic):
            raw = decompress(raw)
            break
    return _restricted_unpickler(Path(path), io.BytesIO(raw)).load()
