"""Figures (refsim.plot, ``refsim plot``): what a run's picture contains, that every
bundled scenario draws without a warning, that big runs thin their labels instead of
smearing, that output is deterministic, the outcomes figure, the command line, and the
docs gallery."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import warnings
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from cli_runner import refsim

from refsim.bundled import bundled_scenarios
from refsim.engine import run
from refsim.loader import load_file
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec
from refsim.plot import (
    Blocked,
    Holding,
    RunFigure,
    Series,
    Window,
    describe_run,
    natural_order,
    short_label,
    step_label,
)
from refsim.plot.picture import waiting_at_end
from refsim.timed import run_timed
from refsim.trace import Exploration, Outcome, OutcomeStats

matplotlib = pytest.importorskip("matplotlib")
np = pytest.importorskip("numpy")  # comes with matplotlib

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

from refsim.plot import (  # noqa: E402  (needs matplotlib)
    draw_outcomes,
    draw_run,
    plot_outcomes,
    plot_run,
    save_figure,
    summarize_outcomes,
    summarize_run,
)

ROOT = Path(__file__).parent.parent
SCENARIOS = ROOT / "scenarios"
DPI = 30  # small figures: the content is the same, the tests are faster


def scenario(name: str) -> Scenario:
    return load_file(SCENARIOS / f"{name}.yaml")


def figure(name: str, runtime: Runtime, schedule: str) -> RunFigure:
    sc = scenario(name)
    result = run(sc, runtime=runtime, schedule=Schedule.parse(schedule))
    return summarize_run(draw_run(result, threads=sc.thread_names, dpi=DPI))


def gallery_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_gallery", ROOT / "docs" / "make_gallery.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- what a run's picture is made of (no drawing) -------------------------------------------


def test_step_labels_say_what_each_micro_step_did() -> None:
    result = run(scenario("leak"), schedule=Schedule.parse("T1 T2*3 T1*2"))
    assert result.trace is not None
    labels = [step_label(e) for e in result.trace]
    assert ["LOAD 2", "LOAD 2", "SUB → 1", "STORE 1", "SUB → 1", "STORE 1"] == labels
    locked = run(scenario("counter_locked"), schedule=Schedule.parse("T1*5 T2*5"))
    assert locked.trace is not None
    assert ["ACQUIRE L", "LOAD_GLOBAL 0", "BINARY_OP → 1", "STORE_GLOBAL 1", "RELEASE L"] == [
        step_label(e) for e in locked.trace[:5]
    ]
    atomic = run(scenario("borrowed"), schedule=Schedule.parse("T2*2 T1*4"))
    assert atomic.trace is not None
    assert ["RMW → 0", "DEALLOC", "RMW → 1", "READ", "RMW → 0", "DEALLOC"] == [
        step_label(e) for e in atomic.trace
    ]


def test_the_leak_picture() -> None:
    result = run(scenario("leak"), schedule=Schedule.parse("T1 T2*3 T1*2"))
    picture = describe_run(result, threads=("T1", "T2"))
    assert ("T1", "T2") == picture.threads
    # T1 loads at step 1 and stores at 6; T2 loads at 2 and stores at 4: they overlap.
    assert (Window("T1", "obj", 1, 6, True), Window("T2", "obj", 2, 4, True)) == picture.windows
    assert ((2, "T1", "T2"),) == picture.preemptions
    assert (Series("obj", True, ((0, 2), (4, 1)), ((0, 2), (4, 1), (6, 0)), None),) == (
        picture.series
    )
    assert [(AnomalyKind.LOST_UPDATE, 6), (AnomalyKind.LEAK, None)] == [
        (m.kind, m.step) for m in picture.marks
    ]
    assert ((), ()) == (picture.holder_lanes, picture.holdings)


def test_every_micro_step_kind_drawn_has_a_legend_entry() -> None:
    # Free-threaded's own kinds are drawn grey, like IO: each still says what it is.
    summary = figure(
        "biased", Runtime.FREE_THREADED, "Worker*2 Main*2 Worker Main Worker Main*2 Worker Main*6"
    )
    assert (
        "bytecode starts", "ADD / SUB", "DEALLOC (FREE)", "READ", "ADD_SHARED (ADDS)",
        "LOAD_LOCAL (LDL)", "DECREF_SHARED (DECS)", "STORE_LOCAL (STL)", "QUEUE", "MERGE",
    ) == summary.legend[:10]  # fmt: skip


def test_who_holds_the_gil_and_the_locks() -> None:
    result = run(scenario("counter_locked"), schedule=Schedule.parse("T1*5 T2*5"))
    picture = describe_run(result)
    assert ("GIL", "lock L") == picture.holder_lanes
    assert (
        Holding("GIL", "T1", 1, 5),
        Holding("GIL", "T2", 6, 10),
        Holding("lock L", "T1", 1, 5),
        Holding("lock L", "T2", 6, 10),
    ) == picture.holdings


def test_a_lock_still_held_at_the_end_is_held_to_the_end() -> None:
    result = run(scenario("deadlock"), schedule=Schedule.parse("T1 T2"))
    picture = describe_run(result)
    # Nobody releases them: both are held through the end column, not just to step 2.
    assert (Holding("lock A", "T1", 1, 2, True), Holding("lock B", "T2", 2, 2, True)) == tuple(
        h for h in picture.holdings if h.lane != "GIL"
    )


def test_a_thread_waiting_for_a_held_lock_is_blocked_on_it() -> None:
    result = run(scenario("counter_locked"), schedule=Schedule.parse("T1*5 T2*5"))
    # T2's next micro-step is ACQUIRE L from the start; T1 holds L from the end of step 1
    # until its RELEASE at step 5: T2 is blocked at steps 2 to 5, not at step 1.
    assert (Blocked("T2", "lock L", 2, 5),) == describe_run(result).blocked
    seeded = run(many_locked(3, 3), seed=3)
    assert "T1*5 T2*15 T3*5 T1*10 T3*10" == str(seeded.schedule)
    blocked = describe_run(seeded).blocked
    # T1 waits through each of T2's three holdings of L, and is free (ready, not picked)
    # at the steps in between, when T2 has just released L and not yet taken it again.
    assert [(7, 10), (12, 15), (17, 20), (22, 25)] == [
        (b.start, b.end) for b in blocked if b.thread == "T1"
    ]
    assert {"lock L"} == {b.on for b in blocked}


def test_threads_blocked_for_good_are_blocked_in_the_end_column() -> None:
    result = run(scenario("deadlock"), schedule=Schedule.parse("T1 T2"))
    # The run says what each waits for (RunResult.blocked).
    assert {"T1": "lock B", "T2": "lock A"} == waiting_at_end(result)
    expected = (Blocked("T1", "lock B", 3, 3), Blocked("T2", "lock A", 3, 3))
    assert expected == describe_run(result).blocked
    assert expected == describe_run(result, scenario=scenario("deadlock")).blocked


def test_with_its_scenario_a_run_says_what_each_blocked_thread_waited_for() -> None:
    """The lost wake-up: the waiter waits for L while the notifier holds it (steps 2-3),
    then, after its CWAIT at step 5, for a notify that never comes (the end column)."""
    lost = scenario("lost_wakeup")
    result = run(lost, schedule=Schedule.parse("Notifier*3 Waiter*2"))
    expected = (Blocked("Waiter", "lock L", 2, 3), Blocked("Waiter", "notify on C", 6, 6))
    assert expected == describe_run(result, scenario=lost).blocked
    pc = scenario("producer_consumer")
    result = run(pc, schedule=Schedule.parse("Producer*3 Consumer*6 Producer Consumer*6"))
    # The producer waits for room at step 4 only: the consumer's get there empties Q
    # again. The consumer waits for an item until the producer's put (step 2), and again
    # at step 10, before the second put. (Lanes in the scenario's order.)
    assert (
        Blocked("Producer", "put Q (full)", 4, 4),
        Blocked("Consumer", "get Q (empty)", 1, 2),
        Blocked("Consumer", "get Q (empty)", 10, 10),
    ) == describe_run(result, scenario=pc).blocked


def test_a_variables_intended_value_counts_every_update() -> None:
    result = run(scenario("counter"), runtime=Runtime.GIL, schedule=Schedule.parse("T1 T2*3 T1*2"))
    [counter] = describe_run(result).series
    # T2's store makes 1; T1's stale store writes 1 again, but two updates were meant: 2.
    assert (((0, 0), (4, 1)), ((0, 0), (4, 1), (6, 2)), ()) == (
        counter.values, counter.intended, counter.true_refs,
    )  # fmt: skip
    subtracted = Scenario(
        name="down",
        threads=(
            ThreadSpec("T1", (Op(OpKind.SUB, "v", 3),)),
            ThreadSpec("T2", (Op(OpKind.ADD, "v", 5),)),
        ),
        variables=(("v", 10),),
    )  # fmt: skip
    [v] = describe_run(run(subtracted, schedule=Schedule.parse("T1 T2*3 T1*2"))).series
    assert (((0, 10), (4, 15), (6, 7)), ((0, 10), (4, 15), (6, 12))) == (v.values, v.intended)
    [obj] = describe_run(run(scenario("leak"), schedule=Schedule.parse("T1 T2*3 T1*2"))).series
    assert () == obj.intended  # an object has its true refs instead


def test_an_object_first_touched_by_an_atomic_update_starts_where_it_was() -> None:
    result = run(scenario("borrowed"), schedule=Schedule.parse("T2*2 T1*4"))
    [obj] = describe_run(result).series
    assert ((0, 1), (1, 0), (3, 1), (5, 0)) == obj.values
    assert (2, ((0, 1), (1, 0), (3, 1), (5, 0))) == (obj.freed_at, obj.true_refs)


def test_lanes_come_in_natural_order_by_default() -> None:
    assert ("T1", "T2", "T10", "main", "w2") == natural_order(
        ["T10", "w2", "T2", "main", "T1", "T2"]
    )


def test_short_labels() -> None:
    assert [
        "deadlock",
        "double free",
        "leak",
        "lost update",
        "premature free",
        "use after free",
    ] == [short_label(k) for k in AnomalyKind]


def test_a_run_without_trace_or_preemption_steps_is_refused() -> None:
    with pytest.raises(ValueError, match="kept no trace"):
        describe_run(run(scenario("leak"), keep_trace=False))
    from dataclasses import replace

    result = replace(run(scenario("leak"), schedule=Schedule.parse("T1 T2")), preempted=())
    with pytest.raises(ValueError, match="does not record where its 1 preemptions happened"):
        describe_run(result)


# -- the figures' content ----------------------------------------------------------------


def test_the_leak_figure() -> None:
    expected = RunFigure(
        lanes=("T1", "T2"),
        boxes=6,
        box_labels=6,
        bytecode_starts=2,
        windows=2,
        overlapping_windows=2,
        preemptions=1,
        holdings=0,
        panels=("obj",),
        freed=(),
        # The lost update at its step; the leak, judged at the end, just after the last.
        anomalies=(("obj", 6.0), ("obj", 7.0)),
        anomaly_labels=("lost update", "leak"),
        # Steps 1 to 6 and the end column.
        x_range=(0.5, 7.5),
        y_labels=("count",),
        legend=(
            "race windows that overlap", "bytecode starts", "LOAD", "SUB", "STORE",
            "preemption", "refcount", "true refs", "anomaly",
        ),
    )  # fmt: skip
    assert expected == figure("leak", Runtime.UNSAFE, "T1 T2*3 T1*2")


def test_the_premature_free_figure_shades_the_freed_span() -> None:
    fig = figure("premature_free", Runtime.UNSAFE, "T1 T2*3 T1*5 T2*5")
    # T2's DEALLOC is step 13: obj is freed from the end of step 13 on, the end column too.
    assert (("obj", 13.5, 15.5),) == fig.freed
    assert (("obj", 6.0), ("obj", 13.0), ("obj", 14.0)) == fig.anomalies
    assert ("lost update", "premature free", "use after free") == fig.anomaly_labels
    assert (14, 14, 4, 2) == (fig.boxes, fig.box_labels, fig.windows, fig.overlapping_windows)


def test_the_double_free_figure() -> None:
    fig = figure("double_free", Runtime.UNSAFE, "T1 T2*3 T1*5 T2*3 T1 T2 T1*3 T2*3")
    assert (("obj", 17.5, 21.5),) == fig.freed
    assert [6.0, 17.0, 19.0, 19.0, 20.0] == [x for _, x in fig.anomalies]
    assert 6 == fig.preemptions
    # Left to right; step 19's two anomalies share one label, a line each.
    assert (
        "lost update",
        "premature free",
        "lost update",
        "use after free",
        "double free",
    ) == fig.anomaly_labels


def test_an_object_freed_by_the_last_step_still_shows_its_freed_span() -> None:
    fig = figure("leak", Runtime.GIL, "T1*3 T2*4")
    assert ("T1", "T2", "GIL") == fig.lanes
    assert 2 == fig.holdings
    [(name, start, end)] = fig.freed
    assert ("obj", 7.5) == (name, start) and end > start


def test_the_counter_under_the_gil() -> None:
    fig = figure("counter", Runtime.GIL, "T1 T2*3 T1*2")
    assert ("T1", "T2", "GIL") == fig.lanes
    assert (6, 6, 3, 2) == (fig.boxes, fig.bytecode_starts, fig.holdings, fig.overlapping_windows)
    assert (("counter",), (("counter", 6.0),)) == (fig.panels, fig.anomalies)


def test_the_locked_counter_has_a_lane_per_lock_and_no_overlap() -> None:
    fig = figure("counter_locked", Runtime.GIL, "T1*5 T2*5")
    assert ("T1", "T2", "GIL", "lock L") == fig.lanes
    assert (2, 0, 4, ()) == (fig.windows, fig.overlapping_windows, fig.holdings, fig.anomalies)
    # T2's lane says why it has no boxes until step 6.
    assert (("T2", 1.5, 5.5),) == fig.blocked
    assert ("blocked on lock L", "T1", "T2", "T1", "T2") == fig.lane_labels


def test_a_deadlock_is_marked_in_the_lanes_of_the_blocked_threads() -> None:
    fig = figure("deadlock", Runtime.GIL, "T1 T2")
    assert ("T1", "T2", "GIL", "lock A", "lock B") == fig.lanes
    assert ((), (("lanes", 3.0), ("lanes", 3.0))) == (fig.panels, fig.anomalies)
    assert ("deadlock",) == fig.anomaly_labels  # one label for both markers
    # Both blocked in the end column; both locks held to the right edge, not to step 2.
    assert (("T1", 2.5, 3.5), ("T2", 2.5, 3.5)) == fig.blocked
    assert (
        "blocked on lock B", "blocked on lock A", "T1", "T2", "T1, never released",
        "T2, never released",
    ) == fig.lane_labels  # fmt: skip
    lanes = next(ax for ax in drawn("deadlock", Runtime.GIL, "T1 T2").axes
                 if ax.get_gid() == "lanes")  # fmt: skip
    bars = {
        str(c.get_gid()): [(float(p.vertices[:, 0].min()), float(p.vertices[:, 0].max()))
                           for p in c.get_paths()]
        for c in lanes.collections if str(c.get_gid()).startswith("holdings:")
    }  # fmt: skip
    assert {
        "holdings:GIL": [(0.5, 1.5), (1.5, 2.5)],
        "holdings:lock A": [(0.5, 3.5)],
        "holdings:lock B": [(1.5, 3.5)],
    } == bars


def test_a_lock_held_when_a_step_budget_cuts_the_run_is_not_held_to_the_end() -> None:
    result = run(scenario("counter_locked"), schedule=Schedule.parse("T1*2"), max_steps=2)
    assert not result.finished
    assert (Holding("lock L", "T1", 1, 2, False),) == tuple(
        h for h in describe_run(result).holdings if h.lane == "lock L"
    )


def test_the_counters_figure_shows_the_lost_update_as_a_gap() -> None:
    fig = drawn("counter", Runtime.GIL, "T1 T2*3 T1*2")
    panel = next(ax for ax in fig.axes if ax.get_gid() == "panel:counter")
    lines = {line.get_gid(): line for line in panel.lines}
    value, intended = lines["value-line"], lines["intended-line"]
    assert ([0.5, 4.5, 7.5], [0, 1, 1]) == tuple(
        np.asarray(v, float).tolist() for v in value.get_data()
    )
    # The dashed line goes on to 2 at step 6, where T1's stale store lost T2's update.
    assert ([0.5, 4.5, 6.5, 7.5], [0, 1, 2, 2]) == tuple(
        np.asarray(v, float).tolist() for v in intended.get_data()
    )
    assert "intended value (every update applied)" in legend_texts(fig)


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_every_bundled_scenario_plots_without_warnings(path: Path, tmp_path: Path) -> None:
    sc = load_file(path)
    result = run(sc, seed=1, max_steps=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = draw_run(result, threads=sc.thread_names, dpi=DPI)
        save_figure(fig, tmp_path / "figure.png")  # rendering is where glyph warnings come
    summary = summarize_run(fig)
    assert sc.thread_names == summary.lanes[: len(sc.thread_names)]
    assert result.steps == summary.boxes
    assert (tmp_path / "figure.png").read_bytes().startswith(b"\x89PNG")


def many_threads(threads: int, ops: int, runtime: Runtime = Runtime.UNSAFE) -> Scenario:
    body = tuple(Op(OpKind.INCREF if i % 2 == 0 else OpKind.DECREF, "obj") for i in range(ops))
    return Scenario(
        name=f"many_{threads}x{ops}",
        threads=tuple(ThreadSpec(f"T{i + 1}", body) for i in range(threads)),
        objects=(("obj", threads + 1),),
        runtime=runtime,
    )


def many_locked(threads: int, times: int) -> Scenario:
    """``threads`` threads, each ``times`` times ``with L: counter += 1``."""
    body = (Op(OpKind.ACQUIRE, "L"), Op(OpKind.ADD, "counter", 1), Op(OpKind.RELEASE, "L"))
    return Scenario(
        name=f"locked_{threads}x{times}",
        threads=tuple(ThreadSpec(f"T{i + 1}", body * times) for i in range(threads)),
        variables=(("counter", 0),),
        locks=("L",),
        runtime=Runtime.GIL,
    )


def test_sixteen_threads_and_hundreds_of_steps_thin_the_labels(tmp_path: Path) -> None:
    sc = many_threads(16, 6)
    result = run(sc, seed=1)
    assert (288, 253) == (result.steps, result.preemptions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = draw_run(result, threads=sc.thread_names, dpi=DPI)
        save_figure(fig, tmp_path / "many.png")
    summary = summarize_run(fig)
    assert sc.thread_names == summary.lanes
    assert 288 == summary.boxes
    # Boxes a few points wide: no text in them, no preemption marks (the title counts
    # them), and one label per anomaly kind (with its count), not one per anomaly.
    assert (0, 0) == (summary.box_labels, summary.preemptions)
    assert len(result.anomalies) == len(summary.anomalies)
    kinds = {short_label(a.kind) for a in result.anomalies}
    assert len(kinds) == len(summary.anomaly_labels)


@pytest.mark.slow
def test_thousands_of_steps_draw(tmp_path: Path) -> None:
    sc = many_threads(16, 60)
    result = run(sc, seed=2)
    assert result.steps > 2000
    fig = draw_run(result, threads=sc.thread_names, dpi=DPI)
    save_figure(fig, tmp_path / "big.png")
    summary = summarize_run(fig)
    assert (result.steps, 0, 0) == (summary.boxes, summary.box_labels, summary.bytecode_starts)


def test_a_few_threads_keep_their_labels() -> None:
    sc = many_threads(4, 4, Runtime.GIL)
    result = run(sc, seed=1)
    summary = summarize_run(draw_run(result, threads=sc.thread_names, dpi=DPI))
    assert (48, 48) == (summary.boxes, summary.box_labels)
    assert ("T1", "T2", "T3", "T4", "GIL") == summary.lanes


# -- readability: room at the end, labels apart, names that fit ---------------------------


def gallery_runs() -> list[tuple[str, Runtime, str]]:
    """Every run the gallery draws: (scenario, runtime, schedule)."""
    gallery = gallery_module()
    runs = [(name, runtime, schedule) for name, (runtime, schedule) in gallery.RUNS.items()]
    return runs + list(gallery.COURSE.values())


def drawn(name: str, runtime: Runtime, schedule: str, dpi: float = DPI) -> Figure:
    sc = scenario(name)
    result = run(sc, runtime=runtime, schedule=Schedule.parse(schedule))
    return draw_run(result, threads=sc.thread_names, dpi=dpi)


def test_the_last_step_is_followed_by_an_end_column() -> None:
    fig = drawn("lost_update", Runtime.UNSAFE, "T1 T2*3 T1*2")
    # The true refs reach 3 at the end of step 6, the last: that rise shows in full, one
    # step's width before the right edge.
    assert (0.5, 7.5) == summarize_run(fig).x_range
    panel = next(ax for ax in fig.axes if ax.get_gid() == "panel:obj")
    [true_refs] = [line for line in panel.lines if line.get_gid() == "true-refs-line"]
    xs, ys = (np.asarray(values, float).tolist() for values in true_refs.get_data())
    assert ([0.5, 4.5, 6.5, 7.5], [1, 2, 3, 3]) == (xs, ys)
    labels = [t.get_text() for t in panel.get_xticklabels()]
    assert ["1", "2", "3", "4", "5", "6", "end"] == labels


@pytest.mark.parametrize("case", gallery_runs(), ids=lambda c: f"{c[0]}-{c[1]}")
def test_every_gallery_run_shows_its_last_step_whole(case: tuple[str, Runtime, str]) -> None:
    name, runtime, schedule = case
    fig = drawn(name, runtime, schedule)
    steps = run(scenario(name), runtime=runtime, schedule=Schedule.parse(schedule)).steps
    assert (0.5, steps + 1.5) == summarize_run(fig).x_range


def label_boxes(fig: Figure) -> list[tuple[str, Bbox]]:
    """The labels written over the panels and lanes (anomalies, ``freed``), in pixels."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = []
    for ax in fig.axes:
        for text in ax.texts:
            if text.get_gid() in ("anomaly-label", "freed-label"):
                patch = text.get_bbox_patch()
                artist = patch if patch is not None else text
                boxes.append((text.get_text(), artist.get_window_extent(renderer)))
    return boxes


