"""The timed figure (``refsim plot --timed``): the spans the timed driver records add up to
its totals, the figure shows one lane per thread and per GIL with the recorded spans and
drop requests, it draws 2 to 16 threads and long runs without warnings, the same run gives
the same bytes, and the command line."""

from __future__ import annotations

import re
import warnings
from itertools import pairwise
from pathlib import Path

import pytest
from cli_runner import refsim

from refsim.loader import load_file, load_text
from refsim.model import Op, OpKind, Runtime, Scenario, ThreadSpec, Timing
from refsim.timed import run_timed
from refsim.trace import RunResult

matplotlib = pytest.importorskip("matplotlib")
np = pytest.importorskip("numpy")  # comes with matplotlib

from refsim.plot import (  # noqa: E402  (needs matplotlib)
    Interval,
    TimedFigure,
    Variant,
    describe_timed,
    draw_comparison,
    draw_timed,
    plot_timed,
    save_figure,
    summarize_timed,
)

ROOT = Path(__file__).parent.parent
SCENARIOS = ROOT / "scenarios"
TIMED = ("convoy", "cpu_bound", "io_bound", "io_then_transform")
"""The bundled scenarios with a ``timing:`` section."""
DPI = 30
ACCOUNTS = {
    "running": "running_ns",
    "gil_wait": "gil_wait_ns",
    "io_wait": "io_wait_ns",
    "ready": "ready_ns",
    "lock_wait": "lock_wait_ns",
}


def scenario(name: str) -> Scenario:
    return load_file(SCENARIOS / f"{name}.yaml")


def timed(name: str, **options: int) -> RunResult:
    return run_timed(scenario(name), **options)  # type: ignore[arg-type]


def figure(result: RunResult) -> TimedFigure:
    return summarize_timed(draw_timed(result, dpi=DPI))


# -- the recorded spans ------------------------------------------------------------------


@pytest.mark.parametrize("name", TIMED)
@pytest.mark.parametrize("runtime", list(Runtime))
def test_each_threads_spans_add_up_to_its_totals(name: str, runtime: Runtime) -> None:
    metrics = run_timed(scenario(name), runtime=runtime).metrics
    assert metrics is not None
    for thread, totals in metrics.threads:
        for state, account in ACCOUNTS.items():
            spans = sum(e - s for t, st, s, e in metrics.spans if (t, st) == (thread, state))
            assert getattr(totals, account) == spans, (thread, state)


@pytest.mark.parametrize("name", TIMED)
def test_spans_are_merged_and_in_order(name: str) -> None:
    metrics = timed(name).metrics
    assert metrics is not None
    for thread, _ in metrics.threads:
        mine = [(st, s, e) for t, st, s, e in metrics.spans if t == thread]
        for (st1, _, e1), (st2, s2, _) in pairwise(mine):
            assert e1 <= s2
            assert not (st1 == st2 and e1 == s2), "adjacent spans of one state are merged"
        assert all(s < e for _, s, e in mine)


@pytest.mark.parametrize("name", TIMED)
def test_one_drop_request_time_per_drop_request(name: str) -> None:
    metrics = timed(name).metrics
    assert metrics is not None
    assert metrics.drop_requests == len(metrics.drop_request_times)
    times = [t for _, t in metrics.drop_request_times]
    assert sorted(times) == times


def test_gil_holdings_never_overlap_in_a_process() -> None:
    metrics = timed("convoy").metrics
    assert metrics is not None
    held = sorted((s, e) for _, _, s, e in metrics.gil_holdings)
    assert all(e1 <= s2 for (_, e1), (s2, _) in pairwise(held))


def test_without_the_trace_nothing_is_recorded() -> None:
    metrics = run_timed(scenario("convoy"), keep_trace=False).metrics
    assert metrics is not None
    assert ((), (), ()) == (metrics.spans, metrics.gil_holdings, metrics.drop_request_times)


# -- the figure ---------------------------------------------------------------------------


def test_cpu_bound_takes_turns_with_the_gil() -> None:
    result = timed("cpu_bound")
    assert result.metrics is not None
    summary = figure(result)
    assert ("T1", "T2", "GIL") == summary.lanes
    assert (("running", 20), ("gil_wait", 19)) == summary.spans
    assert 20 == summary.holdings
    assert 19 == result.metrics.drop_requests == summary.drop_requests
    assert "ms" == summary.unit


