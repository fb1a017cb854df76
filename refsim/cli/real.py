"""``refsim real counter|hardware|gil``: measure on this machine what the model predicts,
the model's figure beside each measurement (docs/real.md).

Parsing, rendering and exit statuses only; the experiments live in :mod:`refsim.real`.
Exit status: 0 the measurements are consistent with the model; 1 one of them is something
the model says cannot happen (an atomic or locked increment lost); 2 bad usage, or the C
shim of ``hardware`` cannot be built here (no cffi, no compiler).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
from collections.abc import Iterator
from dataclasses import replace
from typing import TextIO

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from refsim.cli.common import (
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    whole,
    write_json,
)
from refsim.cli.console import console
from refsim.real import counter, gil, hardware
from refsim.real.shim import ShimUnavailable
from refsim.real.values import Progress as Tick
from refsim.real.values import Report, Row, Spread, percent
from refsim.render.fit import Fit
from refsim.schema import parse_duration

__all__ = ["COMMAND", "render"]

EXPERIMENTS = ("counter", "hardware", "gil")

_LOST = "lost updates possible: "

_ONLY = {
    "threads": ("counter",),
    "switch_interval": ("counter",),
    "work": ("gil",),
    "requests": ("gil",),
    "increments": ("counter", "hardware"),
}
"""Options that belong to some experiments only."""


def _experiment(text: str) -> str:
    if text in EXPERIMENTS:
        return text
    close = difflib.get_close_matches(text, EXPERIMENTS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise argparse.ArgumentTypeError(
        f"unknown experiment {text!r}{hint}; the experiments are {', '.join(EXPERIMENTS)}"
    )


def _interval(text: str) -> float:
    """``--switch-interval``: a duration (``1ms``, ``100us``) in seconds."""
    try:
        ns = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not 1_000 <= ns <= 10_000_000_000:
        raise argparse.ArgumentTypeError(f"must be from 1us to 10s, not {text}")
    return ns / 1e9


def _seconds(text: str) -> float:
    """``--work``: seconds of CPU, from 0.001 to 60."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, like 0.2, not {text!r}") from None
    if not 0.001 <= value <= 60:
        raise argparse.ArgumentTypeError(f"must be from 0.001 to 60 seconds, not {text}")
    return value


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "experiment", type=_experiment, metavar="EXPERIMENT",
        help="counter (threads doing counter += 1 on this interpreter), hardware (a C "
        "shim's unlocked and atomic increments on this CPU) or gil (threads, processes "
        "and the convoy against the timed model)",
    )  # fmt: skip
    p.add_argument(
        "--quick", action="store_true",
        help="smaller sizes and fewer runs, for a class: under 10 seconds",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON document (docs/real.md)")
    p.add_argument(
        "--repeat", type=whole(most=100), metavar="R",
        help=f"runs of each measurement (default: counter {counter.DEFAULT.repeat}, hardware "
        f"{hardware.DEFAULT.repeat}, gil {gil.DEFAULT.repeat})",
    )  # fmt: skip
    p.add_argument(
        "--threads", type=whole(most=8), metavar="N",
        help=f"counter: threads (default {counter.DEFAULT.threads}; at most 8, for the model's "
        "exact count)",
    )  # fmt: skip
    p.add_argument(
        "--increments", type=whole(most=10**10), metavar="M",
        help=f"counter: increments per thread (default {counter.DEFAULT.increments:,}); "
        f"hardware: per thread (default {hardware.DEFAULT.increments:,})",
    )  # fmt: skip
    p.add_argument(
        "--switch-interval", type=_interval, metavar="D",
        help="counter: sys.setswitchinterval for the run, e.g. 1ms (default: the "
        "interpreter's own)",
    )  # fmt: skip
    p.add_argument(
        "--work", type=_seconds, metavar="S",
        help=f"gil: seconds of CPU-bound work per unit (default {gil.DEFAULT.work:g})",
    )  # fmt: skip
    p.add_argument(
        "--requests", type=whole(most=100_000), metavar="N",
        help=f"gil: requests the convoy's server makes (default {gil.DEFAULT.requests})",
    )  # fmt: skip


def _refuse_foreign(args: argparse.Namespace) -> None:
    for option, owners in _ONLY.items():
        if getattr(args, option) is not None and args.experiment not in owners:
            names = " or ".join(f"`refsim real {o}`" for o in owners)
            raise UsageError(f"--{option.replace('_', '-')} goes with {names}")


def _set(settings: object, args: argparse.Namespace, *fields: str) -> object:
    """``settings`` with each of ``fields`` that the command line gave."""
    given = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
    return replace(settings, **given)  # type: ignore[type-var]


@contextlib.contextmanager
def _progress(err: TextIO, total: int, what: str) -> Iterator[Tick | None]:
    """A progress bar on stderr, only on a terminal."""
    if not err.isatty():
        yield None
        return
    columns = (
        TextColumn(f"refsim real {what}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )  # fmt: skip
    with Progress(*columns, console=console(err), transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda done: bar.update(task, advance=1, description=done)


def _measure(args: argparse.Namespace, err: TextIO) -> Report:
    what = args.experiment
    if what == "counter":
        base = counter.QUICK if args.quick else counter.DEFAULT
        cs = _set(base, args, "threads", "increments", "repeat", "switch_interval")
        assert isinstance(cs, counter.CounterSettings)
        with _progress(err, counter.steps(cs), what) as tick:
            return counter.run(cs, progress=tick)
    if what == "hardware":
        base_h = hardware.QUICK if args.quick else hardware.DEFAULT
        hs = _set(base_h, args, "increments", "repeat")
        assert isinstance(hs, hardware.HardwareSettings)
        with _progress(err, hardware.steps(hs), what) as tick:
            try:
                return hardware.run(hs, progress=tick)
            except ShimUnavailable as error:
                raise UsageError(str(error)) from None
    base_g = gil.QUICK if args.quick else gil.DEFAULT
    gs = _set(base_g, args, "work", "repeat", "requests")
    assert isinstance(gs, gil.GilSettings)
    with _progress(err, gil.steps(gs), what) as tick:
        return gil.run(gs, progress=tick)


def _execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _refuse_foreign(args)
    report = _measure(args, err)
    if args.json:
        write_json(out, report.json())
    else:
        render(report, out)
    return EXIT_DISAGREES if report.contradictions else EXIT_OK


# -- rendering ------------------------------------------------------------------------------


def _figure(row: Row, value: float) -> str:
    if row.unit == "lost":
        assert row.of
        return f"{value:,.0f} ({percent(value / row.of)})"
    if row.unit == "ns":
        return f"{value:.2f} ns" if value < 10 else f"{value:.1f} ns"
    if row.unit == "ms":
        return f"{value:.2f} ms"
    if row.unit == "×":
        return f"{value:.2f}×"
    return f"{value:,.0f} {row.unit}"


def _range(row: Row, spread: Spread) -> str:
    if len(spread.runs) == 1:
        return ""
    low, high = _figure(row, spread.low), _figure(row, spread.high)
    if row.unit == "lost":
        low, high = f"{spread.low:,.0f}", f"{spread.high:,.0f}"
    return low if low == high else f"{low} to {high}"


def _settings_line(report: Report) -> str:
    s = dict(report.settings)
    runs = f"{s['repeat']:g} run{'s' if s['repeat'] != 1 else ''} of each"
    if report.experiment == "counter":
        return (
            f"{s['threads']:g} threads × {s['increments']:,.0f} increments each "
            f"({s['threads'] * s['increments']:,.0f} in all), {runs}; lost = the increments "
            "missing from the final count"
        )
    if report.experiment == "hardware":
        return (
            f"2 threads × {s['increments']:,.0f} increments of one word each, with the GIL "
            f"released, {runs}; lost = the increments missing from the final word"
        )
    return (
        f"{s['work']:g} s of CPU-bound work per unit, {runs}; speedup = the same work done one "
        "unit after another, divided by the time taken; refsim: the timed model with this "
        "machine's cores, loop iteration and process start"
    )


def render(report: Report, out: TextIO) -> None:
    """The report as people read it: what ran where, the table, then the findings."""
    con = console(out)
    head = Text()
    head.append(f"refsim real {report.experiment}", style="bold")
    head.append(f"  ·  {report.interpreter}")
    con.print(head)
    con.print(Text(_settings_line(report)))
    con.print()
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("what", no_wrap=True)
    table.add_column("measured (median)", justify="right", no_wrap=True)
    table.add_column("range", justify="right", no_wrap=True)
    table.add_column("refsim says")
    for row in report.rows:
        spread = row.measured
        measured = "not measured" if spread is None else _figure(row, spread.median)
        refsim = row.model_text.removeprefix(_LOST)
        table.add_row(
            Text(row.label), Text(measured), Text("" if spread is None else _range(row, spread)),
            Text(refsim),
        )  # fmt: skip
    con.print(Fit(table))
    if any(row.unit == "lost" for row in report.rows):
        con.print(
            Text(
                "refsim says, for a lost row: whether some interleaving of the same program "
                "loses an update, and in what share of all its interleavings (counted exactly)."
            )
        )
    told = " ".join(report.findings)
    notes = [f"{r.label}: {r.note}." for r in report.rows if r.note and r.note not in told]
    if notes:
        con.print()
        for note in notes:
            con.print(Text(note))
    for sentence in report.findings:
        con.print()
        con.print(Text(sentence))
    for sentence in report.contradictions:
        con.print()
        con.print(Text(f"unexpected: {sentence}", style="bold red"))


COMMAND = Command(_arguments, _execute)