def crossings(fig: Figure, boxes: list[tuple[str, Bbox]]) -> list[tuple[str, str]]:
    """(line, label) for each panel line or leader that runs through a label's box."""
    from matplotlib.collections import LineCollection

    found = []
    for ax in fig.axes:
        paths: list[tuple[str, Any]] = []  # (what, points in data units)
        for line in ax.lines:
            if line.get_gid() in ("value-line", "true-refs-line"):
                x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
                # steps-post: along, then up or down at the next x.
                corners = [(x[i + k], y[i]) for i in range(len(x) - 1) for k in (0, 1)]
                paths.append((str(line.get_gid()), np.array([*corners, (x[-1], y[-1])])))
        for c in ax.collections:
            if isinstance(c, LineCollection) and c.get_gid() == "anomaly-leaders":
                paths += [("leader", np.asarray(seg)) for seg in c.get_segments()]
        for what, points in paths:
            pixels = ax.transData.transform(points)
            dense = np.concatenate([np.linspace(a, b, 200) for a, b in itertools.pairwise(pixels)])
            for text, box in boxes:
                inner = box.padded(-1.5)
                if any(inner.contains(px, py) for px, py in dense):
                    found.append((what, text))
    return found


@pytest.mark.parametrize("case", gallery_runs(), ids=lambda c: f"{c[0]}-{c[1]}")
def test_labels_never_overlap_nor_sit_on_a_line(case: tuple[str, Runtime, str]) -> None:
    fig = drawn(*case, dpi=100)
    fig.canvas.draw()
    boxes = label_boxes(fig)
    overlaps = [
        (a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1 :]
        if box.overlaps(other)
    ]  # fmt: skip
    assert [] == overlaps
    assert [] == crossings(fig, boxes)
    every = {short_label(m.kind) for m in describe_run(run(
        scenario(case[0]), runtime=case[1], schedule=Schedule.parse(case[2]))).marks}  # fmt: skip
    shown = {text.split(" ×")[0] for text, _ in boxes} - {"freed"}
    assert every == shown, "every kind of anomaly keeps a label"


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_random_runs_keep_their_labels_apart(path: Path) -> None:
    sc = load_file(path)
    fig = draw_run(run(sc, seed=1, max_steps=300), threads=sc.thread_names, dpi=100)
    fig.canvas.draw()
    boxes = label_boxes(fig)
    assert [] == [
        (a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1 :]
        if box.overlaps(other)
    ]  # fmt: skip


