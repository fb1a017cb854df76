"""``refsim course DIR``: the course's exercises, copied into DIR for a student to edit.

The exercises ship with refsim (``refsim/course/exercises`` in the wheel), so a student
who installed refsim with pip, without a clone, can follow the course: ``refsim check
exercises/03-lost-updates`` checks the exercise as shipped, and after ``refsim course
DIR`` the student edits and checks their own copy. DIR is made if need be; an existing DIR
must be empty unless ``--force``, and no file is ever overwritten without it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import TextIO

from refsim.bundled import course_files
from refsim.cli.common import EXIT_OK, Command, UsageError, shown

__all__ = ["COMMAND"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR", help="the folder to copy the exercises into")
    p.add_argument(
        "--force", action="store_true",
        help="copy into a folder that is not empty, overwriting exercises of the same name",
    )  # fmt: skip


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    folder = Path(args.folder)
    files = course_files("exercises")
    try:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{args.folder}: is a file; give a folder to copy the exercises into")
        if folder.is_dir() and any(folder.iterdir()) and not args.force:
            raise UsageError(
                f"{args.folder}: the folder is not empty; give a new or empty folder, or pass "
                f"--force to copy into it (overwriting exercises of the same name)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        for source in files:
            target = folder / source.name
            if target.is_dir():
                raise UsageError(f"{shown(str(target))}: is a folder, in the way of an exercise")
            shutil.copyfile(source, target)
    except OSError as error:
        raise UsageError(f"{args.folder}: cannot copy the exercises: {error.strerror}") from None
    first = files[0].name
    out.write(
        f"copied {len(files)} exercises into {shown(args.folder)}: edit one and check it, e.g.\n"
        f"  refsim check {shown(str(folder / first))}\n"
        f"(each file's first lines say what to change; `refsim check solutions/"
        f"{files[0].stem}` checks the solution that ships with refsim)\n"
    )
    return EXIT_OK


COMMAND = Command(_arguments, _execute)
