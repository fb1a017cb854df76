"""``refsim real counter|hardware|gil``: measure on this machine what the model predicts,
the model's figure beside each measurement (docs/real.md).

Parsing and exit statuses only; the experiments live in :mod:`refsim.real`, and their
report on a terminal in :mod:`refsim.render.real`. rich is imported only to print for
people (and for the progress bar, only on a terminal): ``--json`` needs none of it.
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

from refsim.cli.common import (
    EXIT_DISAGREES,
    EXIT_OK,
    Command,
    UsageError,
    whole,
    write_json,
)
from refsim.real import counter, gil, hardware
from refsim.real.shim import ShimUnavailable
from refsim.real.values import Progress as Tick
from refsim.real.values import Report

__all__ = ["COMMAND"]

EXPERIMENTS = ("counter", "hardware", "gil")

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
    from refsim.schema import parse_duration  # pydantic's models: only when given

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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from refsim.cli.console import console

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
        from refsim.cli.console import console
        from refsim.render.real import print_report

        print_report(console(out), report)
    return EXIT_DISAGREES if report.contradictions else EXIT_OK


COMMAND = Command(_arguments, _execute)