def test_the_same_anomaly_at_adjacent_steps_has_one_label() -> None:
    fig = figure("borrowed", Runtime.ATOMIC, "T2*2 T1*4")
    assert ("use after free ×3", "double free") == fig.anomaly_labels
    assert [3.0, 4.0, 5.0, 6.0] == [x for _, x in fig.anomalies]  # a marker each still


def box_labels(fig: Figure) -> list[tuple[str, float]]:
    """Each box's text and font size, in step order."""
    lanes = next(ax for ax in fig.axes if ax.get_gid() == "lanes")
    texts = sorted((t.get_position()[0], t) for t in lanes.texts if t.get_gid() == "box-label")
    return [(t.get_text(), float(t.get_fontsize())) for _, t in texts]


def legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.legends[0].get_texts()]


def test_a_box_too_narrow_for_dealloc_says_free_at_the_box_font() -> None:
    fig = drawn("premature_free", Runtime.UNSAFE, "T1 T2*3 T1*5 T2*5")
    assert ("FREE", 11.5) == box_labels(fig)[12]  # step 13, T2's DEALLOC
    assert "DEALLOC (FREE)" in legend_texts(fig)
    # Where the word fits, it is written out, and the legend says just that.
    wide = drawn("borrowed", Runtime.ATOMIC, "T2*2 T1*4")
    assert ("DEALLOC", 11.5) == box_labels(wide)[1]
    assert "DEALLOC" in legend_texts(wide)


