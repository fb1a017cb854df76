"""Timed mode (refsim/timed.py): the claims of the timed scenarios as assertions on
simulated metrics, the replay of every timed run in controlled mode, determinism, the
``processes:`` key, and ``refsim run --timed``."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
from cli_runner import refsim, repo_root  # noqa: F401 (a fixture)
from golden_files import check_golden
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import scenarios, seeds

from refsim.costs import BYTECODE, DEFAULT_SWITCH_INTERVAL, GIL_HANDOFF, PROCESS_START
from refsim.engine import run
from refsim.errors import ScenarioError
from refsim.loader import json_schema, load_file, load_text
from refsim.model import (
    AnomalyKind,
    MicroKind,
    Op,
    OpKind,
    Runtime,
    Scenario,
    Schedule,
    ThreadSpec,
    Timing,
)
from refsim.timed import _TimedRun, run_timed
from refsim.trace import RunResult

ROOT = Path(__file__).parent.parent
T = TypeVar("T")
MS = 1_000_000


def compute(n: int) -> Op:
    return Op(OpKind.COMPUTE, None, n)


def io(ns: int) -> Op:
    return Op(OpKind.IO, None, ns)


def scenario(
    *programs: tuple[Op, ...],
    runtime: Runtime = Runtime.GIL,
    cores: int = 4,
    processes: tuple[tuple[str, tuple[str, ...]], ...] = (),
    jitter: float = 0.0,
) -> Scenario:
    return Scenario(
        name="s",
        threads=tuple(ThreadSpec(f"T{i + 1}", ops) for i, ops in enumerate(programs)),
        runtime=runtime,
        timing=Timing(cores=cores, jitter=jitter),
        processes=processes,
    )


def one_process_per_thread(s: Scenario) -> Scenario:
    return replace(s, processes=tuple((f"P{i + 1}", (n,)) for i, n in enumerate(s.thread_names)))


CPU = (compute(2_500_000),)
"""50 ms of bytecodes."""
SOLO = 2_500_000 * BYTECODE


# -- the claims, as simulated metrics ------------------------------------------------------


@pytest.mark.parametrize("threads", [2, 4])
def test_cpu_bound_threads_get_no_speedup_under_the_gil(threads: int) -> None:
    result = run_timed(scenario(*[CPU] * threads))
    assert result.metrics is not None
    makespan = result.metrics.makespan_ns
    # Every bytecode runs one after another; the switches add their hand-offs on top.
    assert threads * SOLO <= makespan <= threads * SOLO * 1.01
    assert 0 < result.metrics.drop_requests <= result.metrics.switches


def test_a_single_thread_never_switches() -> None:
    result = run_timed(scenario(CPU))
    assert result.metrics is not None
    assert (SOLO, 0, 0) == (
        result.metrics.makespan_ns, result.metrics.switches, result.metrics.drop_requests,
    )  # fmt: skip


def test_a_cpu_bound_holder_is_asked_to_drop_every_switch_interval() -> None:
    result = run_timed(scenario(CPU, CPU))
    assert result.metrics is not None
    # T1 runs alone for one interval, then the two alternate, one interval each.
    first = result.schedule.runs[0]
    assert ("T1", DEFAULT_SWITCH_INTERVAL // BYTECODE) == first
    assert 20 == result.metrics.drop_requests


@pytest.mark.parametrize("runtime", [Runtime.UNSAFE, Runtime.ATOMIC])
@pytest.mark.parametrize(("threads", "cores"), [(2, 2), (4, 4), (4, 2), (8, 4), (3, 1)])
def test_without_a_gil_cpu_work_scales_up_to_the_cores(
    runtime: Runtime, threads: int, cores: int
) -> None:
    result = run_timed(scenario(*[CPU] * threads, runtime=runtime, cores=cores))
    assert result.metrics is not None
    rounds = -(-threads // cores)
    assert rounds * SOLO == result.metrics.makespan_ns
    assert 0 == result.metrics.switches


@pytest.mark.parametrize(("threads", "cores"), [(2, 2), (4, 4), (4, 2)])
def test_one_process_per_thread_scales_up_to_the_cores(threads: int, cores: int) -> None:
    s = one_process_per_thread(scenario(*[CPU] * threads, cores=cores))
    result = run_timed(s)
    assert result.metrics is not None
    makespan = result.metrics.makespan_ns
    rounds = -(-threads // cores)
    # Processes start one after another; past the cores, they queue for one.
    assert rounds * SOLO <= makespan <= rounds * SOLO + (threads - 1) * PROCESS_START
    gil = run_timed(scenario(*[CPU] * threads, cores=cores)).metrics
    assert gil is not None
    assert makespan < gil.makespan_ns


def test_io_bound_threads_overlap_under_the_gil() -> None:
    body = (io(10 * MS), compute(5000)) * 5
    result = run_timed(scenario(*[body] * 4, cores=2))
    assert result.metrics is not None
    longest = 5 * (10 * MS + 5000 * BYTECODE)
    assert longest <= result.metrics.makespan_ns <= longest * 1.02
    assert 4 * longest > 3 * result.metrics.makespan_ns
    for _, m in result.metrics.threads:
        assert 50 * MS == m.io_wait_ns


def convoy(switch_interval: int | None = None) -> RunResult:
    s = load_file(ROOT / "scenarios" / "convoy.yaml")
    return run_timed(s, keep_trace=False, switch_interval=switch_interval)


def requests_per_second(result: RunResult) -> float:
    assert result.metrics is not None
    server = dict(result.metrics.threads)["S"]
    assert server.finished_ns is not None
    return (server.ops / 3) / (server.finished_ns / 1e9)


def test_the_convoy_collapses_requests_per_second() -> None:
    rate = requests_per_second(convoy())
    # Two GIL releases per request, each costing a switch interval to win back.
    assert 1 / (2 * 0.005) * 0.9 <= rate <= 1 / (2 * 0.005)


def test_a_shorter_switch_interval_raises_the_convoys_rate() -> None:
    default, short = requests_per_second(convoy()), requests_per_second(convoy(1 * MS))
    assert 4 * default < short <= 1 / (2 * 0.001)


def test_the_convoy_server_alone_is_fast() -> None:
    s = load_file(ROOT / "scenarios" / "convoy.yaml")
    alone = replace(s, threads=s.threads[:1], processes=())
    assert requests_per_second(run_timed(alone)) > 3000


def test_a_gil_hand_off_costs_the_waiter_time() -> None:
    result = run_timed(scenario((io(1 * MS),), (compute(10),)))
    assert result.metrics is not None
    t2 = dict(result.metrics.threads)["T2"]
    # T1 holds the GIL for its IO micro-step, then hands it to T2.
    assert GIL_HANDOFF + 1_000 == t2.gil_wait_ns


def test_a_blocked_acquire_releases_the_gil_and_waits_on_the_lock() -> None:
    s = Scenario(
        name="locks",
        threads=(
            ThreadSpec("T1", (Op(OpKind.ACQUIRE, "L"), io(1 * MS), Op(OpKind.RELEASE, "L"))),
            ThreadSpec("T2", (Op(OpKind.ACQUIRE, "L"), Op(OpKind.RELEASE, "L"))),
        ),
        locks=("L",),
        runtime=Runtime.GIL,
    )
    result = run_timed(s)
    assert result.metrics is not None
    t2 = dict(result.metrics.threads)["T2"]
    # T2 gets the GIL during T1's io, finds L held and drops the GIL to wait on L.
    assert Schedule.parse("T1*3 T2*2") == result.schedule
    assert t2.lock_wait_ns > 1 * MS


def test_time_accounts_add_up() -> None:
    s = load_file(ROOT / "scenarios" / "io_then_transform.yaml")
    result = run_timed(s)
    assert result.metrics is not None
    starts = {"F1": 0, "F2": 0, "F3": 0, "F4": 0, "X1": PROCESS_START, "X2": 2 * PROCESS_START}
    for name, m in result.metrics.threads:
        waits = m.gil_wait_ns + m.io_wait_ns + m.ready_ns + m.lock_wait_ns + m.blocked_ns
        spent = m.running_ns + waits
        assert m.finished_ns == starts[name] + spent
    assert result.metrics.busy_ns <= result.metrics.makespan_ns * result.metrics.cores


# -- replay and determinism ----------------------------------------------------------------


def replays(s: Scenario, result: RunResult) -> None:
    """The timed run's schedule, replayed in controlled mode (process by process), reaches
    the same final state and anomalies."""
    subs = s.per_process()
    if len(subs) == 1:
        controlled = run(s, runtime=result.runtime, schedule=result.schedule)
        assert result.final == controlled.final
        assert result.anomalies == controlled.anomalies
        assert result.preemptions == controlled.preemptions
        assert result.steps == controlled.steps
        assert controlled.completed_from is None
        return
    kinds: set[AnomalyKind] = set()
    for (process, _), sub in zip(s.process_groups(), subs, strict=True):
        names = set(sub.thread_names)
        mine = Schedule.from_steps(t for t in result.schedule if t in names)
        controlled = run(sub, runtime=result.runtime, schedule=mine)
        prefix = f"{process}."
        assert [
            (n.removeprefix(prefix), v) for n, v in result.final if n.startswith(prefix)
        ] == list(controlled.final)
        kinds |= controlled.anomaly_kinds
    assert kinds == result.anomaly_kinds


@settings(max_examples=150)
@given(scenarios(), seeds, st.sampled_from([0.0, 0.5, 1.0]), st.integers(1, 3))
def test_every_timed_run_replays_in_controlled_mode(
    s: Scenario, seed: int, jitter: float, cores: int
) -> None:
    s = replace(s, timing=Timing(cores=cores, jitter=jitter, switch_interval=40))
    result = run_timed(s, seed=seed)
    replays(s, result)


@settings(max_examples=50)
@given(scenarios(max_threads=3), seeds, st.data())
def test_every_timed_run_with_processes_replays_process_by_process(
    s: Scenario, seed: int, data: st.DataObject
) -> None:
    split = data.draw(st.integers(1, len(s.threads)))
    names = s.thread_names
    groups = (("A", names[:split]),) + ((("B", names[split:]),) if names[split:] else ())
    # A thread joins only a thread of its own process (the loader refuses the rest).
    where = {name: process for process, members in groups for name in members}
    assume(
        all(
            where[op.subject] == where[t.name]
            for t in s.threads
            for op in t.ops
            if op.kind is OpKind.JOIN and op.subject is not None
        )
    )
    s = replace(s, processes=groups, timing=Timing(jitter=0.5, switch_interval=40))
    replays(s, run_timed(s, seed=seed))


@settings(max_examples=30)
@given(scenarios(), seeds)
def test_a_timed_run_is_a_pure_function_of_scenario_and_seed(s: Scenario, seed: int) -> None:
    s = replace(s, timing=Timing(jitter=0.3, switch_interval=50))
    assert run_timed(s, seed=seed) == run_timed(s, seed=seed)


def test_the_seed_moves_a_jittered_run_and_nothing_else() -> None:
    body = (compute(1000), io(1000), compute(1000))
    plain = scenario(body, body, runtime=Runtime.UNSAFE)
    assert run_timed(plain, seed=1) == run_timed(plain, seed=2)
    jittered = scenario(body, body, runtime=Runtime.UNSAFE, jitter=0.5)
    a, b = run_timed(jittered, seed=1), run_timed(jittered, seed=2)
    assert a.metrics is not None and b.metrics is not None
    assert a.metrics.makespan_ns != b.metrics.makespan_ns


def test_a_long_compute_is_a_few_events_not_one_per_bytecode() -> None:
    # One simulated second of two busy threads: 200 stretches, not 50 million events.
    result = run_timed(scenario((compute(25_000_000),), (compute(25_000_000),)))
    assert result.trace is not None and result.metrics is not None
    assert 50_000_000 == result.steps
    assert len(result.trace) == len(result.schedule.runs) <= 205
    assert sum(result.metrics.counts) == result.steps


def test_costs_come_from_the_file() -> None:
    s = replace(
        scenario((compute(10),)), timing=Timing(costs=((MicroKind.COMPUTE, 7),))
    )  # fmt: skip
    result = run_timed(s)
    assert result.metrics is not None
    assert 70 == result.metrics.makespan_ns


def test_a_deadlock_in_time() -> None:
    acquire, release = OpKind.ACQUIRE, OpKind.RELEASE
    s = Scenario(
        name="deadlock",
        threads=(
            ThreadSpec(
                "T1",
                (Op(acquire, "L"), io(10), Op(acquire, "M"), Op(release, "M"), Op(release, "L")),
            ),
            ThreadSpec(
                "T2",
                (Op(acquire, "M"), io(10), Op(acquire, "L"), Op(release, "L"), Op(release, "M")),
            ),
        ),
        locks=("L", "M"),
        runtime=Runtime.GIL,
    )
    result = run_timed(s)
    assert ["deadlock"] == [a.kind.value for a in result.anomalies]
    assert result.metrics is not None
    assert [None, None] == [m.finished_ns for _, m in result.metrics.threads]


# -- processes in scenario files -----------------------------------------------------------

PROCESSES = """\
threads:
  T1: [compute 3]
  W: {ops: [compute 2], count: 2}
  T3: [compute 1]
