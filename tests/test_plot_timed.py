"""The timed figure (``refsim plot --timed``): the spans the timed driver records add up to
its totals, the figure shows one lane per thread and per GIL with the recorded spans and
drop requests, it draws 2 to 16 threads and long runs without warnings, the same run gives
the same bytes, and the command line."""

from __future__ import annotations

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

from refsim.plot import (  # noqa: E402  (needs matplotlib)
    Interval,
    TimedFigure,
    describe_timed,
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
    # The run ends as they block: no finish, a deadlock mark each. What each waits for
    # the run does not say yet (the waiting_at_end hook).
    assert ((), (("T1", None), ("T2", None))) == (timeline.finished, timeline.stuck)
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