def test_every_micro_step_kind_has_a_short_form() -> None:
    from refsim.model import MicroKind
    from refsim.plot.run_figure import SHORT

    assert sorted(k.value for k in MicroKind) == sorted(SHORT)
    assert len(set(SHORT.values())) == len(SHORT), "no two kinds share a short form"


def test_dense_boxes_are_abbreviated_by_kind_never_cut_to_a_fragment() -> None:
    sc = many_locked(3, 3)
    fig = draw_run(run(sc, seed=3), threads=sc.thread_names, dpi=DPI)
    labels = box_labels(fig)
    assert 45 == len(labels)
    # Before: ACQUIRE showed as "L" and LOAD_GLOBAL as "0". Now each kind keeps a short
    # form with its value, alike in every box of the kind, and the legend spells it out.
    assert [
        ("ACQ\nL", 9.0), ("LDG\n0", 9.0), ("BIN\n→ 1", 11.5), ("STG\n1", 9.0), ("REL\nL", 11.5),
    ] == labels[:5]  # fmt: skip
    firsts = {text.split("\n")[0] for text, _ in labels}
    assert {"ACQ", "LDG", "BIN", "STG", "REL"} == firsts
    assert {
        "LOAD_GLOBAL (LDG)", "BINARY_OP (BIN)", "STORE_GLOBAL (STG)",
        "ACQUIRE (ACQ) / RELEASE (REL)",
    } <= set(legend_texts(fig))  # fmt: skip


