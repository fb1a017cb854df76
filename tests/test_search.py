"""The search: finds what the bundled scenarios claim, shrinks to the fewest preemptions,
finds nothing where nothing can happen, replays exactly, and stays deterministic."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from claims_table import PAIRS, Basis, File, expected_status, ids, judge
from cli_runner import flat
from golden_files import check_golden
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import scenarios

import refsim
from refsim.bundled import resolve
from refsim.cli import main
from refsim.engine import DEFAULT_MAX_STEPS, run
from refsim.loader import load_file, load_text
from refsim.machine import Machine
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.search import EventChooser, _play, rank, schedules, search, search_report

ROOT = Path(__file__).parent.parent
SMALL = 1000
"""Micro-steps at most in a run of the scenarios searched here (the timed-mode scenarios
run millions of compute steps: searching them is slow, and there is nothing to find)."""


def _small(path: Path) -> bool:
    programs = Machine(load_file(path)).programs
    return sum(instr.times for program in programs for instr in program) <= SMALL


SCENARIOS = [path for path in sorted((ROOT / "scenarios").glob("*.yaml")) if _small(path)]

NARROW = load_text(
    "name: narrow\nobjects: {obj: 1}\nthreads:\n  T1: [compute 50, incref obj]\n"
    "  T2: [incref obj]\n"
)
"""The narrow race of the issue: T2 must wait until T1 is inside its incref (or T1 must
run all of it while T2 is inside its own)."""


def scenario(name: str) -> Scenario:
    return load_file(ROOT / "scenarios" / f"{name}.yaml")


def claims() -> list[tuple[str, Runtime, AnomalyKind]]:
    found = []
    for path in SCENARIOS:
        loaded = load_file(path)
        for runtime, kinds in loaded.expect:
            found += [(loaded.name, runtime, kind) for kind in kinds]
    return found


def assert_replays(s: Scenario, result: refsim.RunResult) -> None:
    """The engine, replaying the found schedule, gives the identical run."""
    replayed = run(s, runtime=result.runtime, schedule=result.schedule)
    assert result.anomalies == replayed.anomalies
    assert result.trace == replayed.trace
    assert result.final == replayed.final
    assert replayed.completed_from is None


# -- finding what the scenarios claim ---------------------------------------------------------

# The double free needs four preemptions: it takes hundreds of examples, about a second.
HARD = {
    ("double_free", Runtime.UNSAFE, AnomalyKind.DOUBLE_FREE),
    ("biased", Runtime.UNSAFE, AnomalyKind.DOUBLE_FREE),  # four preemptions too
}


@pytest.mark.parametrize(("name", "runtime", "kind"), claims(), ids=str)
def test_finds_every_claimed_kind_on_several_seeds(
    name: str, runtime: Runtime, kind: AnomalyKind
) -> None:
    if (name, runtime, kind) in HARD:
        pytest.skip("covered by test_finds_the_double_free (slow)")
    s = scenario(name)
    for seed in (0, 1, 2):
        result = search(s, want=kind, runtime=runtime, seed=seed, max_examples=300)
        assert result is not None, (name, runtime, kind, seed)
        assert kind in result.anomaly_kinds
        assert runtime == result.runtime
        assert_replays(s, result)


@pytest.mark.slow
def test_finds_the_double_free() -> None:
    s = scenario("double_free")
    for seed in (0, 1, 2):
        report = search_report(s, want=AnomalyKind.DOUBLE_FREE, seed=seed)
        assert report.run is not None, seed
        # Four preemptions is the fewest (checked by exhaustive search), and the post-pass
        # proves it.
        assert (4, True) == (report.run.preemptions, report.minimal)
        assert "T1 T2*3 T1*5 T2*4 T1*4 T2*3" == str(report.run.schedule)
        assert_replays(s, report.run)


def test_leak_shrinks_to_one_preemption() -> None:
    s = scenario("leak")
    for seed in range(5):
        report = search_report(s, want=AnomalyKind.LEAK, seed=seed)
        assert report.run is not None
        assert 1 == report.run.preemptions
        assert "T1 T2*3 T1*2" == str(report.run.schedule)
        assert report.minimal
        assert {AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE} == report.run.anomaly_kinds


@pytest.mark.parametrize("runtime", [Runtime.GIL, Runtime.ATOMIC], ids=str)
@pytest.mark.parametrize("name", ["leak", "lost_update", "premature_free", "double_free"])
def test_nothing_under_gil_or_atomic_for_refcount_only_scenarios(
    name: str, runtime: Runtime
) -> None:
    report = search_report(scenario(name), runtime=runtime, max_examples=100)
    assert None is report.run
    assert 100 == report.examples


def test_the_narrow_race_is_found_on_every_seed() -> None:
    for seed in range(5):
        report = search_report(NARROW, seed=seed)
        assert report.run is not None, seed
        assert {AnomalyKind.LOST_UPDATE} == report.run.anomaly_kinds
        # One preemption: T2 loads, T1 runs to its end, T2 stores over T1's incref.
        assert "T2 T1*53 T2*2" == str(report.run.schedule)
        assert report.examples < 100
        assert_replays(NARROW, report.run)


def test_fair_random_scheduling_almost_never_finds_the_narrow_race() -> None:
    # What the search is for: none of 200 seeded random runs finds it.
    hits = sum(bool(run(NARROW, seed=seed, keep_trace=False).anomalies) for seed in range(200))
    assert 0 == hits


# -- ranking, determinism, options -------------------------------------------------------


def test_rank_prefers_fewer_preemptions_then_fewer_steps_then_earlier_switches() -> None:
    s = scenario("lost_update")

    def ranked(text: str) -> tuple[int, int, tuple[int, ...]]:
        return rank(run(s, schedule=Schedule.parse(text)))

    assert (1, 6, (2, 5)) == ranked("T1 T2*3 T1*2")
    assert ranked("T1 T2*3 T1*2") < ranked("T1*2 T2*3 T1")
    assert ranked("T1*2 T2*3 T1") < ranked("T1 T2 T1 T2*2 T1")


def test_same_seed_same_report_and_seeds_matter() -> None:
    s = scenario("premature_free")
    first = search_report(s, want=AnomalyKind.USE_AFTER_FREE, seed=3)
    again = search_report(s, want=AnomalyKind.USE_AFTER_FREE, seed=3)
    assert first == again
    other = search_report(s, want=AnomalyKind.USE_AFTER_FREE, seed=4)
    # Different seeds take different paths but shrink to the same minimal run.
    assert first.run is not None and other.run is not None
    assert first.run.schedule == other.run.schedule


def test_any_anomaly_when_no_kind_is_wanted() -> None:
    result = search(scenario("counter"), runtime=Runtime.GIL)
    assert result is not None
    assert "T1 T2*3 T1*2" == str(result.schedule)
    assert {AnomalyKind.LOST_UPDATE} == result.anomaly_kinds


def test_writes_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    search(scenario("leak"), seed=1)
    search(scenario("leak"), runtime=Runtime.GIL, max_examples=20)
    assert [] == list(tmp_path.iterdir())


def test_max_examples_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_examples must be at least 1, not 0"):
        search(scenario("leak"), max_examples=0)


def test_public_names() -> None:
    assert refsim.search is search
    assert refsim.search_report is search_report


# -- the strategy, as docs/search.md shows it ------------------------------------------------

LOST_UPDATE = load_file(resolve("lost_update")[0])


def test_two_increfs_can_lose_one() -> None:
    result = refsim.search(LOST_UPDATE, want=refsim.AnomalyKind.LOST_UPDATE)
    assert result is not None
    assert "T1 T2*3 T1*2" == str(result.schedule)
    assert 1 == result.preemptions


@settings(max_examples=50)
@given(schedules(LOST_UPDATE, Runtime.GIL))
def test_the_gil_makes_increfs_atomic(schedule: Schedule) -> None:
    result = refsim.run(LOST_UPDATE, schedule=schedule, runtime=Runtime.GIL)
    assert not result.anomalies
    assert (("obj", 3),) == result.final


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_drawn_schedules_are_complete_and_replay(path: Path) -> None:
    s = load_file(path)

    @settings(max_examples=20)
    @given(schedules(s))
    def check(schedule: Schedule) -> None:
        result = run(s, schedule=schedule, keep_trace=False)
        assert None is result.completed_from
        assert schedule == result.schedule

    check()


# -- the command line --------------------------------------------------------------------------


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("COLUMNS", raising=False)


def refsim_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("leak", ["scenarios/leak.yaml"]),
        ("double_free_uaf", ["scenarios/double_free.yaml", "--want", "use-after-free"]),
        ("leak_gil", ["scenarios/leak.yaml", "--runtime", "gil", "--max-examples", "50"]),
    ],
)
def test_cli_golden(
    name: str, argv: list[str], capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    status, out, err = refsim_cli(capsys, "search", *argv)
    assert (0, "") == (status, err)
    check_golden(request, f"search_{name}.txt", f"$ refsim search {shlex.join(argv)}\n{out}")


@pytest.mark.usefixtures("at_root")
def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim_cli(capsys, "search", "scenarios/leak.yaml", "--json")
    assert 0 == status
    document = json.loads(out)
    assert {
        "found": True,
        "schedule": "T1 T2*3 T1*2",
        "preemptions": 1,
        "runtime": "unsafe",
        "want": None,
        "seed": 0,
        "final": {"obj": 1},
        "agrees": True,
        "minimal": True,
        "replay": 'refsim run scenarios/leak.yaml --schedule "T1 T2*3 T1*2"',
    }.items() <= document.items()
    assert ["lost-update", "leak"] == [a["kind"] for a in document["anomalies"]]
    assert document["examples"] >= 1


@pytest.mark.usefixtures("at_root")
def test_cli_json_when_nothing_is_found(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["search", "leak", "--runtime", "atomic", "--max-examples", "10", "--json"]
    status, out, _ = refsim_cli(capsys, *argv)
    assert 0 == status
    document = json.loads(out)
    expected = {"found": False, "schedule": None, "anomalies": [], "examples": 10, "cut": 0}
    assert expected.items() <= document.items()


@pytest.mark.usefixtures("at_root")
def test_runs_cut_by_max_steps_are_blamed_on_max_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["search", "leak", "--max-steps", "1", "--max-examples", "20"]
    status, out, _ = refsim_cli(capsys, *argv)
    expected = (
        "search (seed 0): no schedule reached an anomaly in 20 examples, and 20 of them "
        "were stopped by --max-steps before the run ended: raise --max-steps."
    )
    assert (3, expected) == (status, flat(out.split("\n\n")[0]))


@pytest.mark.usefixtures("at_root")
def test_cli_exit_3_when_a_claimed_anomaly_is_not_found_within_the_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["search", "double_free", "--want", "double-free", "--max-examples", "3"]
    status, out, _ = refsim_cli(capsys, *argv)
    assert 3 == status
    assert "no schedule reached double-free in 3 examples (budget 3; raise it" in flat(out)
    assert "not shown: the scenario claims double-free can happen under unsafe;" in out


@pytest.mark.usefixtures("at_root")
def test_cli_exit_0_when_the_wanted_kind_is_not_claimed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = refsim_cli(
        capsys, "search", "leak", "--want", "deadlock", "--max-examples", "5"
    )
    assert 0 == status
    assert "as the scenario claims, deadlock cannot happen under unsafe" in out


def test_cli_exit_1_for_an_anomaly_nothing_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "unclaimed.yaml"
    path.write_text("objects: {obj: 1}\nthreads:\n  A: [incref obj]\n  B: [incref obj]\n")
    status, out, _ = refsim_cli(capsys, "search", str(path))
    assert 1 == status
    assert "unexpected: the scenario makes no claim for unsafe" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--want", "leek"], "unknown anomaly kind 'leek' (did you mean leak?)"),
        (["--max-examples", "0"], "must be at least 1, not 0"),
    ],
)
def test_cli_bad_options(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["search", "leak", *argv])
    assert 2 == exc.value.code
    assert message in capsys.readouterr().err


def test_cli_accepts_underscores_in_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim_cli(capsys, "search", "leak", "--want", "lost_update", "--json")
    assert 0 == status
    assert "lost-update" == json.loads(out)["want"]


# -- the one reading of claims (tests/claims_table.py) --------------------------------------


@pytest.mark.parametrize("pair", PAIRS, ids=ids)
def test_search_reads_claims_as_the_table_does(pair: tuple[File, Runtime], tmp_path: Path) -> None:
    status, _ = judge(tmp_path, pair, "search", "--max-examples", "200")
    assert expected_status(*pair, Basis.SEARCH) == status


@pytest.mark.parametrize("name", ["counter_locked", "leak"])
def test_a_search_whose_every_run_the_step_budget_cut_decides_nothing(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19: `search --max-steps 1` said `agrees: true` and exit 0 for a scenario
    that claims no anomaly, although no run got past its first step."""
    status = main(["search", name, "--max-steps", "1", "--max-examples", "20", "--json"])
    document = json.loads(capsys.readouterr().out)
    expected = (3, None, {"max_steps": 1}, 20)
    assert expected == (
        status, document["agrees"], document["budget_exceeded"], document["cut"]
    )  # fmt: skip
    status = main(["search", name, "--max-steps", "1", "--max-examples", "20"])
    said = flat(capsys.readouterr().out)
    assert (3, True) == (status, "stopped: the step budget decided nothing" in said)


@settings(max_examples=80)
@given(
    scenarios(),
    st.sampled_from(list(Runtime)),
    st.dictionaries(st.integers(1, 40), st.integers(0, 3), max_size=6),
)
def test_a_search_run_asks_its_chooser_only_at_its_events_and_runs_as_the_engine(
    s: Scenario, runtime: Runtime, events: dict[int, int]
) -> None:
    # The engine asks its chooser at every step; the search's own loop only at the
    # chooser's events (its `due` steps), following the default policy in between.
    machine = Machine(s, runtime)
    play = _play(machine, EventChooser(events), DEFAULT_MAX_STEPS)
    result = run(s, runtime=runtime, chooser=EventChooser(events), keep_trace=False)
    assert list(result.schedule) == [machine.thread_names[t] for t in play.picks]
    assert result.preemptions == play.preemptions
    assert result.anomalies == play.anomalies
