"""``refsim play``: the session (refsim.play) and the game on standard input
(refsim/cli/play.py)."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from claims_table import PAIRS, Basis, File, expected_status, ids, judge
from cli_runner import flat, repo_root  # noqa: F401 (a fixture)
from hypothesis import given, settings
from hypothesis import strategies as st

from refsim.cli import main
from refsim.engine import run
from refsim.explore import explore
from refsim.loader import load_file
from refsim.machine import Machine, State
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.play import (
    Action,
    Autopilot,
    Boards,
    Command,
    PlayError,
    Session,
    ending,
    read_command,
)
from refsim.scheduling import QuantumChooser
from tests.strategies import enumerable_scenarios, prefixes

ROOT = Path(__file__).parent.parent
SCENARIOS = ROOT / "scenarios"
BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def bundled(name: str) -> Scenario:
    return load_file(SCENARIOS / f"{name}.yaml")


def walk(scenario: Scenario, picks: list[int]) -> Session:
    session = Session.start(scenario)
    for t in picks:
        session = session.step(scenario.thread_names[t])
    return session


# -- the session ----------------------------------------------------------------------------


def test_a_step_shows_the_register_and_the_next_micro_steps() -> None:
    session = Session.start(bundled("leak")).step("T1")
    board = session.board()
    expected = (
        (("T1", 2), ("T2", None)),
        (("obj", 2, 2, False),),
        [("T1", "decref obj", "SUB", None), ("T2", "decref obj", "LOAD", None)],
    )
    moves = [(m.thread, m.op, m.micro, m.reason) for m in board.moves]
    assert expected == (board.registers, board.objects, moves)


def test_a_thread_that_cannot_run_says_why_in_the_machines_words() -> None:
    session = Session.start(bundled("leak"), Runtime.GIL).step("T1")
    reason = "T1 is inside a bytecode (decref obj) and holds the GIL until it ends"
    assert (reason, ("T1",)) == (session.moves()[1].reason, session.enabled())
    with pytest.raises(PlayError, match=re.escape(f"T2 cannot run: {reason}")):
        session.step("T2")
    locked = Session.start(bundled("counter_locked")).step("T1")
    assert "it is waiting for lock L, which T1 holds" == locked.moves()[1].reason


def test_an_unknown_thread_is_named_with_a_guess() -> None:
    with pytest.raises(PlayError, match=r"T9 is not a thread of this scenario; its threads"):
        Session.start(bundled("leak")).step("T9")
    with pytest.raises(PlayError, match=r"did you mean T2\?"):
        Session.start(bundled("leak")).step("T22")


def test_undo_before_the_first_step_is_refused() -> None:
    with pytest.raises(PlayError, match="nothing to undo"):
        Session.start(bundled("leak")).undo()


@settings(max_examples=60)
@given(st.data())
def test_undo_restores_the_identical_state(data: st.DataObject) -> None:
    scenario = data.draw(enumerable_scenarios(max_interleavings=3_000))
    session = walk(scenario, data.draw(prefixes(scenario)))
    for thread in session.enabled():
        after = session.step(thread).undo()
        assert (session, session.board()) == (after, after.board())


@settings(max_examples=60)
@given(st.data())
def test_a_session_is_the_run_the_engine_replays(data: st.DataObject) -> None:
    scenario = data.draw(enumerable_scenarios(max_interleavings=3_000))
    session = walk(scenario, data.draw(prefixes(scenario)))
    while not session.finished:  # finish it without preemptions
        enabled = session.enabled()
        last = session.taken.event.thread if session.taken else None
        session = session.step(last if last in enabled else enabled[0])
    ours = session.result()
    theirs = run(scenario, schedule=ours.schedule)
    assert (theirs.trace, theirs.anomalies, theirs.final, theirs.preemptions) == (
        ours.trace,
        ours.anomalies,
        ours.final,
        ours.preemptions,
    )


@settings(max_examples=60)
@given(st.data())
def test_the_odds_of_the_moves_add_up_to_the_explorers_count_from_here(
    data: st.DataObject,
) -> None:
    scenario = data.draw(enumerable_scenarios(max_interleavings=3_000))
    session = walk(scenario, data.draw(prefixes(scenario)))
    odds = session.odds(max_states=100_000)
    combined: Counter[object] = Counter()
    for o in odds:
        assert o.table is not None
        assert Fraction(1) == sum(s.share for s in o.table.outcomes)  # each hint is 100%
        combined.update({s.outcome: s.count for s in o.table.outcomes})
    if session.finished:
        assert () == odds
        return
    here = explore(scenario, start=session.state)
    assert {s.outcome: s.count for s in here.outcomes} == dict(combined)


def test_the_ending_compares_with_every_interleaving() -> None:
    session = walk(bundled("leak"), [0, 1, 1, 1, 0, 0])
    done = ending(session, max_states=1_000)
    assert done.stats is not None
    expected = ("leak, lost-update · obj = 1", 18, 20, 1, 1, "T1 T2*3 T1*2")
    actual = (
        str(done.outcome),
        done.stats.count,
        done.interleavings,
        done.preemptions,
        done.stats.preemptions,
        str(done.stats.witness),
    )
    assert expected == actual


def test_the_autopilot_plays_the_quantum_schedule_and_follows_the_learner() -> None:
    scenario = bundled("leak")
    pilot = Autopilot(2)
    session = Session.start(scenario)
    while not session.finished:
        session = session.step(pilot.move(session))
    by_engine = run(scenario, chooser=QuantumChooser(2)).schedule
    assert (Schedule.parse("T1*2 T2*2 T1 T2"), by_engine) == (session.schedule, by_engine)
    # The learner runs T2 first: its turn starts there, and lasts the quantum.
    session = Session.start(scenario).step("T2")
    while not session.finished:
        session = session.step(pilot.move(session))
    assert Schedule.parse("T2*2 T1*2 T2 T1") == session.schedule


def test_after_an_undo_the_autopilot_moves_as_a_fresh_one_would() -> None:
    scenario = bundled("double_free")
    pilot = Autopilot(3, seed=5)
    session = Session.start(scenario)
    for _ in range(7):
        session = session.step(pilot.move(session))
    back = session.undo().undo()
    assert Autopilot(3, seed=5).move(back) == pilot.move(back)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("T1", Command(Action.STEP, Schedule.parse("T1"))),
        ("  t2  ", Command(Action.STEP, Schedule.parse("T2"))),
        ("T2*3 T1", Command(Action.STEP, Schedule.parse("T2*3 T1"))),
        ("u", Command(Action.UNDO)),
        ("?", Command(Action.HINT)),
        ("Q", Command(Action.QUIT)),
        ("a", Command(Action.AUTOPILOT)),
        ("", Command(Action.NEXT)),
        ("help", Command(Action.HELP)),
    ],
)
def test_read_command(line: str, expected: Command) -> None:
    assert expected == read_command(line, ("T1", "T2"))


def test_a_threads_name_wins_over_a_command_word() -> None:
    assert Command(Action.STEP, Schedule.parse("u")) == read_command("u", ("u", "v"))


def test_a_line_that_is_nothing_says_what_is() -> None:
    with pytest.raises(PlayError, match=r"'T1\*' is neither a thread nor a command"):
        read_command("T1*", ("T1", "T2"))


# -- the game on standard input -------------------------------------------------------------


def play(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lines: str, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    status = main(["play", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


pytestmark = pytest.mark.usefixtures("repo_root")


def test_the_issues_example_ends_in_a_leak(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = play(monkeypatch, capsys, "T1\nT2\nT2\nT2\nT1\nT1\n", "leak")
    text = flat(out)
    assert (0, "") == (status, err)
    assert "! leak: obj is never freed" in text
    assert "The end: leak, lost-update · obj = 1." in text
    assert 'replay: refsim run leak --schedule "T1 T2*3 T1*2"' in text


def test_play_golden(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    from golden_files import check_golden

    lines = "T1\n?\nT3\nT2\nT2*2\nu\nT2\nT1*2\n"
    status, out, _ = play(monkeypatch, capsys, lines, "leak")
    assert 0 == status
    command = "$ printf '" + lines.replace("\n", "\\n") + "' | refsim play leak\n"
    check_golden(request, "play_leak.txt", command + out)


def _witness_lines(schedule: Schedule) -> str:
    return "".join(f"{name}*{count}\n" for name, count in schedule.runs)


def _cases() -> list[tuple[str, Runtime, AnomalyKind | None]]:
    """Per bundled scenario, each anomaly kind its claims say some runtime reaches (or
    None, for a scenario where none can)."""
    cases: list[tuple[str, Runtime, AnomalyKind | None]] = []
    for name in BUNDLED:
        scenario = bundled(name)
        claimed = [(name, runtime, kind) for runtime, kinds in scenario.expect for kind in kinds]
        cases += claimed or [(name, scenario.runtime, None)]
    return cases


@pytest.mark.parametrize(("name", "runtime", "kind"), _cases())
def test_every_bundled_scenario_reaches_each_claimed_anomaly_through_stdin(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    runtime: Runtime,
    kind: AnomalyKind | None,
) -> None:
    scenario = bundled(name)
    argv = [name, "--runtime", runtime.value]
    if len(scenario.process_groups()) > 1:
        argv += ["--process", scenario.process_groups()[-1][0]]
        scenario = scenario.process(scenario.process_groups()[-1][0])
    if kind is None:
        # Nothing can go wrong: play the threads one after another (a run stops where
        # its thread finishes, and says so); threads that wait for each other cannot
        # always run so, and play an interleaving of an outcome with no anomaly.
        lines = "".join(f"{t.name}*{10**9}\n" for t in scenario.threads)
        if scenario.waits:
            outcomes = explore(scenario, runtime=runtime).outcomes
            lines = _witness_lines(next(s.witness for s in outcomes if not s.outcome.anomalies))
        wanted = "The end: no anomaly"
    else:
        outcomes = explore(scenario, runtime=runtime).outcomes
        witness = next(s.witness for s in outcomes if kind in s.outcome.anomalies)
        lines = _witness_lines(witness)
        argv += ["--goal", kind.value]
        wanted = f"! {kind}:"
    status, out, err = play(monkeypatch, capsys, lines, *argv)
    text = flat(out)
    assert (0, "", True, True) == (status, err, wanted in text, "The end:" in text)
    if kind is not None:
        assert f"Goal reached: a {kind}" in text


def test_a_name_that_is_not_a_thread_or_cannot_run_gets_one_line_and_the_game_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = play(monkeypatch, capsys, "T3\nT1\nT2\nq\nT1\n", "leak", "--runtime", "gil")
    lines = out.splitlines()
    said = [lines[i + 1] for i, line in enumerate(lines) if line in ("> T3", "> T2")]
    expected = [
        "T3 is not a thread of this scenario; its threads are T1, T2",
        "T2 cannot run: T1 is inside a bytecode (decref obj) and holds the GIL until it",
    ]
    # q ends the game: the T1 after it is never read.
    assert (0, expected, 1) == (status, said, out.count("step 1: T1"))


def test_undo_through_stdin_shows_the_board_as_it_was(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = play(monkeypatch, capsys, "T1\nu\n", "premature_free")
    start = out.split("\n\n> T1")[0].split("\n\n")[-1]
    undone = out.split("is undone.\n")[1]
    assert start + "\n" == undone


def test_an_unreachable_goal_is_said_before_play_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = play(monkeypatch, capsys, "", "leak", "--runtime", "gil", "--goal", "leak")
    before_board = out.split("thread  register")[0]
    assert "Your goal, a leak, cannot be reached: no interleaving reaches one under gil." in flat(
        before_board
    )


def test_the_autopilot_plays_what_run_quantum_plays(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = play(monkeypatch, capsys, "\na\n", "leak", "--quantum", "2")
    # The empty line: one move; a: to the end.
    one, rest = out.split("\n>\n")[1].splitlines()[0], out.split("\n> a\n")[1].splitlines()
    expected = (0, "step 1: T1 ran decref obj · LOAD", "step 2: T1 ran decref obj · SUB")
    assert expected == (status, one, rest[0])
    assert 'replay: refsim run leak --schedule "T1*2 T2*2 T1 T2"' in out


def test_a_hint_gives_each_moves_outcomes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = play(monkeypatch, capsys, "T1\n?\n", "leak")
    hint = out.split("> ?\n")[1]
    # After T1's LOAD: if T2 loads too before T1 stores, the leak is certain.
    expected = [
        "The odds from here: after step 1, 10 interleavings can still happen. By move:",
        "move  interleavings  ending in                    share",
        "T1                4  leak, lost-update · obj = 1  75.0%",
        "                     no anomaly · obj freed       25.0%",
        "T2                6  leak, lost-update · obj = 1   100%",
    ]
    assert expected == hint.splitlines()[:5]


def test_play_json_is_one_document_of_the_whole_game(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = play(monkeypatch, capsys, "T1\nT2*3\n?\nT1*2\n", "leak", "--json")
    document = json.loads(out)
    expected = (0, "T1 T2*3 T1*2", ["T1", "T2*3", "?", "T1*2"], 18, ["leak", "lost-update"])
    actual = (
        status,
        document["schedule"],
        [turn["command"] for turn in document["turns"]],
        document["ending"]["count"],
        document["ending"]["anomalies"],
    )
    assert expected == actual
    odds = {o["thread"]: o["interleavings"] for o in document["turns"][2]["odds"]}
    assert {"T1": 1} == odds  # T2 has finished


def test_a_bad_file_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = play(monkeypatch, capsys, "T1\n", "no/such.yaml")
    assert (2, "", False) == (status, out, "Traceback" in err)


def test_a_seed_without_an_autopilot_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = play(monkeypatch, capsys, "", "leak", "--seed", "3")
    assert (2, "", "error: --seed draws the autopilot's turns: it goes with --quantum N\n") == (
        status,
        out,
        err,
    )


# -- the board ------------------------------------------------------------------------------


def test_a_free_threaded_board_counts_the_local_and_the_shared_count() -> None:
    session = Session.start(bundled("leak"), Runtime.FREE_THREADED)
    # obj has no owner: its whole count, 2, is shared, and the local count is 0.
    assert (("obj", 2, 2, False),) == session.board().objects
    after = session.step("T1")
    assert ("obj", 1, 1, False) == after.board().objects[0]
    assert after.board().objects[0][1] == after.taken.event.value  # type: ignore[union-attr]


def test_the_board_says_where_the_waiting_primitives_stand() -> None:
    session = Session.start(bundled("producer_consumer"))
    assert (("queue Q", "0 of 1 item"),) == session.board().counters
    session = session.step("Producer").step("Producer")
    assert (("queue Q", "1 of 1 item"),) == session.board().counters
    waiting = Session.start(bundled("lost_wakeup")).step("Waiter").step("Waiter")
    assert (("condition C", "waiters: Waiter"),) == waiting.board().counters


# -- boards shared between states ---------------------------------------------------------


def reachable(machine: Machine, most: int) -> list[State]:
    """The first ``most`` states ``machine`` reaches, breadth first."""
    found = [machine.initial()]
    seen = set(found)
    for state in found:
        for t in machine.enabled(state):
            child = machine.step(state, t, state.step)[0]
            if child not in seen and len(found) < most:
                seen.add(child)
                found.append(child)
    return found


def shared_boards_agree(machine: Machine, states: list[State]) -> int:
    """Assert that one :class:`Boards` gives each state the board a session builds;
    return how many distinct boards it built."""
    boards = Boards(machine)
    for state in states:
        assert Session(machine, state).board() == boards(state)
    return len({id(boards(state)) for state in states})


@settings(max_examples=60, deadline=None)
@given(enumerable_scenarios(max_interleavings=2_000))
def test_a_shared_board_is_the_board_a_session_builds(scenario: Scenario) -> None:
    machine = Machine(scenario)
    states = reachable(machine, 3_000)
    assert 1 <= shared_boards_agree(machine, states) <= len(states)


@pytest.mark.parametrize("runtime", list(Runtime), ids=str)
def test_every_bundled_scenarios_shared_boards_are_its_sessions_boards(runtime: Runtime) -> None:
    for name in BUNDLED:
        machine = Machine(bundled(name), runtime)
        shared_boards_agree(machine, reachable(machine, 1_500))


def test_states_that_look_the_same_share_one_board() -> None:
    # io_bound's threads repeat `io 10ms, compute 1`: after one repetition a thread is at
    # another program counter but shows the same next op, so the board is the same one.
    machine = Machine(bundled("io_bound"))
    boards = Boards(machine)
    start = machine.initial()
    again = start
    for _ in range(2):
        again = machine.step(again, 0, again.step)[0]
    assert (0, 2) == (start.threads[0].pc, again.threads[0].pc)
    assert boards(start) is boards(again)
    assert boards(start) != boards(machine.step(start, 0)[0])


# -- the one reading of claims (tests/claims_table.py) --------------------------------------


@pytest.mark.parametrize("pair", PAIRS, ids=ids)
def test_play_reads_claims_as_the_table_does(pair: tuple[File, Runtime], tmp_path: Path) -> None:
    # A game exits 0 whatever it finds; its ending says what the claims make of the run.
    status, out = judge(tmp_path, pair, "play", "--quantum", "1", "--json", stdin="a\n")
    agrees = json.loads(out)["ending"]["agrees"]
    assert (0, expected_status(*pair, Basis.ONE_RUN) == 0) == (status, agrees)