processes:
"""


def test_processes_group_threads_and_expand_counted_names() -> None:
    s = load_text(PROCESSES + "  P1: [T1, W]\n  P2: [T3]\n")
    assert (("P1", ("T1", "W1", "W2")), ("P2", ("T3",))) == s.processes
    assert [("T1", "W1", "W2"), ("T3",)] == [sub.thread_names for sub in s.per_process()]


def test_without_processes_there_is_one() -> None:
    s = load_text("threads: {T1: [compute 1]}\n")
    assert (("main", ("T1",)),) == s.process_groups()


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (
            "  P1: [T1, W]\n  P2: [T2]\n",
            ["<string>:7:8: error: processes.P2[0]: process 'P2' names 'T2', which is not a "
             "thread", "the threads are T1, W1, W2, T3"],
        ),
        (
            "  P1: [T1, W]\n  P2: [T3, T1]\n",
            ["<string>:7:12: error: processes.P2[1]: thread 'T1' is already in process 'P1': "
             "a thread runs in exactly one process"],
        ),
        (
            "  P1: [T1]\n",
            ["<string>:5:1: error: processes: threads W1, W2, T3 are in no process",
             "list every thread under one process"],
        ),
        (
            "  P1: []\n",
            ["<string>:6:7: error: processes.P1: process 'P1' runs no threads: list at least "
             "one"],
        ),
        (
            "  P1: T1\n",
            ["<string>:6:7: error: processes.P1: expected a list of thread names, got 'T1'"],
        ),
    ],
)  # fmt: skip
def test_bad_processes_are_reported_with_locations(groups: str, expected: list[str]) -> None:
    with pytest.raises(ScenarioError) as error:
        load_text(PROCESSES + groups)
    text = str(error.value)
    for part in expected:
        assert part in text


def test_the_json_schema_describes_processes() -> None:
    schema = json_schema()
    processes = schema["properties"]["processes"]
    assert "object" == processes["type"]
    assert "own GIL" in processes["description"]


# -- refsim run --timed --------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("repo_root")


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("timed_cpu_bound.txt", ["run", "cpu_bound", "--timed"]),
        ("timed_cpu_bound_atomic.txt", ["run", "cpu_bound", "--timed", "--runtime", "atomic"]),
        ("timed_io_then_transform.txt", ["run", "io_then_transform", "--timed"]),
        ("timed_leak.txt", ["run", "scenarios/leak.yaml", "--timed", "--runtime", "unsafe"]),
        ("timed_convoy.txt", ["run", "convoy", "--timed", "--switch-interval", "1ms"]),
        # Free-threaded: the refcount cell shows its two counts (3 = 2+1).
        ("timed_biased.txt", ["run", "biased", "--timed"]),
    ],
)
def test_run_timed_golden(
    name: str, argv: list[str], capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    status, out, err = refsim(capsys, *argv)
    assert (0, "") == (status, err)
    check_golden(request, name, f"$ refsim {shlex.join(argv)}\n{out}")


def test_run_timed_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "run", "cpu_bound", "--timed", "--json")
    document = json.loads(out)
    assert 0 == status
    assert "timed" == document["mode"]
    metrics = document["metrics"]
    # 100 ms of bytecodes one after another, plus 19 hand-offs of 5 µs.
    assert 100_000_000 + 19 * GIL_HANDOFF == metrics["makespan_ns"]
    assert {"switches": 19, "drop_requests": 19} == metrics["gil"]
    assert {
        "running_ns": 50_000_000, "gil_wait_ns": 45_090_000, "io_wait_ns": 0, "ready_ns": 0,
        "lock_wait_ns": 0, "blocked_ns": 0, "ops": 1, "finished_ns": 95_090_000,
    } == metrics["threads"]["T1"]  # fmt: skip
    first = document["trace"][0]
    assert (0, 5_000_000, 500) == (first["time"], first["duration"], first["count"])
    assert sum(e["count"] for e in document["trace"]) == document["steps"]


def test_a_big_timed_trace_is_not_printed_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "run", "convoy", "--timed")
    assert "not printed; --trace prints it" in out
    _, out, _ = refsim(capsys, "run", "convoy", "--timed", "--trace")
    assert "not printed" not in out
    assert 500 < len(out.splitlines())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "cpu_bound", "--timed", "--schedule", "T1"], "--schedule replays a controlled"),
        (["run", "io_then_transform"], "pick one with --process NAME (main, P1, P2)"),
        (["run", "io_then_transform", "--process", "P9"], "--process P9: no such process"),
        (["explore", "io_then_transform"], "explored one at a time: pick one with --process"),
    ],
)
def test_timed_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = refsim(capsys, *argv)
    assert (2, "") == (status, out)
    assert message in err


def test_a_micro_step_longer_than_the_switch_interval_is_waited_out_in_one_event() -> None:
    # T2 asks for the GIL once (after 5 ms); the ticks of its timer while T1's 1,000 s
    # bytecode runs change nothing, and are skipped: 200,000 of them used to be events.
    scenario = load_text(
        "runtime: gil\nthreads:\n  T1: [compute 1]\n  T2: [compute 1]\n"
        "timing:\n  costs: {COMPUTE: 1000s}\n",
        filename="long.yaml",
    )
    metrics = run_timed(scenario).metrics
    assert metrics is not None
    seconds = 1_000_000_000_000
    waited = dict(metrics.threads)["T2"].gil_wait_ns
    assert (2 * seconds + 5_000, 1, seconds + 5_000) == (
        metrics.makespan_ns,
        metrics.drop_requests,
        waited,
    )


def each_timer_its_own_event(monkeypatch: pytest.MonkeyPatch, go: Callable[[], T]) -> tuple[T, T]:
    """``go()`` with the GIL waiters' timers sharing events, then with a SimPy event each."""
    shared = go()
    with monkeypatch.context() as patch:
        patch.setattr(_TimedRun, "pool_timers", False)
        alone = go()
    return shared, alone


