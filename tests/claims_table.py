"""The one reading of ``expect:`` as a table, shared by every command's tests.

Each row is a file (a program, its ``runtime:`` and its ``expect:``) and, written out by
hand for each of the six runtimes, what that runtime is held to and the verdict: the
rule of docs/cli.md ("Claims") applied once, here, so that every command's test holds
the command to the same answers and no two commands can read one file differently.

What a command can show depends on what it looks at (``refsim.claims.Basis``):
``check``, ``explore``, the story and ``compare`` see every interleaving, so a claimed
kind that nothing reaches fails them; one run (``run``, ``play``) or a search only shows
what happens. :func:`expected_status` says, for a command, the exit status a row gives.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from unittest import mock

from refsim.cli import main
from refsim.model import AnomalyKind, Runtime

__all__ = [
    "FILES",
    "PAIRS",
    "REACHABLE",
    "Basis",
    "File",
    "Held",
    "expected_status",
    "ids",
    "judge",
    "run",
    "write",
]

UNSAFE, GIL, ATOMIC = Runtime.UNSAFE, Runtime.GIL, Runtime.ATOMIC
FREE_THREADED, PYPY, JYTHON = Runtime.FREE_THREADED, Runtime.PYPY, Runtime.JYTHON
LEAK, LOST = AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE

PROGRAMS = {
    # Two `counter += 1`: three bytecodes each, so lost-update under every runtime.
    "counter": "variables: {counter: 0}\nthreads:\n  T1: [counter += 1]\n  T2: [counter += 1]\n",
    # Two decrefs of one object: lost-update and leak, under unsafe only.
    "decrefs": "objects: {obj: 2}\nthreads:\n  T1: [decref obj]\n  T2: [decref obj]\n",
    # The counter under a lock: nothing, anywhere.
    "locked": "variables: {counter: 0}\nlocks: [L]\nthreads:\n"
    "  T1: [acquire L, counter += 1, release L]\n  T2: [acquire L, counter += 1, release L]\n",
}

REACHABLE: dict[str, dict[Runtime, frozenset[AnomalyKind]]] = {
    "counter": dict.fromkeys(Runtime, frozenset({LOST})),
    "decrefs": {r: frozenset({LEAK, LOST} if r is UNSAFE else ()) for r in Runtime},
    "locked": dict.fromkeys(Runtime, frozenset()),
}
"""The anomaly kinds some interleaving reaches, by program and runtime (MODEL.md)."""


class Held(Enum):
    """What one runtime of a file is held to, and how that comes out."""

    HOLDS = "holds"
    """Held to a list, and the reachable kinds are exactly the list."""
    UNEXPECTED = "unexpected"
    """Held to a list, and a kind outside it is reachable."""
    MISSING = "missing"
    """Held to a list, nothing outside it is reachable, but a listed kind is not."""
    FREE = "not checked"
    """Not named in ``expect:`` and not the file's runtime."""


@dataclass(frozen=True)
class File:
    """A scenario file, and the verdict of each runtime, by hand."""

    id: str
    program: str
    runtime: Runtime
    expect: dict[Runtime, tuple[AnomalyKind, ...]] | None
    held: dict[Runtime, Held]

    def text(self) -> str:
        lines = [f"name: {self.id.replace('-', '_')}", f"runtime: {self.runtime.value}"]
        text = "\n".join(lines) + "\n" + PROGRAMS[self.program]
        if self.expect is not None:
            text += "expect:\n" + "".join(
                f"  {r.value}: [{', '.join(k.value for k in kinds)}]\n"
                for r, kinds in self.expect.items()
            )
        return text

    @property
    def fails(self) -> bool:
        """A check of the whole file fails: some runtime it holds does not hold."""
        return any(h in (Held.UNEXPECTED, Held.MISSING) for h in self.held.values())


def _rest(**held: Held) -> dict[Runtime, Held]:
    """Every runtime not given is not checked."""
    named = {Runtime(name.replace("_", "-")): h for name, h in held.items()}
    return {r: named.get(r, Held.FREE) for r in Runtime}


