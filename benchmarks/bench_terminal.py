"""Benchmark: what a hostile file and a narrow terminal cost.

1. **Many mistakes.** A 900 KB file holding 300,000 unknown ops (issue 19: it printed
   53 MB of errors over 25 s). refsim loads it and reports it (the first 100 mistakes and
   a line for the rest) against the floor: PyYAML's safe parser reading the same text
   into events, which any YAML loader pays before it can say anything.
2. **Tables that fit.** A run of 2,000 micro-steps printed as refsim prints it (its trace
   table laid out to fit, refsim.render.fit) at 80 and at 20 columns (a block per step),
   against the floor: rich printing the same rows as one plain table at 80 columns.

    python benchmarks/bench_terminal.py [--mistakes 300000] [--steps 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import sys

import yaml
from floor import best
from rich.console import Console
from rich.table import Table

from refsim.cli.common import print_scenario_error
from refsim.cli.console import console
from refsim.engine import run
from refsim.errors import ScenarioError
from refsim.loader import Limits, load_text
from refsim.report import print_trace


def _mistakes(count: int) -> str:
    return "threads:\n  T1: [" + ", ".join(["x"] * count) + "]\n"


def _report(text: str) -> int:
    """Load ``text`` (it fails) and report it as `refsim validate` does; bytes written."""
    err = io.StringIO()
    try:
        load_text(text, filename="many.yaml", limits=Limits(max_bytes=len(text) + 1))
    except ScenarioError as error:
        print_scenario_error(error, err)
    return len(err.getvalue().encode())


def _parse(text: str) -> None:
    for _ in yaml.parse(text, Loader=yaml.SafeLoader):
        pass


def mistakes(count: int, repeat: int) -> None:
    text = _mistakes(count)
    floor = best(lambda: _parse(text), repeat)
    refsim = best(lambda: _report(text), repeat)
    size = _report(text)
    print(f"{count:,} mistakes in {len(text):,} bytes:")
    print(f"  floor (PyYAML's safe parser, events only)  {floor:8.2f} s")
    print(f"  refsim load and report                     {refsim:8.2f} s  {refsim / floor:.2f}x")
    print(f"  report size                                {size:,} bytes")


def _counter(steps: int) -> str:
    ops = ", ".join(["counter += 1"] * (steps // 6))
    return f"name: long\nvariables: {{counter: 0}}\nthreads:\n  T1: [{ops}]\n  T2: [{ops}]\n"


def _plain(rows: list[tuple[str, ...]], out: io.StringIO) -> None:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("step", "thread", "op", "micro-step", "register", "value"):
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    Console(file=out, width=80, markup=False, emoji=False, highlight=False).print(table)


def tables(steps: int, repeat: int) -> None:
    scenario = load_text(_counter(steps))
    result = run(scenario, seed=0)
    assert result.trace is not None
    rows = [
        (str(e.step), e.thread, e.op, e.micro, str(e.register), str(e.value)) for e in result.trace
    ]
    floor = best(lambda: _plain(rows, io.StringIO()), repeat)
    print(f"a trace table of {result.steps:,} micro-steps:")
    print(f"  floor (rich, one plain table, 80 columns)  {floor:8.3f} s")
    for width in (80, 20):
        os.environ["COLUMNS"] = str(width)
        took = best(lambda: print_trace(console(io.StringIO()), scenario, result), repeat)
        print(f"  refsim at {width} columns{' ' * 21}{took:8.3f} s  {took / floor:.2f}x")
    del os.environ["COLUMNS"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mistakes", type=int, default=300_000)
    parser.add_argument("--steps", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    mistakes(args.mistakes, args.repeat)
    tables(args.steps, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
