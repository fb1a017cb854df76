"""Budgets as values and meters (refsim.budget), with a fake clock and a fake memory: no
test here waits for anything."""

from __future__ import annotations

import argparse
import io
import signal
import sys
from types import SimpleNamespace

import pytest

from refsim.budget import (
    LOOK_EVERY,
    Budget,
    BudgetExceeded,
    Limit,
    Meter,
    bytes_text,
    note_interrupt,
    resident_memory,
    seconds_text,
)
from refsim.cli.budget import interruptible, memory_option, progress_shown, seconds_option
from refsim.render.budget import done_text, interrupted_line


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def meter(
    seconds: float | None = 10, memory: int | None = None, used: int = 0
) -> tuple[Meter, Clock]:
    """A meter on a fake clock (returned too, to move it) and a fake memory at ``used``."""
    clock = Clock()
    return Meter(Budget(seconds=seconds, memory=memory), clock=clock, memory=lambda: used), clock


def test_the_time_runs_out_at_the_deadline_and_not_before() -> None:
    m, clock = meter(seconds=10)
    clock.now += 9.99
    m.tick("states explored")
    clock.now += 0.01
    with pytest.raises(BudgetExceeded) as error:
        m.tick("states explored")
    spent = error.value
    assert (Limit.TIME, "10 s", 10.0, True) == (
        spent.limit,
        spent.allowed,
        spent.seconds,
        spent.whole,
    )
    assert (("states explored", 2),) == spent.done
    assert "the time budget (--max-seconds) of 10 s ran out after 10 s" == str(spent)


def test_the_memory_runs_out_when_the_process_holds_more_than_the_budget() -> None:
    within, _ = meter(seconds=None, memory=1_000_000, used=1_000_000)
    within.check()
    over, _ = meter(seconds=None, memory=1_000_000, used=1_000_001)
    with pytest.raises(BudgetExceeded) as error:
        over.check()
    assert (Limit.MEMORY, "1 MB", 1_000_001) == (
        error.value.limit,
        error.value.allowed,
        error.value.memory,
    )


def test_without_a_budget_nothing_runs_out() -> None:
    m, clock = meter(seconds=None, memory=None, used=10**15)
    clock.now += 10**9
    m.tick("runs sampled", 10**6)
    assert float("inf") == m.remaining


def test_a_share_is_a_part_of_what_remains_and_counts_into_the_same_tally() -> None:
    m, clock = meter(seconds=10)
    clock.now += 2
    part = m.share(0.5)  # 4 of the 8 seconds left
    assert 4.0 == part.remaining
    part.tick("states explored", 5)
    clock.now += 4
    with pytest.raises(BudgetExceeded) as error:
        part.check()
    assert (False, 6.0) == (error.value.whole, error.value.seconds)
    m.check()  # the whole has 4 seconds left
    assert {"states explored": 5} == m.tally


def test_a_fair_share_is_twice_an_equal_part_and_the_last_takes_all() -> None:
    m, _ = meter(seconds=12)
    assert 8.0 == m.fair(2).remaining  # 2 / 3 of 12
    assert 12.0 == m.fair(1).remaining
    assert 4.0 == m.fair(5).remaining  # 2 / 6 of 12


def test_progress_is_reported_now_and_then_not_at_every_tick() -> None:
    seen: list[int] = []
    m, clock = meter(seconds=None)
    m.on_progress = lambda meter: seen.append(meter.tally["runs sampled"])
    for _ in range(10):
        m.tick("runs sampled")
        clock.now += 0.03
    # A report at the first tick, then one whenever 0.1 s has passed since the last.
    assert [1, 5, 9] == seen


def test_a_budget_a_driver_counts_itself() -> None:
    m, _ = meter()
    m.tick("states explored", 7)
    error = m.exceeded(Limit.STATES, "7 states")
    assert (Limit.STATES, "7 states", (("states explored", 7),)) == (
        error.limit,
        error.allowed,
        error.done,
    )
    assert "the state budget (--max-states) of 7 states ran out after 0 s" == str(error)


@pytest.mark.parametrize("bad", [{"seconds": 0}, {"seconds": -1.0}, {"memory": 0}])
def test_a_budget_of_nothing_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Budget(**bad)  # type: ignore[arg-type]