H, U, M = Held.HOLDS, Held.UNEXPECTED, Held.MISSING

FILES = [
    # Issue 19's file: the file's own runtime is held to "no anomaly" when not named.
    File("own-runtime-unnamed", "counter", GIL, {UNSAFE: (LOST,)}, _rest(unsafe=H, gil=U)),
    # No expect: at all: the file's runtime is held to "no anomaly", nothing else is.
    File("no-claims-racy", "decrefs", UNSAFE, None, _rest(unsafe=U)),
    File("no-claims-safe", "decrefs", GIL, None, _rest(gil=H)),
    # Every runtime named.
    File(
        "all-named",
        "decrefs",
        UNSAFE,
        {UNSAFE: (LEAK, LOST), GIL: (), ATOMIC: (), FREE_THREADED: (), PYPY: (), JYTHON: ()},
        _rest(unsafe=H, gil=H, atomic=H, free_threaded=H, pypy=H, jython=H),
    ),
    # A claimed kind that nothing reaches.
    File("claims-too-much", "locked", UNSAFE, {UNSAFE: (LOST,), GIL: ()}, _rest(unsafe=M, gil=H)),
    # The file's runtime named, with a list that is wrong; another named and right.
    File(
        "own-runtime-named",
        "counter",
        ATOMIC,
        {ATOMIC: (), JYTHON: (LOST,)},
        _rest(atomic=U, jython=H),
    ),
    # A named runtime that reaches more than it lists; the file's own, unnamed, is fine.
    File(
        "lists-too-little",
        "decrefs",
        FREE_THREADED,
        {UNSAFE: (LEAK,)},
        _rest(unsafe=U, free_threaded=H),
    ),
    File("nothing-reached", "decrefs", PYPY, {PYPY: (LEAK,)}, _rest(pypy=M)),
]

PAIRS = [(f, r) for f in FILES for r in Runtime]
"""Every (file, runtime judged) of the table."""


class Basis(Enum):
    """What a command looks at, which decides what it can show."""

    EVERY = "every interleaving, one runtime"  # explore --runtime R
    FILE = "every interleaving, every runtime held"  # check, the story, compare
    ONE_RUN = "one run"  # run, play
    SEARCH = "a search"  # search


def expected_status(file: File, runtime: Runtime | None, basis: Basis) -> int:
    """The exit status a command of ``basis`` gives for ``file`` judged under ``runtime``
    (``None`` for the file-wide commands), when its run reaches every reachable kind."""
    if basis is Basis.FILE:
        return 1 if file.fails else 0
    assert runtime is not None
    held = file.held[runtime]
    if basis is Basis.EVERY:
        return 1 if held in (Held.UNEXPECTED, Held.MISSING) else 0
    if held is Held.UNEXPECTED:
        return 1
    if basis is Basis.SEARCH and held is Held.MISSING and not REACHABLE[file.program][runtime]:
        return 3  # the claims say something can happen; the search did not show it
    return 0


def write(folder: Path, file: File) -> str:
    """Write ``file`` into ``folder``; its path."""
    path = folder / f"{file.id}.yaml"
    path.write_text(file.text(), encoding="utf-8")
    return str(path)


def ids(pair: tuple[File, Runtime]) -> str:
    return f"{pair[0].id}-{pair[1].value}"


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    """``refsim ARGV...`` in-process: its exit status and standard output."""
    out = io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(io.StringIO()),
        mock.patch("sys.stdin", io.StringIO(stdin)),
    ):
        status = main(list(argv))
    return status, out.getvalue()


def judge(
    folder: Path, pair: tuple[File, Runtime], command: str, *options: str, stdin: str = ""
) -> tuple[int, str]:
    """``refsim COMMAND FILE --runtime R OPTIONS...`` for one (file, runtime) of the table,
    the file written into ``folder``: the exit status and standard output."""
    file, runtime = pair
    return run(command, write(folder, file), "--runtime", runtime.value, *options, stdin=stdin)