@pytest.mark.parametrize("name", TIMED)
def test_the_figure_draws_every_recorded_span_alone_or_in_a_band(name: str) -> None:
    result = timed(name)
    assert result.metrics is not None
    summary = figure(result)
    unit = {"ms": 1e6, "s": 1e9, "µs": 1e3}[summary.unit]
    drawn = {(lane, round(a * unit), round(b * unit)) for lane, _, a, b in summary.intervals}
    bands = [(lane, a * unit, b * unit) for lane, a, b, _ in summary.bands]
    for thread, _, start, end in result.metrics.spans:
        inside = any(t == thread and a - 1 <= start and end <= b + 1 for t, a, b in bands)
        alone = any(t == thread and a == start for t, a, _ in drawn)
        assert inside or alone, (thread, start, end)
    assert result.metrics.drop_requests == summary.drop_requests


def test_without_a_gil_there_is_no_gil_lane() -> None:
    result = run_timed(scenario("cpu_bound"), runtime=Runtime.ATOMIC)
    summary = figure(result)
    assert (("T1", "T2"), 0, 0) == (summary.lanes, summary.holdings, summary.drop_requests)
    assert (("running", 2),) == summary.spans


def test_a_wait_for_a_lock_is_blocked_on_it_and_a_wait_for_a_core_is_ready() -> None:
    s = load_text(
        "runtime: atomic\ntiming: {cores: 1}\nlocks: [L]\nthreads:\n"
        "  T1: [acquire L, compute 3, release L]\n  T2: [acquire L, release L]\n"
    )
    result = run_timed(s)
    # T1 takes L and the only core; T2 waits for L (blocked on it), then for the core.
    assert [
        Interval("T1", "running", 0, 110, "acquire L, compute 3, release L"),
        Interval("T2", "blocked", 0, 85, "lock L"),
        Interval("T2", "ready", 85, 110),
        Interval("T2", "running", 110, 160, "acquire L, release L"),
    ] == list(describe_timed(result).intervals)
    summary = summarize_timed(draw_timed(result, dpi=100))
    assert {"blocked (waits for another thread)", "ready (no free core)"} <= set(summary.legend)
    assert ("T2", "blocked", 0.0, 85.0) == next(i for i in summary.intervals if i[1] == "blocked")
    assert "blocked on lock L · 85 ns" in summary.labels


def test_threads_blocked_for_good_are_marked_where_the_run_ends() -> None:
    s = load_text(
        "runtime: unsafe\ntiming: {cores: 2}\nlocks: [A, B]\nthreads:\n"
        "  T1: [acquire A, compute 2, acquire B]\n  T2: [acquire B, compute 2, acquire A]\n"
    )
    result = run_timed(s)
    assert {"deadlock"} == {str(k) for k in result.anomaly_kinds}
    timeline = describe_timed(result)
    # The run ends as they block: no finish, a deadlock mark each, and what each waits for.
    assert ((), (("T1", "lock B"), ("T2", "lock A"))) == (timeline.finished, timeline.stuck)
    summary = summarize_timed(draw_timed(result, dpi=DPI))
    assert (0, 2) == (summary.finished, summary.stuck)
    assert "blocked for good (deadlock)" in summary.legend


def many_threads(n: int) -> Scenario:
    return Scenario(
        name="many",
        threads=tuple(
            ThreadSpec(f"T{i + 1}", (Op(OpKind.COMPUTE, None, 400), Op(OpKind.IO, None, 10**6)))
            for i in range(n)
        ),
        runtime=Runtime.GIL,
        timing=Timing(cores=4),
    )


@pytest.mark.parametrize("n", [2, 16])
def test_two_to_sixteen_threads_draw_without_warnings(n: int, tmp_path: Path) -> None:
    result = run_timed(many_threads(n))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = draw_timed(result, dpi=DPI)
        save_figure(fig, tmp_path / "figure.png")  # rendering is where glyph warnings come
    assert tuple(f"T{i + 1}" for i in range(n)) + ("GIL",) == summarize_timed(fig).lanes