def test_a_kind_without_room_for_its_short_form_loses_its_text_not_its_box() -> None:
    sc = many_threads(16, 6)
    summary = summarize_run(draw_run(run(sc, seed=1), threads=sc.thread_names, dpi=DPI))
    assert (288, 0) == (summary.boxes, summary.box_labels)


def test_long_bytecode_names_widen_the_figure_rather_than_vanish() -> None:
    fig = drawn("counter", Runtime.GIL, "T1 T2*3 T1*2")
    assert [
        ("LOAD_GLOBAL\n0", 11.5), ("LOAD_GLOBAL\n0", 11.5), ("BINARY_OP → 1", 11.5),
        ("STORE_GLOBAL\n1", 11.5), ("BINARY_OP → 1", 11.5), ("STORE_GLOBAL\n1", 11.5),
    ] == box_labels(fig)  # fmt: skip
    locked = drawn("counter_locked", Runtime.GIL, "T1*5 T2*5")
    assert ("LOAD_GLOBAL\n0", 9.0) == box_labels(locked)[1]  # not just "0"


def test_the_object_panel_is_labelled_count_for_both_of_its_lines() -> None:
    fig = drawn("leak", Runtime.UNSAFE, "T1 T2*3 T1*2")
    assert ("count",) == summarize_run(fig).y_labels
    assert {"refcount", "true refs"} <= set(legend_texts(fig))
    assert ("value",) == figure("counter", Runtime.GIL, "T1 T2*3 T1*2").y_labels


