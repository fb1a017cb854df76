"""The explorer (``refsim.explore``): exact counts, probabilities and witnesses.

The explorer is held against brute force: every interleaving run one by one through the
SimPy engine (``refsim.engine.run``), which shares nothing with the explorer but the
machine. Hand-checked tables pin the bundled scenarios.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from fractions import Fraction
from math import comb, factorial
from pathlib import Path

import pytest
from claims_table import PAIRS, Basis, File, expected_status, ids, judge
from hypothesis import given, settings
from hypothesis import strategies as st

from refsim.budget import Budget, Limit, Meter
from refsim.engine import run
from refsim.explore import DEFAULT_MAX_STATES, ExplorationStopped, explore
from refsim.loader import load_file
from refsim.machine import Machine
from refsim.model import AnomalyKind, Op, OpKind, Runtime, Scenario, Schedule, ThreadSpec
from refsim.trace import Exploration, Outcome, RunResult
from tests.strategies import enumerable_scenarios, micro_steps, prefixes

SCENARIOS = Path(__file__).parent.parent / "scenarios"
UNSAFE, GIL, ATOMIC = Runtime.UNSAFE, Runtime.GIL, Runtime.ATOMIC
LEAK, LOST, PREMATURE, UAF, DOUBLE, DEADLOCK = (
    AnomalyKind.LEAK,
    AnomalyKind.LOST_UPDATE,
    AnomalyKind.PREMATURE_FREE,
    AnomalyKind.USE_AFTER_FREE,
    AnomalyKind.DOUBLE_FREE,
    AnomalyKind.DEADLOCK,
)

ROOT = Path(__file__).parent.parent


def bundled(name: str) -> Scenario:
    return load_file(SCENARIOS / f"{name}.yaml")


def threads(*programs: tuple[Op, ...], names: tuple[str, ...] = ()) -> tuple[ThreadSpec, ...]:
    names = names or tuple(f"T{i + 1}" for i in range(len(programs)))
    return tuple(ThreadSpec(name, ops) for name, ops in zip(names, programs, strict=True))


def incref(subject: str = "obj") -> Op:
    return Op(OpKind.INCREF, subject)


def decref(subject: str = "obj") -> Op:
    return Op(OpKind.DECREF, subject)


def use(subject: str = "obj") -> Op:
    return Op(OpKind.USE, subject)


def add(subject: str = "counter", n: int = 1) -> Op:
    return Op(OpKind.ADD, subject, n)


# -- brute force through the SimPy engine ------------------------------------------------


class _Walk:
    """A chooser that replays ``prefix`` and then always picks the first enabled thread,
    recording every step's enabled threads (so a depth-first walk can branch)."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.enabled: list[tuple[int, ...]] = []

    def choose(self, step: int, enabled: tuple[int, ...], last: int) -> int:
        self.enabled.append(enabled)
        return self.prefix[step - 1] if step <= len(self.prefix) else enabled[0]


@dataclass
class Brute:
    """Every interleaving of one scenario, run one by one."""

    runs: list[tuple[RunResult, Fraction, list[int]]]
    """Each interleaving's result, its probability under the fair random scheduler, and
    its picks (thread indices)."""

    def table(self, bound: int | None = None) -> dict[Outcome, tuple[int, Fraction, str, int]]:
        """Per outcome: count, probability (conditional on the bound), witness, preemptions."""
        kept = [r for r in self.runs if bound is None or r[0].preemptions <= bound]
        weight = sum(p for _, p, _ in kept)
        found: dict[Outcome, list[object]] = {}
        for result, p, picks in kept:
            key = (result.preemptions, len(picks), witness_order(picks))
            entry = found.setdefault(result.outcome, [0, Fraction(0), key, result])
            entry[0] += 1  # type: ignore[operator]
            entry[1] += p  # type: ignore[operator]
            if key < entry[2]:  # type: ignore[operator]
                entry[2], entry[3] = key, result
        return {
            outcome: (count, prob / weight, str(best.schedule), best.preemptions)  # type: ignore[operator, union-attr]
            for outcome, (count, prob, _, best) in found.items()
        }


def witness_order(picks: list[int]) -> tuple[tuple[int, int], ...]:
    """The tie-break between equally short, equally preempting witnesses: at each step a
    switch (to the lowest thread index) before continuing the same thread."""
    symbols = []
    last = -1
    for t in picks:
        symbols.append((0, t) if t != last else (1, 0))
        last = t
    return tuple(symbols)


