"""Generate the figures of docs/gallery.md: one run of each bundled scenario, drawn by
``refsim plot``, some outcome shares, the extra runs the course shows, windows of timed
runs and runs side by side.

    python docs/make_gallery.py [--out docs/gallery] [--dpi 100]

Each scenario is drawn with a hand-picked schedule that shows its lesson (the
hand-checked runs of tests/test_scenarios.py). Scenarios about timing (a ``timing:``
section: the GIL's convoy effect, CPU- and I/O-bound threads) are drawn by the timed
figure (``refsim plot --timed``), the ones in ``TIMED`` as ``<name>_timed.png``;
tests/test_plot.py holds these lists to the bundled set, so a new scenario needs a
decision here. Two figures need a bigger program than any bundled scenario: their
scenario files sit beside the figures (``docs/gallery/*.yaml``). The output is
deterministic: run it twice and the files do not change (a test holds it to that).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from refsim.bundled import bundled_scenarios
from refsim.cli.plot import runtimes_option
from refsim.compare import TimedRun, timed_rows, timed_ways
from refsim.engine import run
from refsim.explore import explore
from refsim.loader import load_file
from refsim.model import Runtime, Scenario, Schedule
from refsim.plot import (
    draw_comparison,
    plot_outcomes,
    plot_run,
    plot_timed,
    save_figure,
)
from refsim.timed import run_timed

GALLERY = Path(__file__).parent / "gallery"

RUNS: dict[str, tuple[Runtime, str]] = {
    # Both LOAD 2, both store 1: a decref is lost and obj is never freed.
    "leak": (Runtime.UNSAFE, "T1 T2*3 T1*2"),
    # Both LOAD 1, both store 2: three references, a count of 2.
    "lost_update": (Runtime.UNSAFE, "T1 T2*3 T1*2"),
    # The increfs race; the decrefs then free obj while the list still refers to it.
    "premature_free": (Runtime.UNSAFE, "T1 T2*3 T1*5 T2*5"),
    # The increfs race, the last decrefs race too: both threads store 0 and free obj.
    "double_free": (Runtime.UNSAFE, "T1 T2*3 T1*5 T2*4 T1*4 T2*3"),
    # The GIL switches between the three bytecodes of `counter += 1`.
    "counter": (Runtime.GIL, "T1 T2*3 T1*2"),
    # With the lock, T2 cannot start its increment until T1 releases L.
    "counter_locked": (Runtime.GIL, "T1*5 T2*5"),
    # Each thread takes its first lock; neither can take its second.
    "deadlock": (Runtime.GIL, "T1 T2"),
    # Atomic refcounts: T2 frees obj before T1's (atomic, but late) incref.
    "borrowed": (Runtime.ATOMIC, "T2*2 T1*4"),
    # The notify comes first and is lost; the waiter then waits for ever.
    "lost_wakeup": (Runtime.GIL, "Notifier*3 Waiter*2"),
    # The main thread moves done1 while W1 still adds to it.
    "forgot_join": (Runtime.GIL, "Main W1*3 Main*11 W1*3 W2*6"),
    # Each join returns after its worker: the sum comes last.
    "join_then_sum": (Runtime.GIL, "W1*6 W2*6 Main*14"),
    # Two workers in the pool at once lose an increment; the third waits for a slot.
    "semaphore_pool": (Runtime.GIL, "W1*2 W2*4 W1*3 W2 W3*5"),
    # Biased counting: the owner's local count, the worker's shared one, a queued
    # decref and the owner's merge.
    "biased": (Runtime.FREE_THREADED, "Main Worker*2 Main*3 Worker*2 Main*2 Worker Main*5"),
    # None dropped three times for one reference taken: nothing is written.
    "immortal": (Runtime.FREE_THREADED, "T2 T1*3"),
    # borrowed's program under PyPy: T2 drops its pointer first, and nothing is freed.
    "tracing": (Runtime.PYPY, "T2 T1*3"),
    # The queue orders the items: the consumer frees each after the producer is done.
    "producer_consumer": (Runtime.UNSAFE, "Producer*3 Consumer*6 Producer Consumer*6"),
}
"""Scenario -> the runtime and schedule its figure shows."""

OUTCOMES: dict[str, Runtime] = {
    "leak": Runtime.UNSAFE,
    "lost_update": Runtime.UNSAFE,
    "double_free": Runtime.UNSAFE,
}
"""Scenarios whose outcome shares get a figure too (``<name>_outcomes.png``)."""

COURSE: dict[str, tuple[str, Runtime, str]] = {
    # Chapter 6: the leak's decrefs under the GIL, one bytecode after the other.
    "leak_gil": ("leak", Runtime.GIL, "T1*3 T2*4"),
    # Chapter 10: the double free as `refsim search` shrinks it (4 preemptions).
    "double_free_search": ("double_free", Runtime.UNSAFE, "T1 T2*3 T1*5 T2*4 T1*4 T2*3"),
}
"""More runs the course (docs/tutorial/) shows: figure name -> scenario, runtime, schedule."""


TIMED = ("convoy", "cpu_bound", "io_then_transform")
"""Timed scenarios drawn by the timed figure (``<name>_timed.png``), seed 0."""

WINDOWS: dict[str, tuple[str, int, int]] = {
    # The convoy's first 30 ms: each request's I/O, its 5 ms wait for the GIL, its work.
    "convoy_window": ("convoy", 0, 30_000_000),
}
"""Windows of timed runs (``refsim plot --timed --window``): figure -> scenario, from, to."""

SIDE_BY_SIDE: dict[str, tuple[str, str]] = {
    # CPU-bound under the GIL against without it.
    "cpu_bound_runtimes": ("cpu_bound", "gil,atomic"),
    # Threads against processes: the transforms in the main process, or in their own.
    "io_then_transform_processes": ("io_then_transform", "gil:threads,gil"),
}
"""Runs side by side (``refsim plot --timed --runtimes``): figure -> scenario, runtimes."""

COMPARE = ("cpu_bound",)
"""Scenarios whose ``refsim compare --plot`` figure is drawn (``<name>_compare.png``)."""

HERE: dict[str, tuple[str, Runtime, str | None]] = {
    # 45 micro-steps: each kind's short form (ACQ L, LDG 0...) where names do not fit.
    "counter_locked_3x3": ("counter_locked_3x3", Runtime.GIL, None),
    # 4 threads x 3 increments: 11 outcomes, the rarest grouped.
    "counter_4x3_outcomes": ("counter_4x3", Runtime.GIL, "outcomes"),
}
"""Figures of the scenario files beside them (``docs/gallery/NAME.yaml``): figure ->
scenario, runtime, and the schedule (``None``: the run of seed 3) or ``"outcomes"``."""


def timed_only(name: str) -> bool:
    """A bundled scenario left to the timed figure (it has a ``timing:`` section)."""
    scenario = load_file(next(p for p in bundled_scenarios() if p.stem == name))
    return scenario.timing is not None and name not in RUNS


def _flat_colours() -> list[str]:
    """Every flat colour the figures fill with: kept exact when a PNG is shrunk."""
    from refsim.plot import style, timed_figure

    found = [
        style.SKY, style.ORANGE, style.GREEN, style.YELLOW, style.BLUE, style.VERMILLION,
        style.PURPLE, style.GREY, *style.HOLDERS, *style.COLOUR.values(),
        *timed_figure.GIL_HOLDERS, *(colour for _, _, colour in timed_figure.STATES),
        timed_figure.DROP, "#000000", "#FFFFFF",
    ]  # fmt: skip
    return list(dict.fromkeys(c.upper() for c in found))


def shrink(path: Path) -> None:
    """Re-save a PNG with a palette of 256 colours: a third of the size, no visible change
    (the figures are flat colours and text). The palette starts with every colour the
    figures fill with, so that none is merged with a neighbour (a holder that fills a few
    hundred pixels was, at 64 colours); the rest is median cut, and each pixel takes the
    nearest colour of the palette. Deterministic, like the figure itself."""
    import numpy as np
    from PIL import Image  # Pillow comes with matplotlib

    fixed = [int(c[i : i + 2], 16) for c in _flat_colours() for i in (1, 3, 5)]
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    rest = rgb.quantize(colors=256 - len(fixed) // 3, method=Image.Quantize.MEDIANCUT,
                        dither=Image.Dither.NONE)  # fmt: skip
    palette = np.array(fixed + (rest.getpalette() or [])[: 768 - len(fixed)]).reshape(-1, 3)
    pixels = np.asarray(rgb).reshape(-1, 3).astype(np.int64)
    # Nearest by exact distance (Pillow's own mapping rounds: white came out 252), once
    # per distinct colour, each packed in one integer.
    codes, where = np.unique(pixels @ [65536, 256, 1], return_inverse=True)
    colours = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1)
    distance = ((colours[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    index = distance.argmin(axis=1)[where.reshape(-1)].astype(np.uint8)
    flat = Image.fromarray(index.reshape(rgb.height, rgb.width), mode="P")
    flat.putpalette(palette.flatten().tolist())
    flat.save(path, optimize=True)


def make_gallery(out: Path, *, dpi: float = 100) -> list[Path]:
    """Write every gallery figure into ``out`` (created if needed); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path in bundled_scenarios():
        if path.stem not in RUNS:
            continue
        scenario = load_file(path)
        runtime, schedule = RUNS[path.stem]
        result = run(scenario, runtime=runtime, schedule=Schedule.parse(schedule))
        target = out / f"{path.stem}.png"
        plot_run(result, target, scenario=scenario, dpi=dpi)
        written.append(target)
        if path.stem in OUTCOMES:
            exploration = explore(scenario, runtime=OUTCOMES[path.stem])
            target = out / f"{path.stem}_outcomes.png"
            plot_outcomes(exploration, target, dpi=dpi)
            written.append(target)
    stems = {p.stem: p for p in bundled_scenarios()}
    for name, (stem, runtime, schedule) in COURSE.items():
        scenario = load_file(stems[stem])
        result = run(scenario, runtime=runtime, schedule=Schedule.parse(schedule))
        target = out / f"{name}.png"
        plot_run(result, target, scenario=scenario, dpi=dpi)
        written.append(target)
    written += make_timed(out, dpi=dpi)
    written += make_here(out, dpi=dpi)
    for path in written:
        shrink(path)
    return written