def test_race_windows_are_not_grey_like_the_add_and_sub_boxes() -> None:
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    from refsim.plot.style import BLUE, COLOUR

    fig = drawn("premature_free", Runtime.UNSAFE, "T1 T2*3 T1*5 T2*5")
    lanes = next(ax for ax in fig.axes if ax.get_gid() == "lanes")
    [windows] = [c for c in lanes.collections if c.get_gid() == "windows"]
    colours = np.asarray(windows.get_facecolor()).tolist()
    assert [list(to_rgba(BLUE, 0.16))] == colours  # a colour, not a grey like ADD / SUB's
    assert "#DDDDDD" == COLOUR["SUB"]
    handles = dict(zip(legend_texts(fig), fig.legends[0].legend_handles, strict=True))
    window = handles["race window (LOAD … STORE)"]
    assert isinstance(window, Patch)
    assert to_rgba(BLUE, 0.16) == to_rgba(window.get_facecolor())


def test_a_figure_without_panels_numbers_its_steps_under_the_lanes() -> None:
    fig = drawn("deadlock", Runtime.GIL, "T1 T2")
    lanes = next(ax for ax in fig.axes if ax.get_gid() == "lanes")
    assert ("step", True) == (lanes.get_xlabel(), lanes.xaxis.get_tick_params()["labelbottom"])


# -- determinism ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_the_same_run_gives_the_same_bytes(tmp_path: Path, suffix: str) -> None:
    sc = scenario("double_free")
    schedule = Schedule.parse("T1 T2*3 T1*5 T2*3 T1 T2 T1*3 T2*3")
    for name in ("a", "b"):
        plot_run(run(sc, schedule=schedule), tmp_path / f"{name}{suffix}", dpi=DPI)
    first, second = ((tmp_path / f"{n}{suffix}").read_bytes() for n in "ab")
    assert first == second
    if suffix == ".svg":
        assert b"<dc:date>" not in first and b"Matplotlib v" not in first
    if suffix == ".png":
        assert b"Software" not in first


def test_an_unknown_figure_format_is_refused(tmp_path: Path) -> None:
    result = run(scenario("leak"))
    with pytest.raises(ValueError, match=r"a figure must end in \.png, \.svg, \.pdf"):
        plot_run(result, tmp_path / "x.gif")


def test_scenario_text_is_drawn_as_written_never_as_mathematics() -> None:
    from dataclasses import replace

    from refsim.plot import draw_outcomes, draw_timed

    sc = replace(scenario("counter"), name="a$x^2$b")
    figures = [
        draw_run(run(sc), dpi=DPI),
        draw_timed(run_timed(sc), dpi=DPI),
        draw_outcomes(Exploration("a$x^2$b", Runtime.GIL, True, 20, exploration().outcomes)),
    ]
    for fig in figures:
        [title] = [t for t in fig.texts if t.get_gid() == "title"]
        assert title.get_text().startswith("a$x^2$b") and not title.get_parse_math()
        fig.canvas.draw()  # and it renders: no mathtext error


def test_drawing_leaves_matplotlibs_global_settings_alone() -> None:
    before = dict(matplotlib.rcParams)
    draw_run(run(scenario("leak")), dpi=DPI)
    assert before == dict(matplotlib.rcParams)


# -- outcomes --------------------------------------------------------------------------------

LEAKED = Outcome((AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE), (("obj", 1),))
FREED = Outcome((), (("obj", "freed"),))


def exploration(exhaustive: bool = True) -> Exploration:
    def stats(outcome: Outcome, count: int, p: Fraction | None, witness: str) -> OutcomeStats:
        schedule = Schedule.parse(witness)
        return OutcomeStats(outcome, count, Fraction(count, 20), p, schedule, 0)

    return Exploration(
        scenario="leak",
        runtime=Runtime.UNSAFE,
        exhaustive=exhaustive,
        interleavings=20,
        outcomes=(
            stats(LEAKED, 18, Fraction(3, 4) if exhaustive else None, "T1 T2*3 T1*2"),
            stats(FREED, 2, Fraction(1, 4) if exhaustive else None, "T1*3 T2*4"),
        ),
    )


def test_the_outcomes_figure_has_both_measures_side_by_side(tmp_path: Path) -> None:
    summary = plot_outcomes(exploration(), tmp_path / "outcomes.svg", dpi=DPI)
    assert ("✗ leak, lost-update · obj = 1", "✓ no anomaly · obj freed") == summary.outcomes
    assert ((0.9, 0.1), (0.75, 0.25)) == (summary.shares, summary.probabilities)
    # "share", as `refsim explore` and the docs call it.
    assert (
        "share of interleavings (each counted once)",
        "probability under the fair random scheduler (each enabled thread equally likely)",
    ) == summary.legend
    assert "share of interleavings / probability" == summary.xlabel


def test_a_sampled_table_has_no_probabilities() -> None:
    summary = summarize_outcomes(draw_outcomes(exploration(exhaustive=False), dpi=DPI))
    assert ((0.9, 0.1), ()) == (summary.shares, summary.probabilities)
    assert (("share of the seeded random runs",), "share of the runs") == (
        summary.legend, summary.xlabel,
    )  # fmt: skip


