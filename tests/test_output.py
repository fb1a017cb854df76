"""Files refsim writes (refsim.cli.output): only regular files, never half written, never
left behind, not even by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import refsim

from refsim.cli.output import partial_files, write_output

ROOT = Path(__file__).parent.parent
LEAK = str(ROOT / "scenarios" / "leak.yaml")

WRITERS = [
    ("plot", LEAK, "-o"),
    ("run", LEAK, "--trace-out"),
    ("story", LEAK, "--plot"),
    ("compare", LEAK, "--plot"),
]
"""Every command that writes a file, and the option that names it."""


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Sockets bound to a name, closed after the test."""
    bound: list[socket.socket] = []
    yield bound
    for server in bound:
        server.close()


def _special(kind: str, path: Path, sockets: list[socket.socket]) -> Path:
    """A file that is not a regular file at ``path``: a FIFO or a socket; or /dev/null."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        sockets.append(server)
    else:
        return Path(os.devnull)
    return path


def _kind(path: Path) -> int:
    return stat.S_IFMT(path.stat().st_mode)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
@pytest.mark.parametrize(("command", "file", "option"), WRITERS, ids=lambda v: str(v))
def test_nothing_but_a_regular_file_is_written_over(
    command: str,
    file: str,
    option: str,
    kind: str,
    force: bool,
    tmp_path: Path,
    sockets: list[socket.socket],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 19: `-o /dev/null --force` (as root) replaced the device with a file."""
    pytest.importorskip("matplotlib")
    name = "out.json" if option == "--trace-out" else "out.png"
    path = _special(kind, tmp_path / name, sockets)
    before = _kind(path)
    status, _, err = refsim(capsys, command, file, option, str(path), *(["--force"] * force))
    assert (2, True, before) == (status, "not a regular file" in err, _kind(path))


def test_the_refusal_says_what_the_file_is(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = refsim(capsys, "run", LEAK, "--trace-out", os.devnull, "--force")
    expected = (
        "error: --trace-out /dev/null: is a character device, not a regular file; refsim "
        "writes only regular files (--force replaces a file, never a device, pipe or socket)\n"
    )
    assert (2, expected) == (status, err)


@pytest.mark.parametrize(("command", "file", "option"), WRITERS, ids=lambda v: str(v))
def test_a_name_ending_in_a_slash_is_a_folder(
    command: str, file: str, option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: `--trace-out x.json/` wrote a file named x.json."""
    name = "x.json/" if option == "--trace-out" else "x.png/"
    status, _, err = refsim(capsys, command, file, option, f"{tmp_path}/{name}")
    expected = "a name that ends in / names a folder, and there is none: give a file name "
    assert (2, True, []) == (status, expected in err, list(tmp_path.iterdir()))


def test_a_folder_named_with_its_slash_is_refused_as_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.json").mkdir()
    status, _, err = refsim(capsys, "run", LEAK, "--trace-out", f"{tmp_path}/x.json/")
    assert (2, True) == (status, err.endswith("x.json/: is a folder; give a file name\n"))


def test_a_regular_file_is_still_replaced_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.json"
    out.write_text("old")
    assert 0 == refsim(capsys, "run", LEAK, "--seed", "2", "--trace-out", str(out), "--force")[0]
    assert out.read_text().startswith("{")


def test_a_file_turned_into_a_fifo_while_it_was_drawn_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out.png"

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"whole")
        os.mkfifo(out)  # the name became a FIFO after the check

    with pytest.raises(Exception, match="not a regular file"):
        write_output(str(out), write, force=True)
    assert (True, [out]) == (stat.S_ISFIFO(out.stat().st_mode), list(tmp_path.iterdir()))


# -- SIGTERM --------------------------------------------------------------------------------

_TERMINATED_WHILE_WRITING = textwrap.dedent(
    """
    import os, signal, sys, time
    import refsim.plot

    save = refsim.plot.save_figure

    def save_then_terminated(fig, path):
        save(fig, path)
        os.kill(os.getpid(), signal.{signal})  # what `kill` does, half way through
        time.sleep(30)

    refsim.plot.save_figure = save_then_terminated
    from refsim.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("force", [False, True])
def test_a_run_ended_while_it_writes_a_figure_leaves_nothing_behind(
    name: str, force: bool, tmp_path: Path
) -> None:
    """Issue 19: SIGTERM while a figure was written left `.x.png.*.png` beside it."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "x.png"
    if force:
        out.write_bytes(b"the user's")
    script = _TERMINATED_WHILE_WRITING.format(signal=name)
    argv = ["plot", LEAK, "-o", str(out), *(["--force"] * force)]
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, timeout=120, check=False
    )
    left = sorted(p.name for p in tmp_path.iterdir())
    expected = (128 + getattr(signal, name), ["x.png"] if force else [], b"")
    assert expected == (done.returncode, left, done.stderr)
    if force:
        assert b"the user's" == out.read_bytes()


def test_a_partial_file_is_known_until_it_is_in_place(tmp_path: Path) -> None:
    seen: list[frozenset[Path]] = []

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"whole")
        seen.append(partial_files())

    write_output(str(tmp_path / "out.png"), write, force=False)
    names = [[p.name for p in files] for files in seen]
    assert (1, True, frozenset()) == (
        len(names[0]), names[0][0].startswith(".out.png."), partial_files()
    )  # fmt: skip