def brute_force(scenario: Scenario, runtime: Runtime | None = None) -> Brute:
    """Every interleaving, depth first: one engine run per interleaving, branching at each
    step on the enabled threads the run did not pick."""
    runs = []
    stack: list[list[int]] = [[]]
    while stack:
        prefix = stack.pop()
        walk = _Walk(prefix)
        result = run(scenario, runtime=runtime, chooser=walk, keep_trace=False)
        picks = [scenario.thread_names.index(name) for name in result.schedule]
        for i in range(len(prefix), len(picks)):
            for other in walk.enabled[i][1:]:
                stack.append(picks[:i] + [other])
        probability = Fraction(1)
        for enabled in walk.enabled:
            probability /= len(enabled)
        runs.append((result, probability, picks))
    return Brute(runs)


def table(exploration: Exploration) -> dict[Outcome, tuple[int, Fraction, str, int]]:
    return {
        s.outcome: (s.count, s.probability, str(s.witness), s.preemptions)  # type: ignore[misc]
        for s in exploration.outcomes
    }


# -- the differential test ----------------------------------------------------------------


# -- from a start state (the odds in refsim play) --------------------------------------------


@settings(max_examples=100)
@given(st.data())
def test_from_a_start_state_it_counts_the_interleavings_that_continue_it(
    data: st.DataObject,
) -> None:
    scenario = data.draw(enumerable_scenarios(max_interleavings=2_000))
    prefix = data.draw(prefixes(scenario))
    machine = Machine(scenario)
    state = machine.initial()
    for thread in prefix:
        state = machine.step(state, thread)[0]
    exploration = explore(scenario, start=state)
    continuing = [
        (r, p) for r, p, picks in brute_force(scenario).runs if picks[: len(prefix)] == prefix
    ]
    weight = sum(p for _, p in continuing)
    expected: dict[Outcome, tuple[int, Fraction]] = {}
    for result, p in continuing:
        count, probability = expected.get(result.outcome, (0, Fraction(0)))
        expected[result.outcome] = (count + 1, probability + p / weight)
    actual = {s.outcome: (s.count, s.probability) for s in exploration.outcomes}
    assert (expected, len(continuing)) == (actual, exploration.interleavings)
    names = scenario.thread_names
    for s in exploration.outcomes:
        # A witness continues the prefix: together they replay to the outcome.
        whole = Schedule.from_steps([names[t] for t in prefix] + list(s.witness))
        assert s.outcome == run(scenario, schedule=whole, keep_trace=False).outcome


def test_from_the_initial_state_start_changes_nothing() -> None:
    scenario = bundled("double_free")
    assert explore(scenario) == explore(scenario, start=Machine(scenario).initial())


def test_kinds_recorded_before_the_start_belong_to_every_outcome() -> None:
    scenario = bundled("leak")
    machine = Machine(scenario)
    state = machine.initial()
    for thread in (0, 1, 1, 1, 0, 0):  # T1 T2*3 T1*2: the lost update at step 6
        state = machine.step(state, thread)[0]
    [only] = explore(scenario, start=state).outcomes
    expected = (Outcome((LEAK, LOST), (("obj", 1),)), 1, Schedule(()), 0)
    assert expected == (only.outcome, only.count, only.witness, only.preemptions)


def test_a_sample_cannot_start_from_a_state() -> None:
    scenario = bundled("leak")
    with pytest.raises(ValueError, match="not from start"):
        explore(scenario, sample=10, start=Machine(scenario).initial())


@settings(max_examples=150)
@given(enumerable_scenarios(max_interleavings=3_000), st.sampled_from([None, 0, 1, 2]))
def test_the_explorer_agrees_with_brute_force_through_the_engine(
    scenario: Scenario, bound: int | None
) -> None:
    brute = brute_force(scenario)
    exploration = explore(scenario, preemption_bound=bound)
    expected = brute.table(bound)
    assert expected == table(exploration)
    assert sum(c for c, _, _, _ in expected.values()) == exploration.interleavings
    assert exploration.exhaustive
    if bound is None:
        assert len(brute.runs) == exploration.interleavings
        assert exploration.bound_probability is None
    else:
        within = sum(p for r, p, _ in brute.runs if r.preemptions <= bound)
        assert within == exploration.bound_probability


