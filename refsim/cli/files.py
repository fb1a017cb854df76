"""``refsim validate``, ``refsim list`` and ``refsim schema``: scenario files themselves.

Only ``list`` for people imports the terminal's console (rich): ``--json``, ``schema``
and ``validate``'s line per file are written without it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from refsim.bundled import bundled_scenarios
from refsim.cli.budget import add_budget
from refsim.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    Command,
    add_limits,
    load,
    print_scenario_error,
    write_json,
)
from refsim.cli.streams import columns
from refsim.errors import SHOWN, ScenarioError, visible
from refsim.loader import json_schema, load_file
from refsim.render.words import first_sentence, plural, wrap

__all__ = ["LIST", "SCHEMA", "VALIDATE"]


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", metavar="FILE", nargs="+")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    add_budget(p)
    add_limits(p)


def _printer(out: TextIO) -> Callable[[str], None]:
    """Print a line on ``out``, wrapped to the width its output may use (plain text: a
    line per file needs no rich, so validating works wherever the files load)."""
    room = columns(out)

    def say(line: str) -> None:
        out.write("".join(f"{part}\n" for part in wrap(line, room)))

    return say


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    say = None if args.json else _printer(out)
    status = EXIT_OK
    report = []
    for file in args.files:
        try:
            scenario, _ = load(file, args)
        except ScenarioError as error:
            status = EXIT_USAGE
            listed = error.diagnostics[:SHOWN]
            errors = [str(d) for d in listed]
            diagnostics = [
                {"line": d.line, "column": d.column, "path": d.path, "message": d.message,
                 "hint": d.hint}
                for d in listed
            ]  # fmt: skip
            more = len(error.diagnostics) - len(listed)
            report.append(
                {"file": file, "ok": False, "errors": errors, "diagnostics": diagnostics,
                 "more": more}
            )  # fmt: skip
            if not args.json:
                print_scenario_error(error, err)
            continue
        report.append({"file": file, "ok": True, "errors": [], "diagnostics": [], "more": 0})
        if say is not None:
            ops = sum(len(t.ops) for t in scenario.threads)
            threads = plural(len(scenario.threads), "thread")
            say(
                f"{visible(file)}: ok ({scenario.name}: {threads}, {plural(ops, 'op')}, "
                f"runtime {scenario.runtime})"
            )
    if args.json:
        write_json(out, report)
    return status


def _list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document")


def _list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    entries = []
    for path in bundled_scenarios():
        scenario = load_file(path)
        entries.append((scenario.name, path, first_sentence(scenario.description)))
    if args.json:
        rows = [{"name": n, "file": str(p), "description": d} for n, p, d in entries]
        write_json(out, rows)
        return EXIT_OK
    from refsim.cli.console import console
    from refsim.render.text import hanging

    console(out).print(hanging([(name, description) for name, _, description in entries]))
    return EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    write_json(out, json_schema(), indent=2)
    return EXIT_OK


VALIDATE = Command(_validate_arguments, _validate)
LIST = Command(_list_arguments, _list)
SCHEMA = Command(lambda p: None, _schema)
