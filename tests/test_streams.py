"""Standard output and error (refsim.cli.streams): any encoding, any path bytes, and a
reader that leaves early."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from cli_runner import repo_root  # noqa: F401 (a fixture)

from refsim.cli import main
from refsim.cli.streams import ERRORS, EXIT_BROKEN_PIPE

ROOT = Path(__file__).parent.parent

# -- what a stream cannot encode ------------------------------------------------------------

STAND_INS = [
    ("leak, lost-update · obj = 1", "ascii", b"leak, lost-update - obj = 1"),
    ("5.72 × 10⁷⁹ interleavings", "ascii", b"5.72 x 10^79 interleavings"),
    ("… (10 ops in all)", "ascii", b"... (10 ops in all)"),
    ("a GIL hand-off takes 5µs", "ascii", b"a GIL hand-off takes 5us"),
    ("LOAD → SUB ≤ 3", "ascii", b"LOAD -> SUB <= 3"),
    (
        "an escape ␛[2J, a bell ␇, a NUL ␀, a delete ␡",
        "ascii",
        b"an escape ^[[2J, a bell ^G, a NUL ^@, a delete ^?",
    ),
    ("a C1 \ufffd", "ascii", b"a C1 ?"),
    ("naïve café", "ascii", b"naive cafe"),
    ("中文", "ascii", b"??"),
    # A byte of a path that is not UTF-8 (a lone surrogate) never goes out raw.
    ("l\udcff.yaml", "utf-8", "l\ufffd.yaml".encode()),
    ("l\udcff.yaml", "ascii", b"l?.yaml"),
    ("l\udcff.yaml", "latin-1", b"l?.yaml"),
    # What the encoding takes is left alone.
    ("5µs · 3×", "latin-1", "5µs · 3×".encode("latin-1")),
]


@pytest.mark.parametrize(("text", "encoding", "expected"), STAND_INS)
def test_what_a_stream_cannot_encode_gets_a_stand_in(
    text: str, encoding: str, expected: bytes
) -> None:
    assert expected == text.encode(encoding, ERRORS)


@contextlib.contextmanager
def streams(encoding: str, errors: str = "strict") -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    """Standard output and error as a terminal of ``encoding`` would have them."""
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding=encoding, errors=errors, write_through=True)
    stderr = io.TextIOWrapper(err, encoding=encoding, errors=errors, write_through=True)
    try:
        with mock.patch("sys.stdout", stdout), mock.patch("sys.stderr", stderr):
            yield out, err
    finally:
        for wrapper in (stdout, stderr):  # leave the bytes readable when it goes
            wrapper.flush()
            wrapper.detach()


ASCII_COMMANDS = [
    ("leak",),
    ("cpu_bound", "--brief"),
    ("run", "leak"),
    ("run", "io_then_transform", "--timed"),
    ("run", "leak", "--quiz"),
    ("run", "leak", "--quantum", "1..3"),
    ("explore", "leak"),
    ("explore", "double_free", "--max-states", "50", "--sample", "100"),
    ("compare", "leak"),
    ("check", "leak", "counter"),
    ("search", "leak"),
    ("play", "leak", "--quantum", "2"),
    ("list",),
    ("validate", "leak"),
    ("validate", "docs/examples/escape_in_name.yaml"),
]
"""Issue 19: under PYTHONIOENCODING=ascii, `run`, `explore`, `compare` and the story
crashed on their first `·`."""


@pytest.mark.usefixtures("repo_root")
@pytest.mark.parametrize("argv", ASCII_COMMANDS, ids=" ".join)
def test_every_command_writes_to_an_ascii_stream(argv: tuple[str, ...]) -> None:
    with streams("ascii") as (out, err), mock.patch("sys.stdin", io.StringIO("a\n")):
        status = main(list(argv))
    text = out.getvalue().decode("ascii") + err.getvalue().decode("ascii")
    assert (True, [], False) == (
        status in (0, 1, 2),
        [line for line in out.getvalue().decode().splitlines() if len(line) > 80],
        "Traceback" in text,
    )


@pytest.mark.usefixtures("repo_root")
def test_an_ascii_story_reads_as_the_story() -> None:
    with streams("ascii") as (out, _):
        main(["leak", "--brief"])
    assert "leak, lost-update - obj = 1             18  90.0%" in out.getvalue().decode()


# -- paths that are not UTF-8 -----------------------------------------------------------------


def _subprocess(*argv: bytes | str, cwd: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONIOENCODING")}
    return subprocess.run(
        [sys.executable, "-m", "refsim", *argv],
        cwd=cwd, capture_output=True, env={**environ, **env}, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_a_path_with_a_byte_that_is_not_utf8_is_written_and_named(tmp_path: Path) -> None:
    """Issue 19: such a path crashed `plot -o` (matplotlib TypeError: the scenario's name,
    its file's stem, went into the figure's title) and `run --trace-out`
    (UnicodeEncodeError, printing the path)."""
    pytest.importorskip("matplotlib")
    text = (ROOT / "scenarios" / "leak.yaml").read_text(encoding="utf-8")
    unnamed = "\n".join(line for line in text.splitlines() if not line.startswith("name:"))
    (tmp_path / os.fsdecode(b"l\xff.yaml")).write_text(unnamed, encoding="utf-8")
    results = [
        _subprocess(
            "plot", b"l\xff.yaml", "-o", b"o\xff.png", cwd=tmp_path, PYTHONIOENCODING="utf-8"
        ),
        _subprocess(
            "run",
            b"l\xff.yaml",
            "--trace-out",
            b"t\xff.json",
            cwd=tmp_path,
            PYTHONIOENCODING="utf-8",
        ),
        _subprocess("run", b"l\xff.yaml", cwd=tmp_path, PYTHONIOENCODING="ascii"),
    ]
    statuses = [r.returncode for r in results]
    assert [0, 0, 0] == statuses, [r.stderr[-300:] for r in results]
    said = [r.stdout + r.stderr for r in results]
    assert [False] * 3 == [b"Traceback" in s or b"\xff" in s for s in said]
    assert b"wrote o\xef\xbf\xbd.png: l\xef\xbf\xbd under unsafe" in said[0]
    assert b"wrote t\xef\xbf\xbd.json" in said[1]
    assert {"l\udcff.yaml", "o\udcff.png", "t\udcff.json"} == {p.name for p in tmp_path.iterdir()}


# -- a reader that leaves -------------------------------------------------------------------


class _Closed(io.StringIO):
    """A pipe whose reader has gone: every write fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.usefixtures("repo_root")
@pytest.mark.parametrize("argv", [("explore", "leak"), ("explore", "leak", "--json"), ("leak",)])
def test_a_reader_that_leaves_ends_the_run_quietly_with_141(argv: tuple[str, ...]) -> None:
    err = io.StringIO()
    with mock.patch("sys.stdout", _Closed()), mock.patch("sys.stderr", err):
        status = main(list(argv))
    assert (EXIT_BROKEN_PIPE, "") == (status, err.getvalue())


@pytest.mark.slow
@pytest.mark.parametrize("argv", [("explore", "leak"), ("explore", "leak", "--json")])
def test_text_and_json_end_the_same_way_in_a_closed_pipe(argv: tuple[str, ...]) -> None:
    """Issue 19: the status was 1 for text and 0 for --json. The reader is gone before
    refsim writes, so the first write fails, whatever the output's size."""
    process = subprocess.Popen(
        [sys.executable, "-m", "refsim", *argv], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    status = process.wait(timeout=120)
    assert (EXIT_BROKEN_PIPE, b"") == (status, process.stderr.read())