@pytest.mark.parametrize("name", TIMED)
def test_every_timed_scenario_plots_without_warnings(name: str, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = plot_timed(timed(name), tmp_path / "figure.png", dpi=DPI)
    assert summary.lanes
    assert (tmp_path / "figure.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_the_same_run_gives_the_same_bytes(tmp_path: Path, suffix: str) -> None:
    for n in "ab":
        plot_timed(timed("cpu_bound", seed=3), tmp_path / f"{n}{suffix}", dpi=DPI)
    first, second = ((tmp_path / f"{n}{suffix}").read_bytes() for n in "ab")
    assert first == second


def test_a_run_that_takes_no_time_still_draws() -> None:
    s = load_text("timing: {costs: {COMPUTE: 0}}\nthreads:\n  T1: [compute 3]\n")
    result = run_timed(s)
    assert result.metrics is not None and 0 == result.metrics.makespan_ns
    summary = summarize_timed(draw_timed(result, dpi=DPI))
    assert (("T1",), (0.0, 1.0), "ns") == (summary.lanes, summary.x_range, summary.unit)


def test_a_controlled_run_is_refused() -> None:
    from refsim.engine import run

    with pytest.raises(ValueError, match="timed run"):
        draw_timed(run(scenario("cpu_bound"), max_steps=5))


# -- the command line ---------------------------------------------------------------------


def test_plot_timed_writes_a_figure_and_refuses_to_overwrite_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cpu.svg"
    argv = ("plot", "cpu_bound", "--timed", "--dpi", "30", "-o", str(out))
    status, stdout, _ = refsim(capsys, *argv)
    assert (0, f"wrote {out}: cpu_bound under gil in simulated time, seed 0 (100ms, "
            "19 GIL switches, 19 drop requests)\n") == (status, stdout)  # fmt: skip
    written = out.read_bytes()
    status, _, err = refsim(capsys, *argv)
    assert (2, written) == (status, out.read_bytes())
    assert "the file exists; pass --force" in err
    assert 0 == refsim(capsys, *argv, "--force")[0]


def test_plot_timed_takes_the_timing_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cpu.png"
    status, stdout, _ = refsim(
        capsys, "plot", "cpu_bound", "--timed", "--cores", "1", "--switch-interval", "10ms",
        "--runtime", "gil", "--seed", "2", "-o", str(out), "--dpi", "30",
    )  # fmt: skip
    assert 0 == status
    assert "9 GIL switches, 9 drop requests" in stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--timed", "--schedule", "T1", "-o", "x.png"], "--schedule replays a controlled run"),
        (["--timed", "--outcomes", "-o", "x.png"], "--outcomes counts the interleavings"),
        (["--timed", "-o", "x.json"], "--timed draws a figure"),
        (["--cores", "2", "-o", "x.png"], "--cores goes with --timed"),
        (["--switch-interval", "1ms", "-o", "x.png"], "--switch-interval goes with --timed"),
    ],
)
def test_plot_timed_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    status, stdout, err = refsim(capsys, "plot", "cpu_bound", *argv)
    assert (2, "") == (status, stdout)
    assert message in err
    assert [] == list(tmp_path.iterdir())


def test_more_holders_than_colours_are_named_on_the_gil_lane() -> None:
    s = Scenario(
        name="cpu16",
        threads=tuple(
            ThreadSpec(f"T{i + 1}", (Op(OpKind.COMPUTE, None, 20_000),)) for i in range(16)
        ),
        runtime=Runtime.GIL,
        timing=Timing(cores=4),
    )
    result = run_timed(s, switch_interval=200_000)
    assert result.metrics is not None
    summary = summarize_timed(draw_timed(result, dpi=DPI))
    assert (48, 32, 32) == (summary.holdings, summary.holder_labels, summary.drop_requests)
    assert result.metrics.drop_requests == summary.drop_requests


def test_few_holders_are_told_apart_by_colour_alone() -> None:
    assert 0 == figure(timed("cpu_bound")).holder_labels


def test_a_lane_that_runs_all_along_shows_no_pale_seams() -> None:
    # Convoy's W runs for 1.2 s with 200 waits of about 60 µs, each far under a pixel:
    # where those spans meet, the white background used to show through at irregular
    # places, reading as events that are not there.
    import numpy as np

    result = run_timed(load_file(SCENARIOS / "convoy.yaml"), runtime=Runtime.GIL)
    fig = draw_timed(result, dpi=100)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    ax = next(a for a in fig.axes if a.get_gid() == "timed:0")
    # Near the top of W's lane: its band's running stripe, above the band's label.
    lane = ax.get_yticks()[list(t.get_text() for t in ax.get_yticklabels()).index("W")] + 0.3
    (x0, y), (x1, _) = ax.transData.transform([(0, lane), (1_150, lane)])
    row = pixels[pixels.shape[0] - round(y), int(x0) + 2 : int(x1)]
    pale = [x for x, rgb in enumerate(row) if rgb.sum() > 350]
    assert [] == pale


