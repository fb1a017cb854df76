"""The one reading of ``expect:`` (refsim.claims), as a table, and every command holding a
file to it the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from claims_table import PAIRS, REACHABLE, File, Held, ids
from cli_runner import flat, repo_root  # noqa: F401 (a fixture)

from refsim.claims import (
    Basis,
    Claim,
    Verdict,
    check,
    claim,
    held,
    judge_exploration,
    judge_run,
    merge,
    nothing_to_find,
)
from refsim.cli import main
from refsim.engine import run
from refsim.explore import explore
from refsim.loader import load_text
from refsim.model import AnomalyKind, Runtime, Schedule

UNSAFE, GIL, ATOMIC = Runtime.UNSAFE, Runtime.GIL, Runtime.ATOMIC
LEAK, LOST, DOUBLE = AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE, AnomalyKind.DOUBLE_FREE

COUNTER = """\
name: counter
runtime: {runtime}
variables: {{counter: 0}}
threads:
  T1: [counter += 1]
  T2: [counter += 1]
"""


def counter(runtime: str = "gil", expect: str = "") -> str:
    return COUNTER.format(runtime=runtime) + (f"expect:\n{expect}" if expect else "")


# -- the rule, as a table -------------------------------------------------------------------

# (file's runtime, expect: block, runtime judged) -> (kinds held to, named)
RULE = [
    ("gil", "", GIL, frozenset(), False),  # no expect: the file's runtime, no anomaly
    ("gil", "", UNSAFE, None, False),  # no expect: other runtimes are not checked
    ("gil", "  unsafe: [lost-update]\n", UNSAFE, frozenset({LOST}), True),
    ("gil", "  unsafe: [lost-update]\n", GIL, frozenset(), False),  # not named: held anyway
    ("gil", "  unsafe: [lost-update]\n", ATOMIC, None, False),
    ("gil", "  gil: [lost-update]\n", GIL, frozenset({LOST}), True),
    ("unsafe", "  gil: []\n", GIL, frozenset(), True),
    ("unsafe", "  gil: []\n", UNSAFE, frozenset(), False),
]


@pytest.mark.parametrize(("runtime", "expect", "judged", "kinds", "named"), RULE)
def test_what_each_runtime_is_held_to(
    runtime: str, expect: str, judged: Runtime, kinds: frozenset[AnomalyKind] | None, named: bool
) -> None:
    scenario = load_text(counter(runtime, expect), filename="c.yaml")
    assert Claim(judged, kinds, named) == claim(scenario, judged)


def test_a_check_holds_the_named_runtimes_then_the_files_own() -> None:
    scenario = load_text(
        counter("gil", "  atomic: [lost-update]\n  unsafe: []\n"), filename="c.yaml"
    )
    expected = [(ATOMIC, True), (UNSAFE, True), (GIL, False)]
    assert expected == [(c.runtime, c.named) for c in held(scenario)]
    named_own = load_text(counter("gil", "  gil: [lost-update]\n"), filename="c.yaml")
    assert [GIL] == [c.runtime for c in held(named_own)]


# (kinds held to, basis, found) -> (holds, unexpected, missing, unshown)
VERDICTS = [
    (frozenset({LOST}), Basis.EXPLORED, {LOST}, (True, set(), set(), set())),
    (frozenset({LOST}), Basis.EXPLORED, set(), (False, set(), {LOST}, set())),
    (frozenset({LOST}), Basis.EXPLORED, {LOST, LEAK}, (False, {LEAK}, set(), set())),
    (frozenset({LOST}), Basis.SEARCHED, set(), (False, set(), {LOST}, set())),
    # An incomplete basis shows what happens, never what cannot.
    (frozenset({LOST}), Basis.PARTIAL, set(), (True, set(), set(), {LOST})),
    (frozenset({LOST}), Basis.RUN, set(), (True, set(), set(), {LOST})),
    (frozenset({LOST}), Basis.RUN, {LEAK}, (False, {LEAK}, set(), {LOST})),
    (frozenset(), Basis.SEARCH, set(), (True, set(), set(), set())),
    (frozenset(), Basis.RUN, {DOUBLE}, (False, {DOUBLE}, set(), set())),
    # A runtime that is not checked always holds.
    (None, Basis.EXPLORED, {DOUBLE}, (True, set(), set(), set())),
    (None, Basis.RUN, {DOUBLE}, (True, set(), set(), set())),
]


@pytest.mark.parametrize(("kinds", "basis", "found", "expected"), VERDICTS)
def test_verdicts(
    kinds: frozenset[AnomalyKind] | None,
    basis: Basis,
    found: set[AnomalyKind],
    expected: tuple[bool, set[AnomalyKind], set[AnomalyKind], set[AnomalyKind]],
) -> None:
    verdict = Verdict(Claim(GIL, kinds, named=kinds is not None), basis, frozenset(found))
    actual = (verdict.holds, set(verdict.unexpected), set(verdict.missing), set(verdict.unshown))
    assert expected == actual


def test_an_explorations_verdict_names_the_cheapest_witness_of_each_unexpected_kind() -> None:
    scenario = load_text(counter("gil", "  unsafe: [lost-update]\n"), filename="c.yaml")
    verdict = judge_exploration(scenario, explore(scenario))
    witness = verdict.witnesses[0]
    expected = (False, LOST, Schedule.parse("T1 T2*3 T1*2"), 1)
    assert expected == (verdict.holds, witness.kind, witness.schedule, witness.preemptions)


def test_a_run_is_held_to_its_runtimes_claim() -> None:
    scenario = load_text(counter("gil", "  unsafe: [lost-update]\n"), filename="c.yaml")
    racy = Schedule.parse("T1 T2*3 T1*2")
    assert (False, True) == (
        judge_run(scenario, run(scenario, schedule=racy)).holds,
        judge_run(scenario, run(scenario, schedule=racy, runtime=UNSAFE)).holds,
    )


@pytest.mark.parametrize(
    ("judged", "want", "expected"),
    [
        (GIL, None, True),  # the file's runtime, held to no anomaly
        (ATOMIC, None, True),  # not checked
        (UNSAFE, None, False),  # held to lost-update: a search should find it
        (UNSAFE, LOST, False),
        (UNSAFE, LEAK, True),  # held to lost-update only: no leak to find
    ],
)
def test_what_a_search_that_finds_nothing_agrees_with(
    judged: Runtime, want: AnomalyKind | None, expected: bool
) -> None:
    scenario = load_text(counter("gil", "  unsafe: [lost-update]\n"), filename="c.yaml")
    assert expected == nothing_to_find(scenario, judged, want)


def test_processes_together_are_as_complete_as_the_weakest() -> None:
    c = Claim(GIL, frozenset({LOST}), named=True)
    merged = merge(
        [
            Verdict(c, Basis.EXPLORED, frozenset()),
            Verdict(c, Basis.PARTIAL, frozenset({LOST})),
        ]
    )
    assert (Basis.PARTIAL, frozenset({LOST}), True) == (merged.basis, merged.found, merged.holds)


def test_check_holds_every_claim_including_the_implicit_one() -> None:
    scenario = load_text(counter("gil", "  unsafe: [lost-update]\n"), filename="c.yaml")
    checked = check(scenario, max_states=1_000)
    expected = [(UNSAFE, True), (GIL, False)]
    assert expected == [(c.claim.runtime, c.verdict and c.verdict.holds) for c in checked]


# -- every command reads one file the same way ------------------------------------------------


@pytest.mark.usefixtures("repo_root")
def test_every_command_holds_the_files_own_runtime_to_no_anomaly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19's file: `runtime: gil`, a racy counter, and a claim for unsafe only. The
    file's own runtime is held to "no anomaly", so every command finds the race under
    gil unexpected (play shows it, and exits 0: a game is not a check)."""
    path = tmp_path / "c.yaml"
    path.write_text(counter("gil", "  unsafe: [lost-update]\n"), encoding="utf-8")
    file = str(path)
    statuses = {}
    for name, argv in {
        "check": ["check", file],
        "explore": ["explore", file],
        "search": ["search", file],
        "story": [file],
        "run": ["run", file, "--schedule", "T1 T2*3 T1*2"],
        "compare": ["compare", file],
    }.items():
        statuses[name] = main(argv)
        capsys.readouterr()
    assert dict.fromkeys(statuses, 1) == statuses


@pytest.mark.parametrize("pair", PAIRS, ids=ids)
def test_the_table_is_the_rule(pair: tuple[File, Runtime]) -> None:
    """The hand-written table (tests/claims_table.py) against refsim.claims itself."""
    file, runtime = pair
    scenario = load_text(file.text(), filename=f"{file.id}.yaml")
    verdict = judge_exploration(scenario, explore(scenario, runtime=runtime))
    held = (
        Held.FREE
        if not verdict.claim.checked
        else Held.UNEXPECTED
        if verdict.unexpected
        else Held.MISSING
        if verdict.missing
        else Held.HOLDS
    )
    assert (file.held[runtime], REACHABLE[file.program][runtime]) == (held, verdict.found)
