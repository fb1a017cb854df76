"""Unit tests for refsim.model: schedules, ops, durations, scenarios."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refsim.cli.common import write_json
from refsim.model import (
    AnomalyKind,
    Op,
    OpKind,
    Runtime,
    Scenario,
    Schedule,
    ScheduleSyntaxError,
    ThreadSpec,
    count_text,
    digits,
    format_duration,
)
from tests.strategies import schedules

# -- Schedule: parsing and printing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("T1*3 T2*4 T1", (("T1", 3), ("T2", 4), ("T1", 1))),
        ("T1 T2*3 T1*2", (("T1", 1), ("T2", 3), ("T1", 2))),
        ("T1", (("T1", 1),)),
        ("worker_1*12", (("worker_1", 12),)),
        ("_a*1 B", (("_a", 1), ("B", 1))),
        ("", ()),
    ],
)
def test_parse_reads_runs(text: str, runs: tuple[tuple[str, int], ...]) -> None:
    assert runs == Schedule.parse(text).runs


@pytest.mark.parametrize(
    "text",
    [
        "T1*3 T2*4 T1",
        "T1*3,T2*4,T1",
        "T1*3, T2*4 ,T1",
        "  T1*3\tT2*4\n T1  ",
        ",T1*3,,T2*4,T1,",
        "T1 * 3 T2* 4 T1",
        "T1*03 T2*4 T1*1",
    ],
)
def test_parse_accepts_commas_and_any_whitespace(text: str) -> None:
    assert (("T1", 3), ("T2", 4), ("T1", 1)) == Schedule.parse(text).runs


@pytest.mark.parametrize("text", ["", "   ", ",", " , ,\t"])
def test_parse_of_only_separators_is_the_empty_schedule(text: str) -> None:
    assert Schedule(()) == Schedule.parse(text)


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("T1 T1", (("T1", 2),)),
        ("T1*2 T1*3 T2", (("T1", 5), ("T2", 1))),
        ("T2 T1 T1*4 T1 T2 T2", (("T2", 1), ("T1", 6), ("T2", 2))),
    ],
)
def test_parse_merges_adjacent_runs_of_one_thread(
    text: str, runs: tuple[tuple[str, int], ...]
) -> None:
    assert runs == Schedule.parse(text).runs


def test_from_steps_merges_into_runs() -> None:
    expected = Schedule((("T1", 3), ("T2", 4), ("T1", 1)))
    assert expected == Schedule.from_steps(["T1"] * 3 + ["T2"] * 4 + ["T1"])


def test_from_runs_merges_adjacent_runs() -> None:
    assert (("T1", 3), ("T2", 1)) == Schedule.from_runs([("T1", 1), ("T1", 2), ("T2", 1)]).runs


def test_equal_schedules_pick_the_same_threads() -> None:
    assert Schedule.parse("T1 T1 T2") == Schedule.parse("T1*2 T2")
    assert Schedule.parse("T1*2 T2") != Schedule.parse("T1 T2*2")


@pytest.mark.parametrize(
    ("runs", "text"),
    [
        ((("T1", 3), ("T2", 4), ("T1", 1)), "T1*3 T2*4 T1"),
        ((("T1", 1),), "T1"),
        ((), ""),
    ],
)
def test_str_prints_runs(runs: tuple[tuple[str, int], ...], text: str) -> None:
    assert text == str(Schedule(runs))


@pytest.mark.parametrize("text", ["T1*3 T2*4 T1", "T1 T2*3 T1*2", "A B C*10 A", ""])
def test_str_of_parse_is_the_canonical_text(text: str) -> None:
    assert text == str(Schedule.parse(text))


@given(schedules())
def test_parse_str_round_trip(schedule: Schedule) -> None:
    assert schedule == Schedule.parse(str(schedule))


@given(schedules(), st.sampled_from([" ", ",", ", ", "\t", " ,\n"]))
def test_parse_ignores_the_separator_used(schedule: Schedule, sep: str) -> None:
    text = sep.join(f"{name}*{count}" for name, count in schedule.runs)
    assert schedule == Schedule.parse(text)


@given(st.lists(st.sampled_from(["T1", "T2", "T3"]), max_size=40))
def test_from_steps_iterates_back_to_the_steps(steps: list[str]) -> None:
    schedule = Schedule.from_steps(steps)
    assert steps == list(schedule)
    assert len(steps) == len(schedule)
    assert all(a != b for (a, _), (b, _) in zip(schedule.runs, schedule.runs[1:], strict=False))


# -- Schedule: syntax errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("T1*0", 4, "at least 1"),  # points at the count
        ("T1 T2*0", 7, "at least 1"),
        ("T1 *", 5, "count"),  # a star with no count after it
        ("1T", 1, "'1T'"),  # names cannot start with a digit
        ("T1 2", 4, "'2'"),
        ("T1*3T2", 5, "'T'"),  # runs must be separated
        ("T1 T2-3", 6, "'-'"),
    ],
)
def test_parse_errors_point_at_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ScheduleSyntaxError) as info:
        Schedule.parse(text)
    assert column == info.value.column
    assert text == info.value.text
    assert words in info.value.message
    assert str(info.value).startswith(f"column {column}: ")


def test_parse_rejects_a_star_without_a_count() -> None:
    with pytest.raises(ScheduleSyntaxError):
        Schedule.parse("T1*x")


@pytest.mark.parametrize(("text", "column"), [("T1*x", 4), ("T1*", 4), ("T1 T2*y", 7)])
def test_parse_error_for_a_missing_count_points_at_the_count(text: str, column: int) -> None:
    with pytest.raises(ScheduleSyntaxError) as info:
        Schedule.parse(text)
    assert column == info.value.column
    assert "count" in info.value.message


def test_schedule_syntax_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="column 1"):
        Schedule.parse("*")


# -- Schedule: len, iter, switches ------------------------------------------------------------


def test_len_counts_steps() -> None:
    assert 8 == len(Schedule.parse("T1*3 T2*4 T1"))
    assert 0 == len(Schedule.parse(""))


def test_iter_yields_one_thread_per_step() -> None:
    expected = ["T1", "T2", "T2", "T2", "T1", "T1"]
    assert expected == list(Schedule.parse("T1 T2*3 T1*2"))


@pytest.mark.parametrize(
    ("text", "switches"),
    [("", 0), ("T1", 0), ("T1*7", 0), ("T1*3 T2*4", 1), ("T1 T2*3 T1*2", 2), ("A B A B", 3)],
)
def test_switches_count_changes_of_thread(text: str, switches: int) -> None:
    assert switches == Schedule.parse(text).switches


# -- Op ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "text"),
    [
        (Op(OpKind.INCREF, "obj"), "incref obj"),
        (Op(OpKind.DECREF, "obj"), "decref obj"),
        (Op(OpKind.USE, "obj"), "use obj"),
        (Op(OpKind.ADD, "counter", 1), "counter += 1"),
        (Op(OpKind.SUB, "counter", 3), "counter -= 3"),
        (Op(OpKind.COMPUTE, None, 50), "compute 50"),
        (Op(OpKind.IO, None, 5_000_000), "io 5ms"),
        (Op(OpKind.IO, None, 30), "io 30ns"),
        (Op(OpKind.IO, None, 1_500_000), "io 1500us"),
        (Op(OpKind.ACQUIRE, "L"), "acquire L"),
        (Op(OpKind.RELEASE, "L"), "release L"),
    ],
)
def test_op_str_reads_like_the_scenario_file(op: Op, text: str) -> None:
    assert text == str(op)


# -- format_duration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0ns"),
        (1, "1ns"),
        (30, "30ns"),
        (1_000, "1us"),
        (2_000, "2us"),
        (1_500, "1500ns"),
        (5_000_000, "5ms"),
        (1_500_000, "1500us"),
        (1_000_000_000, "1s"),
        (90_000_000_000, "90s"),
        (1_000_000_001, "1000000001ns"),
    ],
)
def test_format_duration_uses_the_largest_exact_unit(ns: int, text: str) -> None:
    assert text == format_duration(ns)


# -- Scenario and enums ------------------------------------------------------------------------


def test_scenario_helpers() -> None:
    scenario = Scenario(
        name="leak",
        objects=(("obj", 2),),
        threads=(
            ThreadSpec("T1", (Op(OpKind.DECREF, "obj"),)),
            ThreadSpec("T2", (Op(OpKind.DECREF, "obj"),)),
        ),
        expect=((Runtime.UNSAFE, (AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE)), (Runtime.GIL, ())),
    )
    assert ("T1", "T2") == scenario.thread_names
    assert frozenset({AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE}) == scenario.expected(
        Runtime.UNSAFE
    )
    assert frozenset() == scenario.expected(Runtime.GIL)
    assert scenario.expected(Runtime.ATOMIC) is None
    gil = scenario.with_runtime(Runtime.GIL)
    assert Runtime.GIL == gil.runtime
    assert Runtime.UNSAFE == scenario.runtime
    assert scenario.threads == gil.threads


def test_scenario_source_does_not_affect_equality() -> None:
    a = Scenario(name="s", threads=(), source="a.yaml")
    b = Scenario(name="s", threads=(), source="b.yaml")
    assert a == b


def test_anomaly_kinds_are_declared_in_sorted_order() -> None:
    kinds = list(AnomalyKind)
    assert sorted(kinds, key=lambda k: k.value) == kinds
    expected = [
        "deadlock",
        "double-free",
        "leak",
        "lost-update",
        "premature-free",
        "use-after-free",
    ]
    assert expected == [str(k) for k in kinds]


def test_runtime_str_is_its_name_in_files() -> None:
    expected = ["unsafe", "gil", "atomic", "free-threaded", "pypy", "jython"]
    assert expected == [str(r) for r in Runtime]


@given(st.integers(min_value=-(10**600), max_value=10**600))
def test_digits_counts_what_str_writes(n: int) -> None:
    assert len(str(abs(n))) == digits(n)


def test_counts_past_pythons_digit_limit_are_written_rounded() -> None:
    # 1,600 one-step threads have 1,600! interleavings: 4,434 digits, and str() refuses
    # an int of more than 4,300.
    n = math.factorial(1600)
    with pytest.raises(ValueError):
        str(n)
    assert (4434, "5.27 × 10^4433") == (digits(n), count_text(n))
    assert ("123,456", "1.23 × 10^5") == (count_text(123_456), count_text(123_456, 5))


def test_write_json_writes_a_count_of_any_length() -> None:
    out = io.StringIO()
    write_json(out, {"interleavings": math.factorial(1600)})
    text = out.getvalue()
    assert (True, 4434 + len('{"interleavings": }\n')) == (text.endswith("}\n"), len(text))