@pytest.mark.slow
@settings(max_examples=20)
@given(enumerable_scenarios(max_interleavings=10_000, max_ops=4))
def test_the_explorer_agrees_with_brute_force_on_bigger_scenarios(scenario: Scenario) -> None:
    assert brute_force(scenario).table() == table(explore(scenario))


@given(enumerable_scenarios(max_interleavings=3_000), st.sampled_from([None, 1]))
def test_every_witness_replays_to_its_outcome(scenario: Scenario, bound: int | None) -> None:
    for stats in explore(scenario, preemption_bound=bound).outcomes:
        result = run(scenario, schedule=stats.witness)
        assert stats.outcome == result.outcome
        assert stats.preemptions == result.preemptions
        assert result.completed_from is None


@given(enumerable_scenarios(max_interleavings=3_000))
def test_probabilities_and_shares_sum_to_one(scenario: Scenario) -> None:
    exploration = explore(scenario)
    assert 1 == sum(s.share for s in exploration.outcomes)
    assert 1 == sum(s.probability for s in exploration.outcomes)  # type: ignore[misc]
    counts = [s.count for s in exploration.outcomes]
    assert sorted(counts, reverse=True) == counts


@given(enumerable_scenarios(max_interleavings=3_000), st.integers(0, 3))
def test_a_bound_only_removes_interleavings(scenario: Scenario, bound: int) -> None:
    full = {s.outcome: s for s in explore(scenario).outcomes}
    bounded = explore(scenario, preemption_bound=bound)
    for stats in bounded.outcomes:
        assert stats.count <= full[stats.outcome].count
        assert full[stats.outcome].witness == stats.witness
    for outcome, stats in full.items():
        if stats.preemptions <= bound:
            assert outcome in {s.outcome for s in bounded.outcomes}


# -- symmetry ------------------------------------------------------------------------------


def test_interchangeable_threads_share_states_and_counts_stay_exact() -> None:
    body = (incref(), use(), decref())
    # `compute 0` lowers to nothing: the same micro-steps, but a different program, so
    # the explorer cannot treat the threads as interchangeable.
    padded = (*body, Op(OpKind.COMPUTE, None, 0))
    padded_twice = (*padded, Op(OpKind.COMPUTE, None, 0))
    same = Scenario("same", threads(body, body, body), objects=(("obj", 1),))
    differ = replace(same, name="differ", threads=threads(body, padded, padded_twice))
    symmetric, plain = explore(same), explore(differ)
    assert table(plain) == table(symmetric)
    assert symmetric.states < plain.states
    # 7 micro-steps per thread, 8 for those whose decref deallocates.
    assert factorial(21) // factorial(7) ** 3 < symmetric.interleavings
    assert symmetric.interleavings < factorial(24) // factorial(8) ** 3


def test_two_threads_times_five_increments_count_every_interleaving() -> None:
    body = tuple(add() for _ in range(5))
    scenario = Scenario("counter_2x5", threads(body, body), variables=(("counter", 0),))
    exploration = explore(scenario)
    assert comb(30, 15) == 155_117_520 == exploration.interleavings
    correct = [s for s in exploration.outcomes if not s.outcome.anomalies]
    # Nothing is lost exactly when no two increments overlap: the ten whole increments
    # in any order, C(10, 5) ways.
    assert [(comb(10, 5), (("counter", 10),))] == [(s.count, s.outcome.final) for s in correct]


# -- hand-checked tables ----------------------------------------------------------------------


def counts(exploration: Exploration) -> list[tuple[str, int, str, str, int]]:
    return [
        (
            str(s.outcome),
            s.count,
            str(s.probability),
            str(s.witness),
            s.preemptions,
        )
        for s in exploration.outcomes
    ]


def test_the_model_example_two_increfs_from_one() -> None:
    # MODEL.md: 20 interleavings under unsafe, 18 lose an update and end at 2; 2 and 2.
    # A fair random scheduler keeps the count right only if the thread it picks first is
    # picked twice more (1/2 * 1/2).
    scenario = bundled("lost_update")
    assert [
        ("lost-update · obj = 2", 18, "3/4", "T1 T2*3 T1*2", 1),
        ("no anomaly · obj = 3", 2, "1/4", "T1*3 T2*3", 0),
    ] == counts(explore(scenario, runtime=UNSAFE))
    assert [("no anomaly · obj = 3", 2, "1", "T1*3 T2*3", 0)] == counts(
        explore(scenario, runtime=GIL)
    )
    assert [("no anomaly · obj = 3", 2, "1", "T1 T2", 0)] == counts(
        explore(scenario, runtime=ATOMIC)
    )