# -- every stretch of a lane has a state ----------------------------------------------------


@pytest.mark.parametrize("name", TIMED)
def test_each_lane_is_in_some_state_from_the_start_until_it_ends(name: str) -> None:
    sc = scenario(name)
    result = run_timed(sc)
    assert result.metrics is not None
    processes = [p for p, _ in sc.process_groups()]
    timeline = describe_timed(result, threads=sc.thread_names, processes=processes)
    ends = {n: m.finished_ns for n, m in result.metrics.threads}
    for lane in timeline.lanes:
        mine = sorted((i.start, i.end) for i in timeline.intervals if i.lane == lane)
        assert 0 == mine[0][0], lane
        assert all(e1 == s2 for (_, e1), (s2, _) in pairwise(mine)), f"{lane} has a gap"
        if lane in ends:
            assert ends[lane] == mine[-1][1]


def test_a_process_that_starts_late_is_starting_until_then() -> None:
    sc = scenario("io_then_transform")
    result = run_timed(sc)
    timeline = describe_timed(result, processes=[p for p, _ in sc.process_groups()])
    starting = [(i.lane, i.start, i.end) for i in timeline.intervals if i.state == "starting"]
    # P1 starts 2 ms after the main process, P2 2 ms after P1: their threads and GILs wait.
    assert [
        ("X1", 0, 2_000_000), ("X2", 0, 4_000_000),
        ("GIL P1", 0, 2_000_000), ("GIL P2", 0, 4_000_000),
    ] == starting  # fmt: skip
    summary = figure(result)
    assert {"starting its process", "GIL free"} <= set(summary.legend)
    # Each process's GIL is free whenever none of its threads holds it.
    free = [
        (i.start, i.end) for i in timeline.intervals if i.lane == "GIL main" and i.state == "free"
    ]
    assert (19_000, 20_001_000) == free[0]


# -- too dense to draw: bands --------------------------------------------------------------


def test_the_convoy_is_three_bands_not_a_moire() -> None:
    result = timed("convoy")
    timeline = describe_timed(result, threads=("S", "W"), pixel_ns=1_212_195_000 / 1220)
    assert [("S", 0, 1_027_190_000, 599), ("W", 0, 1_027_095_000, 399),
            ("GIL", 0, 1_027_090_000, 399)] == [
        (b.lane, b.start, b.end, b.intervals) for b in timeline.bands
    ]  # fmt: skip
    shares = {b.lane: {k: round(v, 4) for k, v in b.shares} for b in timeline.bands}
    assert {"gil_wait": 0.9706, "io_wait": 0.0195, "running": 0.0099} == shares["S"]
    assert {"running": 0.9881, "gil_wait": 0.0119} == shares["W"]
    assert {"W": 0.9891, "S": 0.0109} == shares["GIL"]
    # After S finishes, W runs alone: one interval, drawn as such.
    assert [("W", "running", 1_027_095_000, 1_212_195_000)] == [
        (i.lane, i.state, i.start, i.end) for i in timeline.intervals if i.lane == "W"
    ]


def test_the_figure_stripes_each_band_and_says_its_shares() -> None:
    summary = summarize_timed(draw_timed(timed("convoy"), dpi=100))
    assert [
        ("S", 0.0, 1027.19, ("running", "gil_wait", "io_wait")),
        ("W", 0.0, 1027.095, ("running", "gil_wait")),
        ("GIL", 0.0, 1027.09, ("S", "W")),
    ] == [(lane, round(a, 3), round(b, 3), keys) for lane, a, b, keys in summary.bands]
    # The I/O colour shows (a stripe), and the label says how much of S's time it is.
    assert (
        "97% GIL wait · 2% I/O · <1% running",
        "99% running · 1% GIL wait",
        "compute 12000",
        "99% held by W · 1% held by S",
    ) == summary.labels
    assert "waiting on I/O" in summary.legend


def test_a_few_narrow_intervals_are_drawn_one_by_one() -> None:
    # io_bound's short runs between 10 ms waits stay single slivers, not bands.
    assert () == describe_timed(timed("io_bound"), pixel_ns=50_823_000 / 1220).bands


# -- a window of the run ----------------------------------------------------------------------


