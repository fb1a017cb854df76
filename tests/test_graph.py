"""The state graph a page walks (refsim/graph.py): every count is the explorer's, every
step is the engine's, and the budget holds."""

from __future__ import annotations

import gc
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refsim.budget import Limit
from refsim.bundled import bundled_scenarios
from refsim.engine import run
from refsim.explore import ExplorationStopped, explore
from refsim.graph import MAX_STATES, Graph, acyclic, along, build
from refsim.loader import load_file
from refsim.model import Runtime, Scenario, Schedule
from refsim.play import Session
from tests.strategies import enumerable_scenarios, prefixes


def bundled(name: str) -> Scenario:
    return load_file(f"scenarios/{name}.yaml")


def root_counts(graph: Graph) -> dict[str, int]:
    table = graph.nodes[0].table
    assert table is not None
    return {str(graph.outcomes[oid]): count for oid, count in table}


def explored(scenario: Scenario, runtime: Runtime | None = None) -> dict[str, int]:
    return {str(s.outcome): s.count for s in explore(scenario, runtime=runtime).outcomes}


def test_the_leak_graph_holds_every_state_and_the_explorers_count() -> None:
    graph = build(bundled("leak"))
    assert (31, True) == (len(graph.nodes), graph.complete)
    assert {"leak, lost-update · obj = 1": 18, "no anomaly · obj freed": 2} == root_counts(graph)


def test_walking_the_failing_schedule_gives_the_engines_trace() -> None:
    scenario = bundled("leak")
    graph = build(scenario)
    schedule = Schedule.parse("T1 T2*3 T1*2")
    path = graph.walk(schedule)
    names = scenario.thread_names
    events, anomalies = [], []
    for node, thread in zip(path, schedule, strict=False):
        move = graph.nodes[node].moves[names.index(thread)]
        assert move is not None
        events.append(move.event)
        anomalies += move.anomalies
    end = graph.nodes[path[-1]]
    expected = run(scenario, schedule=schedule)
    assert expected.trace == tuple(events)
    assert expected.anomalies == tuple(anomalies) + end.concluded
    assert expected.outcome == graph.outcomes[end.outcome or 0]


def test_a_thread_that_cannot_run_has_no_move_and_the_board_says_why() -> None:
    graph = build(bundled("leak"), Runtime.GIL)
    after_one = graph.nodes[0].moves[0]
    assert after_one is not None
    node = graph.nodes[after_one.child]
    assert None is node.moves[1]
    expected = "T1 is inside a bytecode (decref obj) and holds the GIL until it ends"
    assert expected == node.board.moves[1].reason


def test_a_state_past_the_budget_is_refused() -> None:
    with pytest.raises(ExplorationStopped) as stopped:
        build(bundled("leak"), max_states=30)
    assert (Limit.STATES, 31) == (stopped.value.limit, stopped.value.states)
    assert (
        "leak under unsafe: the state budget (--max-states) of 30 states ran out after 31 "
        "distinct states" == str(stopped.value)
    )
    assert 31 == len(build(bundled("leak"), max_states=31).nodes)


@pytest.mark.parametrize("runtime", list(Runtime), ids=lambda r: r.value)
@pytest.mark.parametrize(
    "name", ["leak", "double_free", "premature_free", "lost_wakeup", "borrowed", "semaphore_pool"]
)
def test_the_root_counts_are_the_explorers(name: str, runtime: Runtime) -> None:
    scenario = bundled(name)
    assert explored(scenario, runtime) == root_counts(build(scenario, runtime))


@pytest.mark.slow
def test_every_bundled_scenario_counts_as_the_explorer_does() -> None:
    # Under its own runtime and unsafe; every runtime is held to it on six of them above.
    over = []
    for path in bundled_scenarios():
        for part in load_file(path).per_process():
            for runtime in dict.fromkeys([part.runtime, Runtime.UNSAFE]):
                try:
                    graph = build(part, runtime)
                except ExplorationStopped:
                    over.append((path.stem, runtime.value))
                    continue
                assert explored(part, runtime) == root_counts(graph), (path.stem, runtime)
    expected = {
        ("convoy", "gil"),
        ("convoy", "unsafe"),
        ("cpu_bound", "gil"),
        ("cpu_bound", "unsafe"),
    }
    assert expected == set(over)


@settings(max_examples=40)
@given(st.data())
def test_each_states_counts_are_the_odds_refsim_play_gives(data: st.DataObject) -> None:
    scenario = data.draw(enumerable_scenarios(max_interleavings=2_000))
    graph = build(scenario)
    picks = data.draw(prefixes(scenario))
    session = Session.start(scenario)
    node = 0
    for t in picks:
        move = graph.nodes[node].moves[t]
        assert move is not None
        node = move.child
        session = session.step(scenario.thread_names[t])
    here = graph.nodes[node]
    assert session.board() == here.board
    for odds in session.odds(max_states=MAX_STATES):
        assert odds.table is not None
        move = here.moves[scenario.thread_names.index(odds.thread)]
        assert move is not None
        child = graph.nodes[move.child]
        assert child.table is not None
        ours = {str(graph.outcomes[oid]): count for oid, count in child.table}
        assert {str(s.outcome): s.count for s in odds.table.outcomes} == ours


@settings(max_examples=40)
@given(st.data())
def test_every_state_is_reachable_once_and_counts_add_up(data: st.DataObject) -> None:
    scenario = data.draw(enumerable_scenarios(max_interleavings=2_000))
    graph = build(scenario)
    parents = Counter(move.child for node in graph.nodes for move in node.moves if move is not None)
    assert set(range(1, len(graph.nodes))) == set(parents)
    for node in graph.nodes:
        assert node.table is not None
        below = sum(graph.nodes[m.child].interleavings or 0 for m in node.moves if m is not None)
        assert (below or 1) == node.interleavings
        assert [m.enabled for m in node.board.moves] == [m is not None for m in node.moves]


def test_along_keeps_only_the_states_of_its_schedules() -> None:
    scenario = bundled("leak")
    witness = Schedule.parse("T1 T2*3 T1*2")
    graph = along(scenario, None, [witness])
    assert (False, 7, (witness,)) == (graph.complete, len(graph.nodes), graph.schedules)
    assert all(node.table is None for node in graph.nodes)
    path = graph.walk(witness)
    assert graph.nodes[path[-1]].outcome is not None
    # Off the witness there is no move, though the thread could run.
    assert graph.nodes[0].board.moves[1].enabled
    assert None is graph.nodes[0].moves[1]


def test_along_leaves_out_what_is_too_long_or_does_not_replay() -> None:
    scenario = bundled("leak")
    seven = Schedule.parse("T1*3 T2*4")
    six = Schedule.parse("T1 T2*3 T1*2")
    assert (six,) == along(scenario, None, [seven, six], max_steps=6).schedules
    # Under the GIL T2 cannot run inside T1's decref; T3 is no thread at all.
    graph = along(scenario, Runtime.GIL, [six, seven, Schedule.parse("T3 T1")])
    assert ((seven,), 8) == (graph.schedules, len(graph.nodes))


def test_the_collector_is_paused_while_a_graph_is_built_and_left_as_it_was() -> None:
    assert gc.isenabled()
    seen = []
    with acyclic():
        seen.append(gc.isenabled())
        with acyclic():
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())
    seen.append(gc.isenabled())
    gc.disable()
    try:
        with acyclic():
            pass
        seen.append(gc.isenabled())
    finally:
        gc.enable()
    assert [False, False, False, True, False] == seen
