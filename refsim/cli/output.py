"""Files refsim writes (figures, Chrome traces): never clobbered by accident, never half
written, never left behind.

* An existing OUT is refused unless ``--force``; anything but a regular file (a folder, a
  device such as ``/dev/null``, a FIFO, a socket) is refused even with ``--force``, since
  writing a file in its place would destroy it; a name ending in ``/`` names a folder.
* The file is written beside OUT under a hidden temporary name and moved into place only
  once whole, so a failure never leaves half a file (nor destroys the user's).
* The temporary files of this process are known (:func:`partial_files`): an interrupted
  run removes them as it unwinds, and SIGTERM or SIGHUP (:func:`terminable`) removes them
  first of all, then unwinds like an interrupt.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from refsim.cli.common import UsageError

if TYPE_CHECKING:
    from refsim.model import Scenario
    from refsim.trace import RunResult

__all__ = [
    "Terminated",
    "check_output",
    "partial_files",
    "remove_partial_files",
    "terminable",
    "write_chrome_trace",
    "write_output",
]

_PARTIAL: set[Path] = set()
"""The temporary files this process is writing, not yet moved into place."""

_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (a named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _special(out: Path) -> str | None:
    """What ``out`` is when it exists and is neither a regular file nor a folder (a device,
    a FIFO, a socket); ``None`` otherwise. Follows a symbolic link, as writing would."""
    try:
        mode = out.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    return next((what for test, what in _KINDS if test(mode)), None)


def _folder_name(path: str) -> bool:
    """True for a name that ends in a path separator: it names a folder, not a file."""
    return path.endswith(("/", os.sep))


def check_output(
    path: str, *, force: bool, option: str, suffixes: Sequence[str] | None = None
) -> Path:
    """Refuse (UsageError) an OUT that refsim must not write: one that exists without
    ``force``, anything but a regular file even with it, a name ending in ``/``, one whose
    folder does not exist, or (given ``suffixes``) one whose suffix is not one of them."""
    out = Path(path)
    try:
        if _folder_name(path):
            stem = path.rstrip("/" + os.sep) or path
            if out.is_dir():
                raise UsageError(f"{option} {path}: is a folder; give a file name")
            raise UsageError(
                f"{option} {path}: a name that ends in / names a folder, and there is none: "
                f"give a file name (did you mean {stem}?)"
            )
        if out.is_dir():
            raise UsageError(f"{option} {path}: is a folder; give a file name")
        special = _special(out)
        if special is not None:
            raise UsageError(
                f"{option} {path}: is {special}, not a regular file; refsim writes only "
                f"regular files (--force replaces a file, never a device, pipe or socket)"
            )
        if suffixes is not None and out.suffix.lower() not in suffixes:
            raise UsageError(
                f"{option} {path}: a figure's name ends in {', '.join(suffixes)}, which says "
                f"what to write"
            )
        if out.exists() and not force:
            raise UsageError(f"{option} {path}: the file exists; pass --force to overwrite it")
        if out.parent.exists() and not out.parent.is_dir():
            raise UsageError(f"{option} {path}: {str(out.parent)!r} is a file, not a folder")
        if not out.parent.is_dir():
            raise UsageError(f"{option} {path}: the folder {str(out.parent)!r} does not exist")
    except OSError as error:  # a name too long, a folder we may not look into
        raise UsageError(f"{option} {path}: cannot write it: {error.strerror}") from None
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def partial_files() -> frozenset[Path]:
    """The temporary files this process is writing and has not yet moved into place."""
    return frozenset(_PARTIAL)


def remove_partial_files() -> None:
    """Remove every temporary file of this process (on SIGTERM, before anything else)."""
    for tmp in list(_PARTIAL):
        with contextlib.suppress(OSError):
            tmp.unlink()
        _PARTIAL.discard(tmp)


@contextlib.contextmanager
def _temporary(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` (so that moving it is atomic), gone afterwards,
    however this ends."""
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent)
    tmp = Path(name)
    _PARTIAL.add(tmp)
    try:
        os.close(fd)
        yield tmp
    finally:
        _PARTIAL.discard(tmp)
        tmp.unlink(missing_ok=True)


def _settle(tmp: Path, out: Path, *, force: bool) -> None:
    """Put the finished ``tmp`` at ``out``: replacing it only with ``force``, and only if
    it is (still) a regular file.

    mkstemp makes the file private (0600): it gets the mode a new file would, or keeps the
    mode of the file it replaces. Without ``force`` a hard link puts it in place only if
    the name is still free (a file created meanwhile is refused, never replaced), and
    nothing is at the name until the file is whole, so an interrupted run leaves nothing
    in the way of the next."""
    special = _special(out)
    if special is not None:  # it became one while the file was drawn
        raise OSError(0, f"it is {special}, not a regular file")
    try:
        mode = out.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    os.chmod(tmp, mode)
    if force:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: claim the name, then replace it
        os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        os.replace(tmp, out)


def write_output(
    path: str, write: Callable[[Path], None], *, force: bool, option: str = "-o"
) -> Path:
    """Write a file through ``write(tmp_path)`` and move it to ``path``, refusing what
    :func:`check_output` refuses (UsageError). Never leaves half a file."""
    out = check_output(path, force=force, option=option)
    if force and out.is_symlink():
        out = out.resolve()  # write through the link, as an editor would
    try:
        with _temporary(out) as tmp:
            write(tmp)
            _settle(tmp, out, force=force)
    except FileExistsError:
        raise UsageError(
            f"{option} {path}: the file exists; pass --force to overwrite it"
        ) from None
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot write it: {error.strerror}") from None
    return out


# -- SIGTERM and SIGHUP ----------------------------------------------------------------------


def write_chrome_trace(path: str, result: RunResult, scenario: Scenario, *, force: bool,
                       option: str = "-o") -> None:  # fmt: skip
    """Write ``result``'s Chrome trace to ``path`` (see :func:`write_output`): ``refsim plot
    -o run.json`` and ``refsim run --trace-out``."""
    from refsim.chrome_trace import dumps

    text = dumps(result, threads=scenario.thread_names)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    write_output(path, write, force=force, option=option)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` swallows it: the program unwinds (each ``finally`` runs) and
    exits with 128 + the signal's number, as a shell reports a process it ended."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_ENDING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Remove the partial files first: unwinding runs code (a figure's save may go on for
    # a while) and a second signal may not wait for it.
    remove_partial_files()
    raise Terminated(signum)


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP remove this process's partial files and raise
    :class:`Terminated`; the handlers before are restored afterwards (a test calls the
    command line in-process)."""
    previous = {}
    for signum in _ENDING:
        try:
            previous[signum] = signal.signal(signum, _terminate)
        except ValueError:  # not the main thread: signals cannot be caught here
            break
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
