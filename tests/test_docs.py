"""Every example in README.md and docs/ runs, and prints what the page says it prints.

A page shows a command as a ```console block whose first line is ``$ refsim ...`` or
``$ python -m refsim ...`` (or ``$ printf '...' | refsim ...``, whose text is the
command's standard input; or ``$ COLUMNS=20 refsim ...``, whose variables are set for
it); the lines after it are the expected output (stdout, then stderr).
``pytest --update-goldens`` rewrites the blocks from the real output; review the diff
before committing (``-k PAGE`` limits it to one page, e.g. ``-k 03-lost-updates``).

Every ```python block runs too, in a fresh namespace, from a scratch folder that sees the
repository's ``scenarios/`` and ``docs/`` (so an example may write files); each
``test_*`` function it defines is then called. Code that is not meant to run goes in a
```text (or ```c, ```console) block.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path
from unittest import mock

import pytest
from cli_runner import repo_root  # noqa: F401 (a fixture)

from refsim.cli import main

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
BLOCK = re.compile(r"```console\n\$ (?P<command>[^\n]*)\n(?P<output>.*?)```", re.DOTALL)
PYTHON = re.compile(r"```python\n(?P<code>.*?)```", re.DOTALL)
PREFIXES = (("python", "-m", "refsim"), ("refsim",))
VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*=\S*")
"""A variable set for one command (``COLUMNS=20`` in ``COLUMNS=20 refsim ...``)."""
VARIABLES = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")


def run_example(command: str) -> str:
    stdin = ""
    if command.startswith("printf "):
        feed, _, command = command.partition(" | ")
        stdin = shlex.split(feed)[1].replace("\\n", "\n")
    words = shlex.split(command)
    environ = {}
    while words and VARIABLE.fullmatch(words[0]):
        name, _, value = words.pop(0).partition("=")
        environ[name] = value
    for prefix in PREFIXES:
        if tuple(words[: len(prefix)]) == prefix:
            argv = words[len(prefix) :]
            break
    else:
        raise AssertionError(f"not a refsim command: {command}")
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        mock.patch("sys.stdin", io.StringIO(stdin)),
        mock.patch.dict(os.environ, environ),
    ):
        main(argv)
    return out.getvalue() + err.getvalue()


def examples() -> list[tuple[Path, str]]:
    found = []
    for page in PAGES:
        for match in BLOCK.finditer(page.read_text(encoding="utf-8")):
            command = match["command"].partition(" | ")[2] or match["command"]
            command = VARIABLES.sub("", command)
            if command.startswith(("refsim", "python -m refsim")):
                found.append((page, match["command"]))
    return found


pytestmark = pytest.mark.usefixtures("repo_root")


def test_there_are_examples() -> None:
    pages = {page.name for page, _ in examples()}
    assert {"README.md", "cli.md"} <= pages


@pytest.mark.parametrize(
    ("page", "command"), examples(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_example(page: Path, command: str, request: pytest.FixtureRequest) -> None:
    text = page.read_text(encoding="utf-8")
    actual = run_example(command)
    blocks = [m for m in BLOCK.finditer(text) if m["command"] == command]
    if request.config.getoption("--update-goldens"):
        for match in reversed(blocks):
            text = text[: match.start("output")] + actual + text[match.end("output") :]
        page.write_text(text, encoding="utf-8")
        return
    for match in blocks:
        assert match["output"] == actual, f"{page.name}: `{command}` prints something else now"


def python_examples() -> list[tuple[Path, int, str]]:
    found = []
    for page in PAGES:
        for number, match in enumerate(PYTHON.finditer(page.read_text(encoding="utf-8")), 1):
            found.append((page, number, match["code"]))
    return found


@pytest.mark.parametrize(
    ("page", "number", "code"),
    python_examples(),
    ids=[f"{page.name}-{number}" for page, number, _ in python_examples()],
)
def test_python_example(
    page: Path, number: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("scenarios", "docs"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"{page.stem}_example_{number}"}
    exec(compile(code, f"{page.name} (python block {number})", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    for test in tests:
        assert callable(test)
        test()


def test_no_output_ends_a_line_with_spaces() -> None:
    """Output (and so the goldens and the pages) survives editors that trim whitespace."""
    texts = [(p.name, m["output"]) for p in PAGES for m in BLOCK.finditer(p.read_text("utf-8"))]
    texts += [(p.name, p.read_text("utf-8")) for p in (ROOT / "tests" / "golden").glob("*.txt")]
    padded = [
        name for name, text in texts if any(line != line.rstrip() for line in text.splitlines())
    ]
    assert [] == padded