def test_this_process_memory_can_be_read() -> None:
    used = resident_memory()
    assert used is None or 10_000_000 < used < 100_000_000_000


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0.4 s"), (3.0, "3 s"), (12.4, "12 s"), (125, "2 min 5 s"), (900, "15 min"),
     (12_000, "3 h 20 min"), (400_000, "4 days")],
)  # fmt: skip
def test_seconds_read_as_people_say_them(seconds: float, text: str) -> None:
    assert text == seconds_text(seconds)


@pytest.mark.parametrize(
    ("size", "text"),
    [(999, "999 bytes"), (1_500, "1.5 KB"), (10**9, "1 GB"), (2_345_678_901, "2.3 GB"),
     (15 * 10**12, "15 TB")],
)  # fmt: skip
def test_sizes_read_as_people_say_them(size: int, text: str) -> None:
    assert text == bytes_text(size)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30.0), ("2.5", 2.5), ("90s", 90.0), ("5min", 300.0), ("1h", 3600.0),
     ("none", None), ("1,000", 1000.0)],
)  # fmt: skip
def test_the_time_option_reads_seconds_minutes_and_none(text: str, seconds: float | None) -> None:
    assert seconds == seconds_option(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1GB", 10**9), ("500MB", 500 * 10**6), ("2G", 2 * 10**9), ("1.5GiB", 3 * 2**29),
     ("4000000", 4_000_000), ("none", None)],
)  # fmt: skip
def test_the_memory_option_reads_sizes_and_none(text: str, size: int | None) -> None:
    assert size == memory_option(text)


@pytest.mark.parametrize(
    ("option", "text"),
    [(seconds_option, "0"), (seconds_option, "soon"), (memory_option, "10k"),
     (memory_option, "lots")],
)  # fmt: skip
def test_the_options_refuse_what_is_no_budget(option: object, text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        option(text)  # type: ignore[operator]


def test_ctrl_c_says_how_long_it_worked_and_what_it_did() -> None:
    m, clock = meter()
    m.tick("states explored", 340_000)
    m.tick("runs sampled", 1_000)
    clock.now += 12
    expected = "interrupted after 12 s: 340,000 states explored, 1,000 runs sampled"
    assert expected == interrupted_line(m)
    assert "interrupted after 12 s" == interrupted_line(meter_after(12))
    assert "" == done_text((("states explored", 0),))


def test_a_dropped_ctrl_c_is_raised_again_once_at_the_meters_next_look() -> None:
    # A KeyboardInterrupt raised inside a garbage collector's callback is dropped; the
    # handler noted it, so the meter raises it at its next look, and only once.
    m, clock = meter()
    clock.now += LOOK_EVERY
    note_interrupt()
    with pytest.raises(KeyboardInterrupt):
        m.check()
    clock.now += LOOK_EVERY
    m.check()


def test_inside_a_command_a_dropped_ctrl_c_prints_no_traceback_and_is_raised_again() -> None:
    seen: list[type[BaseException]] = []
    hook, handler = sys.unraisablehook, signal.getsignal(signal.SIGINT)
    sys.unraisablehook = lambda info: seen.append(type(info.exc_value))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as under a terminal
    try:
        m, clock = meter()
        with pytest.raises(KeyboardInterrupt), interruptible():
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt as dropped:
                # What the interpreter does with it inside a gc callback: report, go on.
                sys.unraisablehook(SimpleNamespace(exc_value=dropped))  # type: ignore[arg-type]
            sys.unraisablehook(SimpleNamespace(exc_value=ValueError()))  # type: ignore[arg-type]
            clock.now += LOOK_EVERY
            m.check()
        assert [ValueError] == seen
        assert signal.default_int_handler is signal.getsignal(signal.SIGINT)
    finally:
        sys.unraisablehook = hook
        signal.signal(signal.SIGINT, handler)


def meter_after(seconds: float) -> Meter:
    m, clock = meter()
    clock.now += seconds
    return m


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_only_on_a_terminal_once_the_work_has_taken_a_second() -> None:
    m, clock = meter(seconds=None)
    quiet = io.StringIO()
    with progress_shown(m, quiet, "refsim explore big"):
        clock.now += 5
        m.tick("states explored", 1_000)
    assert "" == quiet.getvalue()
    terminal = Terminal()
    m, clock = meter(seconds=None)
    with progress_shown(m, terminal, "refsim explore big"):
        m.tick("states explored", 10)  # too soon: nothing shows
        assert "" == terminal.getvalue()
        clock.now += 2
        m.tick("states explored", 1_000)
        assert "refsim explore big: 1,010 states explored (2 s)" in terminal.getvalue()
    assert m.on_progress is None  # and the line is gone (transient)