@settings(max_examples=60)
@given(
    scenarios(),
    seeds,
    st.sampled_from([Runtime.GIL, Runtime.PYPY]),
    st.sampled_from([0.0, 0.5]),
    st.integers(1, 3),
    st.sampled_from([5, 40, 1_000]),
)
def test_timers_that_share_an_event_give_the_same_run(
    s: Scenario, seed: int, runtime: Runtime, jitter: float, cores: int, interval: int
) -> None:
    # Short intervals and no jitter make timers fire at the same instant as steps and
    # hand-overs: the ties a shared event must order as SimPy orders separate ones.
    s = replace(s, timing=Timing(cores=cores, jitter=jitter, switch_interval=interval))
    with pytest.MonkeyPatch.context() as monkeypatch:
        shared, alone = each_timer_its_own_event(
            monkeypatch, lambda: run_timed(s, runtime=runtime, seed=seed)
        )
    assert alone == shared


@pytest.mark.parametrize("runtime", [Runtime.GIL, Runtime.PYPY])
@pytest.mark.parametrize("interval", [GIL_HANDOFF // 2, GIL_HANDOFF, 2 * GIL_HANDOFF])
def test_many_waiters_timers_share_events_and_give_the_same_run(
    monkeypatch: pytest.MonkeyPatch, runtime: Runtime, interval: int
) -> None:
    # 100 threads queue for the GIL at once (their timers fire together, in one event),
    # in two processes; each computes (a drop request cuts the stretch) and does I/O.
    # Intervals of a hand-off and its half tie timers with hand-overs.
    ops = (Op(OpKind.INCREF, "obj"), compute(7), io(4 * GIL_HANDOFF), Op(OpKind.DECREF, "obj"))
    threads = tuple(ThreadSpec(f"T{i + 1}", ops) for i in range(100))
    s = Scenario(
        name="waiters",
        threads=threads,
        objects=(("obj", 101),),
        timing=Timing(cores=4, switch_interval=interval),
        processes=(
            ("A", tuple(t.name for t in threads[:70])),
            ("B", tuple(t.name for t in threads[70:])),
        ),
    )
    shared, alone = each_timer_its_own_event(monkeypatch, lambda: run_timed(s, runtime=runtime))
    assert alone == shared
    assert shared.metrics is not None
    assert (shared.metrics.drop_requests > 0) == (interval <= GIL_HANDOFF)