def make_here(out: Path, *, dpi: float) -> list[Path]:
    """Draw the figures of the scenario files in docs/gallery (``HERE``) into ``out``."""
    written = []
    for name, (stem, runtime, how) in HERE.items():
        scenario = load_file(GALLERY / f"{stem}.yaml")
        target = out / f"{name}.png"
        if how == "outcomes":
            plot_outcomes(explore(scenario, runtime=runtime), target, dpi=dpi)
        else:
            schedule = Schedule.parse(how) if how else None
            result = run(scenario, runtime=runtime, schedule=schedule, seed=3)
            plot_run(result, target, scenario=scenario, dpi=dpi)
        written.append(target)
    return written


def make_timed(out: Path, *, dpi: float) -> list[Path]:
    """Draw the timed figures into ``out``: each scenario in ``TIMED``, the ``WINDOWS``,
    the runs ``SIDE_BY_SIDE`` and the ``COMPARE`` figures."""
    stems = {p.stem: p for p in bundled_scenarios()}
    written = []
    for name in TIMED:
        scenario = load_file(stems[name])
        processes = [p for p, _ in scenario.process_groups()]
        target = out / f"{name}_timed.png"
        plot_timed(run_timed(scenario), target, threads=scenario.thread_names,
                   processes=processes, dpi=dpi)  # fmt: skip
        written.append(target)
    for name, (stem, start, end) in WINDOWS.items():
        scenario = load_file(stems[stem])
        target = out / f"{name}.png"
        plot_timed(run_timed(scenario), target, threads=scenario.thread_names,
                   processes=[p for p, _ in scenario.process_groups()], window=(start, end),
                   dpi=dpi)  # fmt: skip
        written.append(target)
    for name, (stem, runtimes) in SIDE_BY_SIDE.items():
        scenario = load_file(stems[stem])
        runs = timed_ways(scenario, runtimes_option(runtimes), seed=0)
        written.append(_side_by_side(out / f"{name}.png", scenario, runs, dpi))
    for stem in COMPARE:
        scenario = load_file(stems[stem])
        runs = timed_rows(scenario, seed=0)
        written.append(_side_by_side(out / f"{stem}_compare.png", scenario, runs, dpi))
    return written


def _side_by_side(target: Path, scenario: Scenario, runs: tuple[TimedRun, ...], dpi: float) -> Path:
    save_figure(draw_comparison(runs, threads=scenario.thread_names, dpi=dpi), target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GALLERY, help="folder (default docs/gallery)")
    parser.add_argument("--dpi", type=float, default=100, help="resolution (default 100)")
    args = parser.parse_args()
    for path in make_gallery(args.out, dpi=args.dpi):
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
