"""The plain-sentence narration of a run (refsim/narrate.py), one test per anomaly kind."""

from __future__ import annotations

from pathlib import Path

from refsim.engine import run
from refsim.loader import load_file
from refsim.model import AnomalyKind, Runtime, Scenario, Schedule
from refsim.narrate import Sentence, consequences, gil_lesson, narrate

ROOT = Path(__file__).parent.parent


def _scenario(name: str) -> Scenario:
    return load_file(ROOT / "scenarios" / f"{name}.yaml")


def _story(name: str, schedule: str, runtime: Runtime | None = None) -> tuple[Sentence, ...]:
    scenario = _scenario(name)
    result = run(scenario, runtime=runtime, schedule=Schedule.parse(schedule))
    return narrate(scenario, result)


def test_leak_and_lost_update() -> None:
    expected = (
        Sentence(1, "T1 loads obj's refcount, 2, into its register, to decref it (subtract "
                    "1, then store it back)."),
        Sentence(2, "T2 loads obj's refcount, 2, too, before T1 stores back: both threads "
                    "now hold a copy that is about to go stale."),
        Sentence(4, "T2 stores 1 into obj's refcount: T1's 2 is now stale."),
        Sentence(6, "T1 stores 1 into obj's refcount over T2's 1: T2's decref is lost."),
        Sentence(None, "At the end: obj is never freed: its refcount is 1 but no reference "
                       "to it remains (true refs 0): a leak."),
    )  # fmt: skip
    assert expected == _story("leak", "T1 T2*3 T1*2")


def test_no_race_tells_only_the_free() -> None:
    expected = (Sentence(7, "T2 sees the refcount at 0 and frees obj."),)
    assert expected == _story("leak", "T1*3 T2*4")


def test_premature_free_and_use_after_free() -> None:
    story = _story("premature_free", "T1 T2*3 T1*5 T2*5")
    expected = [
        Sentence(13, "T2 sees the refcount at 0 and frees obj, but a reference still exists "
                     "(true refs 1): a premature free."),
        Sentence(14, "T2 used obj after freeing it at step 13: a use-after-free."),
    ]  # fmt: skip
    assert expected == list(story[-2:])


def test_double_free() -> None:
    story = _story("borrowed", "T2 T1 T2 T1*3", Runtime.ATOMIC)
    expected = Sentence(
        6,
        "T1 sees the refcount at 0 and frees obj a second time (T2 already freed it): a "
        "double free.",
    )
    assert expected == story[-1]


def test_a_free_decided_before_the_count_moved_on_says_so() -> None:
    # T2's RMW makes 0, T1's atomic incref makes 1, then T2 frees on its own 0.
    story = _story("borrowed", "T2 T1 T2 T1*3", Runtime.ATOMIC)
    expected = Sentence(
        3,
        "T2 frees obj because its decref brought the count to 0 (the refcount is 1 again by "
        "now), and a reference still exists (true refs 1): a premature free.",
    )
    assert expected == story[2]


def test_atomic_update_is_one_step() -> None:
    story = _story("borrowed", "T2 T1 T2 T1*3", Runtime.ATOMIC)
    expected = Sentence(2, "T1 runs incref obj in one atomic step: obj's refcount is now 1.")
    assert expected in story


def test_lost_update_on_a_variable() -> None:
    story = _story("counter", "T1 T2*3 T1*2")
    expected = Sentence(6, "T1 stores 1 into counter over T2's 1: T2's update is lost.")
    assert expected == story[-1]


def test_deadlock() -> None:
    expected = (
        Sentence(1, "T1 takes lock A."),
        Sentence(2, "T2 takes lock B."),
        Sentence(None, "At the end: deadlock: T1 waits for B (held by T2), T2 waits for A "
                       "(held by T1)."),
    )  # fmt: skip
    assert expected == _story("deadlock", "T1 T2")


def _meaning(name: str, schedule: str, runtime: Runtime | None = None) -> tuple[str, ...]:
    scenario = _scenario(name)
    return consequences(scenario, run(scenario, runtime=runtime, schedule=Schedule.parse(schedule)))


def test_consequences_name_what_a_real_process_suffers() -> None:
    expected = [
        ("leak", "runs out of memory"),
        ("premature_free", "segfault"),
        ("counter", "wrong count"),
        ("deadlock", "hung program"),
    ]
    schedules = {
        "leak": "T1 T2*3 T1*2",
        "premature_free": "T1 T2*3 T1*5 T2*5",
        "counter": "T1 T2*3 T1*2",
        "deadlock": "T1 T2",
    }
    actual = [
        (name, word)
        for name, word in expected
        if any(word in line for line in _meaning(name, schedules[name]))
    ]
    assert expected == actual


def test_consequence_of_double_free() -> None:
    lines = _meaning("borrowed", "T2 T1 T2 T1*3", Runtime.ATOMIC)
    assert ["heap corruption"] == [w for w in ["heap corruption"] if any(w in x for x in lines)]


def test_gil_lesson_per_kind_of_scenario() -> None:
    lost = frozenset({AnomalyKind.LOST_UPDATE})
    none: frozenset[AnomalyKind] = frozenset()
    everywhere = {Runtime.UNSAFE: lost, Runtime.GIL: lost, Runtime.ATOMIC: lost}
    refcount = {Runtime.UNSAFE: lost, Runtime.GIL: none, Runtime.ATOMIC: none}
    uaf = frozenset({AnomalyKind.USE_AFTER_FREE})
    ownership = {Runtime.UNSAFE: uaf, Runtime.GIL: uaf, Runtime.ATOMIC: uaf}
    actual = [
        "race survives the GIL" in gil_lesson(_scenario("counter"), everywhere),
        "no other thread runs in the middle of a bytecode"
        in gil_lesson(_scenario("leak"), refcount),
        "logic error in ownership" in gil_lesson(_scenario("borrowed"), ownership),
    ]
    assert [True, True, True] == actual