def test_leak() -> None:
    # 20 = 2 serial runs (the second decref stores 0 and deallocates: 7 steps) + 18 in
    # which both LOAD 2 before either STORE: both store 1, the object leaks.
    scenario = bundled("leak")
    assert [
        ("leak, lost-update · obj = 1", 18, "3/4", "T1 T2*3 T1*2", 1),
        ("no anomaly · obj freed", 2, "1/4", "T1*3 T2*4", 0),
    ] == counts(explore(scenario))
    assert [("no anomaly · obj freed", 2, "1", "T1*3 T2*4", 0)] == counts(
        explore(scenario, runtime=GIL)
    )
    assert [("no anomaly · obj freed", 2, "1", "T1 T2*2", 0)] == counts(
        explore(scenario, runtime=ATOMIC)
    )


def test_counter_races_under_every_runtime() -> None:
    for runtime in Runtime:
        assert [
            ("lost-update · counter = 1", 18, "3/4", "T1 T2*3 T1*2", 1),
            ("no anomaly · counter = 2", 2, "1/4", "T1*3 T2*3", 0),
        ] == counts(explore(bundled("counter"), runtime=runtime))


def test_counter_locked_is_right_under_every_runtime() -> None:
    for runtime in Runtime:
        assert [("no anomaly · counter = 2", 2, "1", "T1*5 T2*5", 0)] == counts(
            explore(bundled("counter_locked"), runtime=runtime)
        )


def test_deadlock() -> None:
    # 6: either thread runs all four ops before the other starts (2 ways), or the other
    # starts after the first's `acquire B` (T1*2 T2.. is blocked at once: 2 more ways);
    # or each takes its first lock first (2 ways: T1 T2, T2 T1): deadlock.
    for runtime in Runtime:
        assert [
            ("no anomaly", 4, "1/2", "T1*4 T2*4", 0),
            ("deadlock", 2, "1/2", "T1 T2", 1),
        ] == counts(explore(bundled("deadlock"), runtime=runtime))


def test_borrowed() -> None:
    scenario = bundled("borrowed")
    unsafe = explore(scenario, runtime=UNSAFE)
    assert 296 == unsafe.interleavings
    assert [
        ("lost-update, premature-free, use-after-free · obj freed", 156),
        ("lost-update · obj freed", 84),
        ("leak, lost-update · obj = 1", 30),
        ("lost-update, use-after-free · obj freed", 12),
        ("no anomaly · obj freed", 5),
        ("double-free, premature-free, use-after-free · obj freed", 4),
        ("double-free, use-after-free · obj freed", 3),
        ("double-free · obj freed", 2),
    ] == [(str(s.outcome), s.count) for s in unsafe.outcomes]
    # Under the GIL every op is atomic: T1's three ops and T2's decref interleave in
    # C(4,1) = 4 ways; only T2 first (freeing obj before T1's incref) goes wrong.
    assert [
        ("no anomaly · obj freed", 3, "1/2", "T1*7 T2*4", 0),
        ("double-free, use-after-free · obj freed", 1, "1/2", "T2*4 T1*8", 0),
    ] == counts(explore(scenario, runtime=GIL))
    assert [
        ("no anomaly · obj freed", 3, "1/2", "T1*3 T2*2", 0),
        ("double-free, premature-free, use-after-free · obj freed", 2, "3/16", "T2 T1 T2 T1*3", 2),
        ("double-free · obj freed", 2, "1/16", "T2 T1*4 T2", 1),
        ("double-free, use-after-free · obj freed", 1, "1/4", "T2*2 T1*4", 0),
    ] == counts(explore(scenario, runtime=ATOMIC))


def test_premature_free() -> None:
    scenario = bundled("premature_free")
    unsafe = explore(scenario)
    assert 1770 == unsafe.interleavings
    assert [
        ("lost-update · obj = 1", 1218),
        ("lost-update, premature-free · obj freed", 216),
        ("lost-update · obj = 2", 210),
        ("lost-update, premature-free, use-after-free · obj freed", 108),
        ("no anomaly · obj = 1", 18),
    ] == [(str(s.outcome), s.count) for s in unsafe.outcomes]
    for runtime in (GIL, ATOMIC):
        [only] = explore(scenario, runtime=runtime).outcomes
        assert ("no anomaly · obj = 1", 10) == (str(only.outcome), only.count)