def test_a_rare_outcome_does_not_read_as_none() -> None:
    long = Outcome(
        (AnomalyKind.DOUBLE_FREE, AnomalyKind.LOST_UPDATE, AnomalyKind.PREMATURE_FREE,
         AnomalyKind.USE_AFTER_FREE), (("obj", "freed"),),
    )  # fmt: skip
    table = Exploration(
        "double_free", Runtime.UNSAFE, True, 56_072,
        (
            OutcomeStats(long, 56_052, Fraction(56_052, 56_072), Fraction(1, 2),
                         Schedule.parse("T1 T2*3 T1*5 T2*4 T1*3 T2*3 T1"), 5),
            OutcomeStats(FREED, 20, Fraction(20, 56_072), Fraction(1, 2),
                         Schedule.parse("T1*9 T2*10"), 0),
        ),
    )  # fmt: skip
    fig = draw_outcomes(table, dpi=DPI)
    ax = fig.axes[0]
    shares = [t.get_text() for t in ax.texts if t.get_gid() == "share-label"]
    # As `refsim explore` prints them: neither reads as certain, nor as impossible.
    assert [">99.9%  (56,052 of 56,072 interleavings)", "<0.1%  (20 of 56,072 interleavings)"] == (
        shares
    )
    # The outcome wraps between words (never inside use-after-free), and the witness is
    # whole, to pass to --schedule.
    label = ax.get_yticklabels()[0].get_text()
    assert (
        "✗ double-free, lost-update, premature-free, use-after-free\n· obj freed\n"
        "witness: T1 T2*3 T1*5 T2*4 T1*3 T2*3 T1 (5 preemptions)"
    ) == label
    summary = summarize_outcomes(fig)
    assert (
        "✗ double-free, lost-update, premature-free, use-after-free · obj freed"
        == (summary.outcomes[0])
    )


def counters(values: dict[int, tuple[int, Fraction]], total: int) -> Exploration:
    """An exploration of counters: final value -> (interleavings, fair probability); the
    highest value is the one without anomaly."""
    right = max(values)
    outcomes = tuple(
        OutcomeStats(
            Outcome(() if v == right else (AnomalyKind.LOST_UPDATE,), (("counter", v),)),
            count, Fraction(count, total), p, Schedule.parse("T1 T2"), 1,
        )
        for v, (count, p) in sorted(values.items(), key=lambda kv: -kv[1][0])
    )  # fmt: skip
    return Exploration("counter_4x3", Runtime.GIL, True, total, outcomes)


def test_rare_outcomes_are_grouped_as_other_but_the_right_answer_keeps_its_bar() -> None:
    # The shape of 4 threads x 3 `counter += 1` under the GIL: 11 outcomes, the rarest
    # under 0.1% both ways (values from `refsim explore`, the counts scaled down).
    table = counters(
        {
            4: (42_200, Fraction(372, 1000)), 3: (38_700, Fraction(203, 1000)),
            5: (15_000, Fraction(287, 1000)), 6: (2_200, Fraction(109, 1000)),
            2: (1_700, Fraction(5, 1000)), 7: (200, Fraction(22, 1000)),
            8: (50, Fraction(2, 1000)), 9: (5, Fraction(1, 10_000)),
            10: (3, Fraction(1, 100_000)), 11: (2, Fraction(1, 1_000_000)),
            12: (1, Fraction(1, 10_000_000)),
        },
        100_061,
    )  # fmt: skip
    summary = summarize_outcomes(draw_outcomes(table, dpi=DPI))
    assert (
        "✗ lost-update · counter = 4", "✗ lost-update · counter = 3",
        "✗ lost-update · counter = 5", "✗ lost-update · counter = 6",
        "✗ lost-update · counter = 2", "✗ lost-update · counter = 7",
        # 8 is rare among interleavings but not under the fair scheduler (0.2%).
        "✗ lost-update · counter = 8",
        "✓ no anomaly · counter = 12",
        "✗ other (3 outcomes, <0.1%)",
    ) == summary.outcomes  # fmt: skip
    assert pytest.approx(10 / 100_061) == summary.shares[-1]
    assert (
        pytest.approx(float(Fraction(1, 10_000) + Fraction(1, 100_000) + Fraction(1, 10**6)))
        == (summary.probabilities[-1])
    )


def test_huge_counts_beside_a_bar_are_written_in_powers_of_ten() -> None:
    table = counters({1: (9 * 10**18, Fraction(1, 2)), 2: (10**18, Fraction(1, 2))}, 10**19)
    ax = draw_outcomes(table, dpi=DPI).axes[0]
    shares = [t.get_text() for t in ax.texts if t.get_gid() == "share-label"]
    assert ["90.0%  (9.00 × 10¹⁸ of 1.00 × 10¹⁹ interleavings)",
            "10.0%  (1.00 × 10¹⁸ of 1.00 × 10¹⁹ interleavings)"] == shares  # fmt: skip


def test_many_outcomes_are_grouped_after_the_twelfth() -> None:
    outcomes = tuple(
        OutcomeStats(Outcome((), (("counter", i),)), 1, Fraction(1, 15), Fraction(1, 15),
                     Schedule.parse("T1"), 0)
        for i in range(15)
    )  # fmt: skip
    table = Exploration("many", Runtime.GIL, True, 15, outcomes)
    summary = summarize_outcomes(draw_outcomes(table, dpi=DPI))
    # Twelve bars at most: eleven outcomes and the other four.
    assert 12 == len(summary.outcomes)
    assert "other (4 outcomes, 26.7%)" == summary.outcomes[-1]
    assert pytest.approx(4 / 15) == summary.shares[-1]


# -- the command line ---------------------------------------------------------------------


def test_plot_writes_a_figure_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "leak.png"
    argv = ("plot", "leak", "--schedule", "T1 T2*3 T1*2", "-o", str(out), "--dpi", "30")
    assert (0, f"wrote {out}: leak under unsafe, schedule T1 T2*3 T1*2 (6 steps, 1 preemption; "
            "anomalies: leak, lost-update)\n", "") == refsim(capsys, *argv)  # fmt: skip
    assert out.read_bytes().startswith(b"\x89PNG")
    assert [out] == list(tmp_path.iterdir()), "no temporary file left behind"


