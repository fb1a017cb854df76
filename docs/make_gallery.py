"""Generate the figures of docs/gallery.md: one run of each bundled scenario, drawn by
``refsim plot``, some outcome shares, and the extra runs the course shows.

    python docs/make_gallery.py [--out docs/gallery] [--dpi 100]

Each scenario is drawn with a hand-picked schedule that shows its lesson (the
hand-checked runs of tests/test_scenarios.py). Scenarios about timing (a ``timing:``
section: the GIL's convoy effect, CPU- and I/O-bound threads) are drawn by the timed
figure (``refsim plot --timed``), the ones in ``TIMED`` as ``<name>_timed.png``;
tests/test_plot.py holds these lists to the bundled set, so a new scenario needs a
decision here. The output is deterministic: run it
twice and the files do not change.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from refsim.bundled import bundled_scenarios
from refsim.engine import run
from refsim.explore import explore
from refsim.loader import load_file
from refsim.model import Runtime, Schedule
from refsim.plot import plot_outcomes, plot_run, plot_timed
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


TIMED = ("convoy", "cpu_bound")
"""Timed scenarios drawn by the timed figure (``<name>_timed.png``), seed 0."""


def timed_only(name: str) -> bool:
    """A bundled scenario left to the timed figure (it has a ``timing:`` section)."""
    scenario = load_file(next(p for p in bundled_scenarios() if p.stem == name))
    return scenario.timing is not None and name not in RUNS


def shrink(path: Path) -> None:
    """Re-save a PNG with 64 colours: a third of the size, no visible change (the figures
    are flat colours and text). Deterministic, like the figure itself."""
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(path) as image:
        flat = image.convert("RGB").quantize(
            colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
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
        plot_run(result, target, threads=scenario.thread_names, dpi=dpi)
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
        plot_run(result, target, threads=scenario.thread_names, dpi=dpi)
        written.append(target)
    written += make_timed(out, dpi=dpi)
    for path in written:
        shrink(path)
    return written


def make_timed(out: Path, *, dpi: float) -> list[Path]:
    """Draw the timed figure of each scenario in ``TIMED`` into ``out``."""
    written = []
    for path in bundled_scenarios():
        if path.stem not in TIMED:
            continue
        scenario = load_file(path)
        processes = [name for name, _ in scenario.process_groups()]
        target = out / f"{path.stem}_timed.png"
        plot_timed(run_timed(scenario), target, threads=scenario.thread_names,
                   processes=processes, dpi=dpi)  # fmt: skip
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GALLERY, help="folder (default docs/gallery)")
    parser.add_argument("--dpi", type=float, default=100, help="resolution (default 100)")
    args = parser.parse_args()
    for path in make_gallery(args.out, dpi=args.dpi):
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