def test_a_window_shows_each_request_and_names_the_gil_wait() -> None:
    result = timed("convoy")
    summary = summarize_timed(draw_timed(result, window=(0, 30_000_000), dpi=100))
    assert ((0.0, 30.0), "ms", ()) == (summary.x_range, summary.unit, summary.bands)
    s = [(state, round(a, 3), round(b, 3)) for lane, state, a, b in summary.intervals
         if lane == "S" and state != "gil_wait"]  # fmt: skip
    # Each request: its read's I/O wait, then (after 5 ms for the GIL) its work and the
    # write's I/O call, then the write's I/O wait; the narrowest are drawn 1.2 px wide.
    assert [
        ("running", 0.0, 0.03), ("running", 10.322, 10.352), ("running", 20.644, 20.674),
        ("io_wait", 0.001, 0.101), ("io_wait", 5.212, 5.312), ("io_wait", 10.323, 10.423),
        ("io_wait", 15.534, 15.634), ("io_wait", 20.645, 20.745), ("io_wait", 25.856, 25.956),
        ("running", 5.111, 5.212), ("running", 15.433, 15.534), ("running", 25.755, 25.856),
    ] == s  # fmt: skip
    assert "GIL wait · 5.01 ms" == summary.labels[0]
    assert 5 == summary.drop_requests


