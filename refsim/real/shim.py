"""The C shim of ``refsim real hardware``, built with cffi the first time it is needed.

The C source (``shim.c`` beside this module) is compiled into a per-user cache directory
(``$XDG_CACHE_HOME/refsim``, else ``~/.cache/refsim``; ``%LOCALAPPDATA%\\refsim`` on
Windows; ``~/Library/Caches/refsim`` on macOS), never into the package, in a directory
named by a hash of the C source, the interface and the interpreter (its version, ABI tag
and extension suffix, the CPU and cffi's version): a new refsim or another Python builds
its own copy, and the same ones reuse it. A build goes into a fresh temporary directory
that is renamed into place once whole, so a build cut short leaves nothing that a later
run would load.

Without cffi (the ``real`` extra), a C compiler or Python's headers, :func:`load` raises
:class:`ShimUnavailable` with what to install; the command prints it and exits 2.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shutil
import sys
import sysconfig
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from refsim.errors import RefsimError

__all__ = ["CDEF", "Shim", "ShimUnavailable", "cache_root", "compiler", "load"]

CDEF = """
int refsim_has_add(void);
void refsim_race(int kind, int64_t *word, int64_t n, int32_t *gate, int32_t parties,
                 int64_t *span);
"""
"""The functions Python calls. cffi releases the GIL around each call to a function
declared here: that is what lets two Python threads run the race at the same time."""

PLAIN, ADD, ATOMIC = 0, 1, 2
"""The ``kind`` argument of ``refsim_race``."""


class ShimUnavailable(RefsimError):
    """The shim cannot be built here; the message says what is missing."""


class Shim:
    """The built shim: ``ffi`` (to allocate C memory) and ``lib`` (its functions)."""

    def __init__(self, ffi: Any, lib: Any) -> None:
        self.ffi = ffi
        self.lib = lib

    @property
    def has_add(self) -> bool:
        """Whether this CPU has a single add-to-memory instruction (x86 does; arm64 does
        not: it loads, adds and stores in three instructions)."""
        return bool(self.lib.refsim_has_add())


def _source() -> str:
    return resources.files("refsim.real").joinpath("shim.c").read_text(encoding="utf-8")


def cache_root() -> Path:
    """Where refsim keeps what it builds for this user."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "refsim"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "refsim"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "refsim"


def compiler() -> str | None:
    """The C compiler setuptools will run (``$CC``, else the one Python was built with),
    as a command name; ``None`` when the platform does not say (Windows: MSVC)."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC")
    if not cc:
        return None
    return str(cc).split()[0]


def _key(cffi_version: str) -> str:
    parts = [
        _source(),
        CDEF,
        sys.version,
        sys.implementation.cache_tag or "",
        str(sysconfig.get_config_var("EXT_SUFFIX")),
        platform.machine(),
        cffi_version,
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _import(directory: Path, name: str) -> Any:
    suffix = str(sysconfig.get_config_var("EXT_SUFFIX") or ".so")
    found = sorted(directory.glob(f"{name}*{suffix}"))
    if not found:
        raise ShimUnavailable(f"the shim's build in {directory} has no {name}{suffix}")
    spec = importlib.util.spec_from_file_location(name, found[0])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_loaded: dict[Path, Shim] = {}


def load(root: Path | None = None) -> Shim:
    """The shim, built into ``root`` (default :func:`cache_root`) the first time."""
    try:
        import cffi
    except ImportError:
        raise ShimUnavailable(
            "refsim real hardware builds a small C shim with cffi, which is not installed: "
            'install the `real` extra (pip install -e ".[real]" in a clone, or '
            "pip install cffi)"
        ) from None
    root = cache_root() if root is None else root
    key = _key(cffi.__version__)
    name = f"_refsim_shim_{key}"
    target = root / f"shim-{key}"
    if target in _loaded:
        return _loaded[target]
    if not target.is_dir():
        _build(cffi, root, target, name)
    module = _import(target, name)
    shim = Shim(module.ffi, module.lib)
    _loaded[target] = shim
    return shim


def _build(cffi: Any, root: Path, target: Path, name: str) -> None:
    cc = compiler()
    if cc is not None and shutil.which(cc) is None:
        raise ShimUnavailable(
            f"refsim real hardware compiles a small C shim at first use, and found no C "
            f"compiler: `{cc}` is not on PATH (it is $CC, or the compiler Python was built "
            "with). Install one (Debian/Ubuntu: apt install gcc python3-dev; Fedora: dnf "
            "install gcc python3-devel; macOS: xcode-select --install), or set CC to one."
        )
    if importlib.util.find_spec("setuptools") is None:
        raise ShimUnavailable(
            "refsim real hardware compiles a small C shim with cffi, which builds through "
            "setuptools, and setuptools is not installed (Python 3.12 and later do not bring "
            "it): install the `real` extra again, or pip install setuptools"
        )
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    flags = [] if sys.platform == "win32" else ["-O2"]
    ffi.set_source(name, _source(), extra_compile_args=flags)
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    except OSError as error:
        raise ShimUnavailable(
            f"cannot create the shim's build directory in {root}: {error}"
        ) from None
    try:
        try:
            ffi.compile(tmpdir=str(work), verbose=False)
        except Exception as error:  # cffi wraps setuptools' compile and link errors
            last = str(error).strip().splitlines()[-3:]
            raise ShimUnavailable(
                "refsim real hardware could not compile its C shim: "
                + " / ".join(line.strip() for line in last)
                + " (it needs a C compiler and Python's headers: Debian/Ubuntu: apt install "
                "gcc python3-dev)"
            ) from None
        for leftover in work.glob(f"{name}.[co]"):  # keep the built module only
            leftover.unlink()
        try:
            work.rename(target)
        except OSError:
            if not target.is_dir():  # another run may have built it meanwhile
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