def test_plot_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.svg"
    out.write_text("my drawing", encoding="utf-8")
    argv = ("plot", "leak", "-o", str(out), "--dpi", "30")
    status, stdout, err = refsim(capsys, *argv)
    assert (2, "", f"error: -o {out}: the file exists; pass --force to overwrite it\n") == (
        status, stdout, err,
    )  # fmt: skip
    assert "my drawing" == out.read_text(encoding="utf-8")
    assert 0 == refsim(capsys, *argv, "--force")[0]
    assert out.read_text(encoding="utf-8").startswith("<?xml")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["-o", "x.gif"],
            "-o x.gif: the suffix says what to write: .png, .svg, .pdf for a "
            "figure, .json for the run's Chrome trace",
        ),
        (
            ["--outcomes", "-o", "x.json"],
            "--outcomes draws a figure: use a .png, .svg or .pdf "
            "output (`refsim explore --json` prints the outcome table as JSON)",
        ),
        (
            ["--outcomes", "--schedule", "T1", "-o", "x.png"],
            "--outcomes counts every interleaving: it takes no --schedule",
        ),
        (["--sample", "5", "-o", "x.png"], "--sample goes with --outcomes"),
        (
            ["--schedule", "T3", "-o", "x.png"],
            "error: leak: --schedule: step 1: the schedule names 'T3', which is not a thread of "
            "this scenario",
        ),
    ],
)
def test_plot_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    status, stdout, err = refsim(capsys, "plot", "leak", *argv)
    assert (2, "") == (status, stdout)
    assert message in err
    assert [] == list(tmp_path.iterdir())


def test_plot_outcomes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "outcomes.png"
    status, stdout, _ = refsim(capsys, "plot", "leak", "--outcomes", "-o", str(out), "--dpi", "30")
    assert (0, f"wrote {out}: the outcomes of leak under unsafe (2 outcomes over 20 "
            "interleavings)\n") == (status, stdout)  # fmt: skip
    assert out.read_bytes().startswith(b"\x89PNG")


def test_plot_cuts_a_long_run_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "long.png"
    status, _, err = refsim(capsys, "plot", "cpu_bound", "--max-steps", "50", "-o", str(out),
                            "--dpi", "30")  # fmt: skip
    assert 3 == status
    assert "the run was cut after 50 steps (--max-steps); the figure shows them\n" == err
    assert out.exists()


def test_plot_without_matplotlib_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    status, stdout, err = refsim(capsys, "plot", "leak", "-o", str(tmp_path / "x.png"))
    assert (2, "") == (status, stdout)
    assert "pip install 'refsim[plot]'" in err and "Traceback" not in err
    # The Chrome trace needs only the standard library.
    assert 0 == refsim(capsys, "plot", "leak", "-o", str(tmp_path / "x.json"))[0]


# -- the gallery ---------------------------------------------------------------------------------


def gallery_names(gallery: ModuleType) -> list[str]:
    """Every figure the gallery script draws, by name."""
    return [
        *gallery.RUNS, *(f"{n}_outcomes" for n in gallery.OUTCOMES),
        *(f"{n}_timed" for n in gallery.TIMED), *gallery.COURSE, *gallery.WINDOWS,
        *gallery.SIDE_BY_SIDE, *(f"{n}_compare" for n in gallery.COMPARE), *gallery.HERE,
    ]  # fmt: skip


def test_the_gallery_decides_about_every_bundled_scenario() -> None:
    gallery = gallery_module()
    undecided = [
        p.stem
        for p in bundled_scenarios()
        if p.stem not in gallery.RUNS and not gallery.timed_only(p.stem)
    ]
    assert [] == undecided
    page = (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")
    assert set(gallery.TIMED) <= {p.stem for p in bundled_scenarios() if gallery.timed_only(p.stem)}
    for name in gallery_names(gallery):
        assert f"gallery/{name}.png" in page
        assert (ROOT / "docs" / "gallery" / f"{name}.png").exists(), "run docs/make_gallery.py"


def test_every_new_kind_of_figure_is_shown_in_plots_md() -> None:
    page = (ROOT / "docs" / "plots.md").read_text(encoding="utf-8")
    for name in ("counter", "convoy_timed", "io_then_transform_timed", "convoy_window",
                 "cpu_bound_runtimes", "io_then_transform_processes", "cpu_bound_compare",
                 "counter_locked_3x3", "counter_4x3_outcomes", "deadlock"):  # fmt: skip
        assert f"gallery/{name}.png" in page


@pytest.mark.slow
def test_the_gallery_script_draws_every_figure_and_the_same_bytes_twice(tmp_path: Path) -> None:
    gallery = gallery_module()
    first = gallery.make_gallery(tmp_path / "a", dpi=DPI)
    assert sorted(gallery_names(gallery)) == sorted(p.stem for p in first)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in first)
    second = gallery.make_gallery(tmp_path / "b", dpi=DPI)
    changed = [
        a.name for a, b in zip(first, second, strict=True) if a.read_bytes() != b.read_bytes()
    ]
    assert [] == changed


def test_shrinking_a_figure_keeps_every_fill_colour_exact(tmp_path: Path) -> None:
    from PIL import Image

    from refsim.plot import draw_comparison, save_figure
    from refsim.plot.timed_figure import GIL_HOLDERS, Variant

    gallery = gallery_module()
    sc = scenario("io_then_transform")
    variants = [
        Variant("gil", run_timed(sc)),
        Variant("atomic", run_timed(sc, runtime=Runtime.ATOMIC)),
    ]
    path = tmp_path / "f.png"
    save_figure(draw_comparison(variants, dpi=DPI), path)
    before = np.asarray(Image.open(path).convert("RGB")).astype(int)
    gallery.shrink(path)
    after = np.asarray(Image.open(path).convert("RGB")).astype(int)
    # Six holders' colours, some on a few hundred pixels: none merged into another (64
    # median-cut colours turned the indigo of one into a grey), nor white into off-white.
    for colour in [*GIL_HOLDERS[:6], "#FFFFFF"]:
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        where = (before == rgb).all(axis=2)
        assert where.any(), colour
        assert (after[where] == rgb).all(), colour