def test_a_narrow_window_labels_what_each_stretch_did_with_its_whole_length() -> None:
    summary = summarize_timed(draw_timed(timed("convoy"), window=(5_000_000, 5_400_000), dpi=100))
    assert ((5000.0, 5400.0), "µs") == (summary.x_range, summary.unit)
    # The waits that began before the window still say how long they lasted in all.
    assert (
        "waiting for the GIL · 5.01 ms", "compute 1, io 100us · 101 µs",
        "waiting on I/O (io 100us)", "waiting for the GIL · 5.01 ms",
        "compute 12000 · 5.1 ms", "waiting for the GIL · 111 µs", "compute 12000 · 5.1 ms",
    ) == summary.labels  # fmt: skip


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ((5, 5), "from its start to a later end"),
        ((2_000_000_000, 3_000_000_000), "the window starts at 2 s, after the run ended (1.21 s)"),
    ],
)
def test_a_window_outside_the_run_is_refused(window: tuple[int, int], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        draw_timed(timed("convoy"), window=window, dpi=DPI)


# -- runs side by side --------------------------------------------------------------------------


def test_runtimes_side_by_side_on_one_time_axis() -> None:
    sc = scenario("cpu_bound")
    variants = [
        Variant("gil", run_timed(sc, runtime=Runtime.GIL)),
        Variant("atomic", run_timed(sc, runtime=Runtime.ATOMIC)),
    ]
    fig = draw_comparison(variants, dpi=DPI)
    summary = summarize_timed(fig)
    assert (
        "gil  ·  took 100 ms on 2 cores (utilisation 50%)  ·  19 GIL switches, 19 drop requests",
        "atomic  ·  took 50 ms on 2 cores (utilisation 100%)",
    ) == summary.panels
    assert ("T1", "T2", "GIL", "T1", "T2") == summary.lanes
    assert (0.0, 100.095) == summary.x_range  # the longer run sets the shared axis
    ends = [line.get_xdata() for ax in fig.axes for line in ax.lines
            if line.get_gid() == "end-of-run"]  # fmt: skip
    assert [[50.0, 50.0]] == [np.asarray(x, float).tolist() for x in ends]
    assert "the run ends" in summary.legend
    title = next(t.get_text() for t in fig.texts if t.get_gid() == "title")
    assert "cpu_bound  ·  timed  ·  gil vs atomic" == title


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_a_comparison_and_a_window_give_the_same_bytes(tmp_path: Path, suffix: str) -> None:
    sc = scenario("convoy")
    for n in "ab":
        variants = [
            Variant(str(r), run_timed(sc, runtime=r)) for r in (Runtime.GIL, Runtime.ATOMIC)
        ]
        fig = draw_comparison(variants, window=(0, 30_000_000), dpi=DPI)
        save_figure(fig, tmp_path / f"{n}{suffix}")
    assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()


# -- the command line: --window, --runtimes, compare --plot --------------------------------


def usage(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``refsim ARGV...`` that may be refused by argparse itself (which exits)."""
    try:
        return refsim(capsys, *argv)
    except SystemExit as exit_:
        captured = capsys.readouterr()
        return int(str(exit_.code)), captured.out, captured.err


def test_plot_window_draws_the_stretch_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w.png"
    status, stdout, _ = refsim(capsys, "plot", "convoy", "--timed", "--window", "0ms..30ms",
                               "-o", str(out), "--dpi", "30")  # fmt: skip
    assert (0, f"wrote {out}: convoy under gil in simulated time, seed 0 (1.21s, 399 GIL "
            "switches, 199 drop requests); window 0 to 30ms\n") == (status, stdout)  # fmt: skip
    # Open ends: from 1.2 s to the end of the run.
    out2 = tmp_path / "tail.png"
    status, stdout, _ = refsim(capsys, "plot", "convoy", "--timed", "--window", "1.2s..",
                               "-o", str(out2), "--dpi", "30")  # fmt: skip
    assert 0 == status and stdout.endswith("; window 1.2s to 1.21s\n")


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("0..30", "argument --window: the end '30' needs a unit: 30ms, 30us, 30s or 30ns"),
        ("30ms", "argument --window: expected START..END, e.g. 0ms..30ms"),
        ("30ms..10ms", "argument --window: the window 30ms..10ms ends before it starts"),
        ("1ms..2ms..3ms", "expected START..END"),
        ("0..3 parsecs", "the end: expected a duration like 30ns, 2us, 5ms or 1s, got '3 parsecs'"),
        ("5s..", "error: --window 5s..: the run ends at 1.21s, before the window starts"),
    ],
)
def test_plot_window_refuses_bad_windows(
    window: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    status, stdout, err = usage(
        capsys, "plot", "convoy", "--timed", "--window", window, "-o", "w.png"
    )
    assert (2, "") == (status, stdout)
    assert message in err
    assert "Traceback" not in err
    assert [] == list(tmp_path.iterdir())


def test_plot_runtimes_draws_one_run_per_runtime(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cpu.svg"
    status, stdout, _ = refsim(capsys, "plot", "cpu_bound", "--timed", "--runtimes",
                               "gil,atomic,gil:processes", "-o", str(out))  # fmt: skip
    assert (0, f"wrote {out}: cpu_bound in simulated time, seed 0: gil 100ms; atomic 50ms; "
            "gil, a process per thread 52ms\n") == (status, stdout)  # fmt: skip
    assert out.read_text(encoding="utf-8").startswith("<?xml")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--timed", "--runtimes", "gill,atomic"], "'gill' is not a runtime (did you mean gil?)"),
        (["--timed", "--runtimes", "gil"], "--runtimes compares two or more runs"),
        (["--timed", "--runtimes", "gil,gil"], "gil is named twice in 'gil,gil'"),
        (["--timed", "--runtimes", "gil:proceses,atomic"], "(did you mean gil:processes?)"),
        (["--timed", "--runtimes", "gil,atomic", "--runtime", "gil"], "does not go with --runtime"),
        (["--runtimes", "gil,atomic"], "--runtimes goes with --timed"),
        (["--window", "0ms..1ms"], "--window goes with --timed"),
    ],
)
def test_plot_runtimes_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    status, _, err = usage(capsys, "plot", "cpu_bound", *argv, "-o", "x.png")
    assert 2 == status
    assert message in err
    assert [] == list(tmp_path.iterdir())


def test_compare_plot_draws_every_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "compare.png"
    status, stdout, _ = refsim(capsys, "compare", "cpu_bound", "--plot", str(out))
    assert 0 == status
    assert stdout.endswith(f"wrote {out}: cpu_bound in simulated time, seed 0: gil 100ms; "
                           "unsafe 50ms; atomic 50ms; free-threaded 50ms; pypy 100ms; jython "
                           "50ms; gil, a process per thread 52ms\n")  # fmt: skip
    written = out.read_bytes()
    assert written.startswith(b"\x89PNG")
    # Refused before any work without --force; with --json the line goes to stderr.
    status, stdout, err = refsim(capsys, "compare", "cpu_bound", "--plot", str(out))
    assert (2, "", f"error: --plot {out}: the file exists; pass --force to overwrite it\n") == (
        status, stdout, err,
    )  # fmt: skip
    status, stdout, err = refsim(capsys, "compare", "cpu_bound", "--plot", str(out), "--force",
                                 "--json")  # fmt: skip
    assert 0 == status and stdout.startswith("{") and err.startswith(f"wrote {out}:")
    status, _, err = refsim(capsys, "compare", "cpu_bound", "--plot", str(tmp_path / "c.gif"))
    assert 2 == status and "a figure's name ends in .png, .svg, .pdf" in err
    status, _, err = refsim(capsys, "compare", "cpu_bound", "--force")
    assert (2, "error: --force goes with --plot OUT: it lets the figure replace OUT\n") == (
        status, err,
    )  # fmt: skip
