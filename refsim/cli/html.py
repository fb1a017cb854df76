"""``refsim html FILE -o OUT``: the story of a scenario as one self-contained page;
``refsim html --all -o DIR``: a page for every bundled scenario, and an index.

:func:`refsim.story.gather` tells the story, :func:`refsim.page.gather` adds each
process's state graph and the figure, :mod:`refsim.render.html` writes the page. The exit
status is the story's: 0 when the scenario agrees with its claims, 1 when a claim fails,
3 when one could not be decided (the page is written in every case).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from refsim import __version__
from refsim.budget import Meter
from refsim.bundled import bundled_scenarios
from refsim.cli.budget import add_budget, budget_of
from refsim.cli.common import (
    EXIT_BUDGET,
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    add_limits,
    add_runtime,
    load,
    shown,
    whole,
)
from refsim.cli.output import check_output, write_output
from refsim.graph import MAX_STATES
from refsim.model import Runtime
from refsim.page import Page, gather
from refsim.render.html import index_page, page_html
from refsim.render.text import first_sentence
from refsim.story import gather as tell

__all__ = ["COMMAND"]

MAKER = f"refsim {__version__}"


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", metavar="FILE", nargs="?",
        help="a scenario file, or a bundled scenario's name (not with --all)",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", metavar="OUT", required=True,
        help="the page to write (with --all: the folder, made if need be)",
    )  # fmt: skip
    p.add_argument(
        "--all", action="store_true",
        help="a page for every bundled scenario, and index.html listing them",
    )  # fmt: skip
    add_runtime(p)
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.add_argument(
        "--max-states", type=whole(), default=MAX_STATES, metavar="N",
        help=f"the most states a page's game may hold (default {MAX_STATES:,}); past it the "
        "page steps through the witnesses only",
    )  # fmt: skip
    add_budget(p, per="each page")
    add_limits(p)


def _status(pages: list[Page]) -> int:
    verdicts = [page.story.agrees for page in pages]
    if False in verdicts:
        return EXIT_DISAGREES
    return EXIT_BUDGET if None in verdicts else EXIT_OK


def _what(page: Page) -> str:
    """``31 states to play`` or why the game is not there, for the line that says so."""
    parts = page.parts
    if all(part.graph.complete for part in parts):
        states = sum(len(part.graph.nodes) for part in parts)
        return f"{states:,} state{'s' if states != 1 else ''} to play"
    return f"over {page.max_states:,} states: witnesses only"


def _write(path: str, text: str, force: bool) -> None:
    data = text.encode("utf-8")

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    write_output(path, write, force=force)


def _one(args: argparse.Namespace, out: TextIO) -> int:
    check_output(args.output, force=args.force, option="-o")
    scenario, file = load(args.file, args)
    runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
    page = gather(tell(scenario, file, runtime, meter=args.meter), max_states=args.max_states)
    text = page_html(page, maker=MAKER)
    _write(args.output, text, args.force)
    size = len(text.encode("utf-8"))
    out.write(f"wrote {shown(args.output)}: {_what(page)}, {size / 1e6:.2f} MB\n")
    return _status([page])


def _site(args: argparse.Namespace, out: TextIO) -> int:
    folder = Path(args.output)
    try:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"-o {args.output}: is a file; --all writes a folder of pages")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"-o {args.output}: cannot make the folder: {error.strerror}") from None
    files = bundled_scenarios()
    names = [f"{path.stem}.html" for path in files] + ["index.html"]
    # Refuse before writing anything: a site is written whole or not at all.
    for name in names:
        check_output(str(folder / name), force=args.force, option="-o")
    pages, entries = [], []
    for path in files:
        scenario, file = load(path.stem, args)
        runtime = Runtime(args.runtime) if args.runtime else scenario.runtime
        # Each page has the whole budget: a site is many commands' work, not one's.
        meter = Meter(budget_of(args), on_progress=args.meter.on_progress)
        page = gather(tell(scenario, file, runtime, meter=meter), max_states=args.max_states)
        _write(str(folder / f"{path.stem}.html"), page_html(page, maker=MAKER), args.force)
        out.write(f"wrote {shown(str(folder / f'{path.stem}.html'))}: {_what(page)}\n")
        pages.append(page)
        entries.append((f"{path.stem}.html", scenario.name, first_sentence(scenario.description)))
    _write(str(folder / "index.html"), index_page(entries, maker=MAKER), args.force)
    out.write(f"wrote {shown(str(folder / 'index.html'))}: the index of {len(files)} pages\n")
    return _status(pages)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.all and args.file is not None:
        raise UsageError("--all writes every bundled scenario: give FILE or --all, not both")
    if not args.all and args.file is None:
        raise UsageError("give a scenario FILE (or a bundled scenario's name), or --all")
    return _site(args, out) if args.all else _one(args, out)


COMMAND = Command(_arguments, _execute)