def test_double_free() -> None:
    scenario = bundled("double_free")
    unsafe = explore(scenario)
    assert 56_072 == unsafe.interleavings
    assert [
        ("leak, lost-update · obj = 1", 29_484),
        ("lost-update · obj freed", 10_908),
        ("leak, lost-update · obj = 2", 5_670),
        ("double-free, lost-update · obj freed", 3_888),
        ("lost-update, premature-free, use-after-free · obj freed", 3_186),
        ("double-free, lost-update, premature-free, use-after-free · obj freed", 2_592),
        ("leak, lost-update · obj = 3", 324),
        ("no anomaly · obj freed", 20),
    ] == [(str(s.outcome), s.count) for s in unsafe.outcomes]
    for runtime in (GIL, ATOMIC):
        [only] = explore(scenario, runtime=runtime).outcomes
        assert ("no anomaly · obj freed", 20) == (str(only.outcome), only.count)


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
@pytest.mark.parametrize("runtime", list(Runtime))
def test_bundled_tables_agree_with_brute_force(name: str, runtime: Runtime) -> None:
    scenario = bundled(name)
    if name == "double_free" and runtime is UNSAFE:
        pytest.skip("56,072 engine runs: covered by the slow test below")
    at = replace(scenario, runtime=runtime)
    if sum(micro_steps(at)) > 60:
        pytest.skip("too many micro-steps for brute force (a timed-mode scenario)")
    exploration = explore(scenario, runtime=runtime)
    if exploration.interleavings > 5_000:
        pytest.skip(f"{exploration.interleavings:,} interleavings: too many for brute force")
    assert brute_force(scenario, runtime).table() == table(exploration)


@pytest.mark.slow
def test_double_free_agrees_with_brute_force() -> None:
    scenario = bundled("double_free")
    assert brute_force(scenario).table() == table(explore(scenario))


# -- preemption bounds ----------------------------------------------------------------------


def test_a_bound_of_zero_counts_the_serial_runs() -> None:
    exploration = explore(bundled("lost_update"), preemption_bound=0)
    assert 2 == exploration.interleavings
    assert [("no anomaly · obj = 3", 2, "1", "T1*3 T2*3", 0)] == counts(exploration)
    # A fair random run never preempts with probability 2 * 1/2 * (1/2 * 1/2) = 1/4.
    assert Fraction(1, 4) == exploration.bound_probability
    assert 0 == exploration.preemption_bound


def test_a_bound_of_one_already_finds_the_lost_update() -> None:
    exploration = explore(bundled("lost_update"), preemption_bound=1)
    # One preemption: T1 runs i micro-steps (1 or 2), T2 runs all 3, T1 finishes; and
    # the mirror image: 4 lost updates, plus the 2 serial runs. T1 T2*3 T1*2 is one.
    # A fair random run: no preemption 1/4 (above); T1 T2*3 T1*2 has probability 1/16,
    # T1*2 T2*3 T1 1/32, and the mirror images the same: 3/16 more within the bound.
    assert Fraction(1, 4) + Fraction(3, 16) == exploration.bound_probability
    assert [
        ("lost-update · obj = 2", 4, "3/7", "T1 T2*3 T1*2", 1),
        ("no anomaly · obj = 3", 2, "4/7", "T1*3 T2*3", 0),
    ] == counts(exploration)


# -- budget and sampling --------------------------------------------------------------------


def test_the_budget_names_the_option() -> None:
    # T1 has 3 places between its bytecodes (2 ops), T2 4: 12 combinations at least.
    with pytest.raises(ExplorationStopped, match="needs at least 12") as error:
        explore(bundled("premature_free"), max_states=10)
    assert "the state budget (--max-states) of 10 states ran out" in str(error.value)
    assert (10, 0, 12) == (error.value.max_states, error.value.states, error.value.at_least)
    assert 1_000_000 == DEFAULT_MAX_STATES


def test_a_count_stopped_halfway_says_what_it_saw() -> None:
    counter = bundled("counter")
    with pytest.raises(ExplorationStopped) as error:
        explore(counter, runtime=Runtime.UNSAFE, max_states=12)
    stopped = error.value
    assert (Limit.STATES, 12, True) == (stopped.limit, stopped.states, stopped.counting)
    # Every kind seen is reachable (the full count shows it), and the estimate of the
    # interleavings comes from fair random runs.
    full = explore(counter, runtime=Runtime.UNSAFE)
    assert stopped.kinds <= full.kinds
    assert stopped.interleavings is not None
    assert full.interleavings / 2 < stopped.interleavings < full.interleavings * 2


def test_a_bounded_count_has_a_budget_too() -> None:
    with pytest.raises(ExplorationStopped):
        explore(bundled("premature_free"), max_states=10, preemption_bound=2)


def test_sampling_replaces_the_exact_count_when_the_budget_runs_out() -> None:
    scenario = bundled("premature_free")
    sampled = explore(scenario, max_states=10, sample=200, seed=5)
    assert not sampled.exhaustive
    assert 200 == sampled.interleavings
    assert 5 == sampled.seed
    # Run i of the sample is `refsim run --seed 5+i`.
    expected: dict[Outcome, int] = {}
    for i in range(200):
        outcome = run(scenario, seed=5 + i, keep_trace=False).outcome
        expected[outcome] = expected.get(outcome, 0) + 1
    assert expected == {s.outcome: s.count for s in sampled.outcomes}
    for stats in sampled.outcomes:
        assert stats.probability is None
        assert Fraction(stats.count, 200) == stats.share
        assert stats.outcome == run(scenario, schedule=stats.witness).outcome


def test_within_the_budget_sample_changes_nothing() -> None:
    scenario = bundled("leak")
    assert explore(scenario) == explore(scenario, sample=10)


def test_the_meter_counts_every_state() -> None:
    body = tuple(add() for _ in range(4))
    scenario = Scenario("c", threads(body, body, body), variables=(("counter", 0),))
    meter = Meter(Budget.unlimited())
    exploration = explore(scenario, meter=meter)
    assert {"states explored": exploration.states} == meter.tally


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_states": 0}, "max_states must be at least 1"),
        ({"preemption_bound": -1}, "at least 0"),
        ({"sample": 0}, "at least 1 run"),
        ({"sample": 5, "preemption_bound": 1}, "cannot respect a preemption bound"),
    ],
)
def test_bad_options(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        explore(bundled("leak"), **options)  # type: ignore[arg-type]


# -- odd programs ---------------------------------------------------------------------------


def test_a_single_thread_has_one_interleaving() -> None:
    scenario = Scenario("one", threads((incref(), decref(), decref())), objects=(("obj", 1),))
    # incref (3 micro-steps), decref to 1 (3: no DEALLOC), decref to 0 (4).
    assert [("no anomaly · obj freed", 1, "1", "T1*10", 0)] == counts(explore(scenario))


def test_long_computes_do_not_recurse() -> None:
    # 3,000 micro-steps deep: the explorer's walk is iterative.
    scenario = Scenario(
        "long", threads((Op(OpKind.COMPUTE, None, 3000),), (add("c"),)), variables=(("c", 0),)
    )
    exploration = explore(scenario)
    assert comb(3003, 3) == exploration.interleavings
    assert [Schedule.parse("T1*3000 T2*3")] == [s.witness for s in exploration.outcomes]


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_the_outcome_column_never_vanishes_on_a_narrow_terminal(width: int) -> None:
    from rich.console import Console

    from refsim.render.explore import print_exploration

    path = ROOT / "docs" / "howto" / "examples" / "del_while_reading.yaml"
    scenario = load_file(path)
    screen = Console(width=width, file=io.StringIO(), highlight=False, markup=False)
    exploration = explore(scenario)
    print_exploration(screen, scenario, exploration, file=str(path))
    text = screen.file.getvalue()  # type: ignore[attr-defined]
    flat = " ".join(text.split())
    wanted = ["leak, lost-update", "obj = 2", "obj = 1", "no anomaly", "obj freed"]
    wanted += [str(s.witness) for s in exploration.outcomes]
    fits = max(map(len, text.splitlines())) <= width
    assert ([], True) == ([w for w in wanted if w not in flat], fits)


# -- the one reading of claims (tests/claims_table.py) --------------------------------------


@pytest.mark.parametrize("pair", PAIRS, ids=ids)
def test_explore_reads_claims_as_the_table_does(pair: tuple[File, Runtime], tmp_path: Path) -> None:
    status, _ = judge(tmp_path, pair, "explore")
    assert expected_status(*pair, Basis.EVERY) == status
