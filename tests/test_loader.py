"""Tests for refsim.loader: scenario files in, Scenario values or located diagnostics out."""

from __future__ import annotations

import json
import os
import re
import tracemalloc
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refsim.budget import Budget, BudgetExceeded, Limit, Meter, resident_memory
from refsim.engine import run
from refsim.errors import Diagnostic, ScenarioError
from refsim.loader import Limits, ReadingStopped, json_schema, load_file, load_text
from refsim.model import (
    AnomalyKind,
    MicroKind,
    Op,
    OpKind,
    Runtime,
    Scenario,
    ThreadSpec,
    Timing,
)
from refsim.schema import OP_FORMS, OpSyntaxError, parse_op

ROOT = Path(__file__).resolve().parent.parent

Problem = tuple[int, int, str, str, str | None]
"""A diagnostic as (line, column, path, message, hint)."""

AT_LEAST_ONE = "a refcount of at least 1 (an object at refcount 0 has been freed already)"


def load(text: str, **options: Any) -> Scenario:
    return load_text(dedent(text), filename="t.yaml", **options)


def problems(text: str | bytes, **options: Any) -> list[Problem]:
    """Every diagnostic loading ``text`` gives (it must fail)."""
    if isinstance(text, str):
        text = dedent(text)
    with pytest.raises(ScenarioError) as info:
        load_text(text, filename="t.yaml", **options)
    return [(d.line, d.column, d.path, d.message, d.hint) for d in info.value.diagnostics]


def problem(text: str | bytes, **options: Any) -> Problem:
    """The one diagnostic loading ``text`` gives."""
    found = problems(text, **options)
    assert len(found) == 1, found
    return found[0]


def thread(name: str, *ops: Op) -> ThreadSpec:
    return ThreadSpec(name, ops)


def incref(x: str) -> Op:
    return Op(OpKind.INCREF, x)


def decref(x: str) -> Op:
    return Op(OpKind.DECREF, x)


ONE_THREAD = "threads: {T: [compute 1]}\n"


# --- good files ---------------------------------------------------------------------------


def test_the_example_of_the_format_page_loads_to_its_scenario() -> None:
    text = """\
        name: leak
        description: |
          Two threads each own one reference to `obj` and drop it at the same time.
          Both can read refcount 2 and both store 1: one decrement is lost and obj is never freed.
        runtime: unsafe              # unsafe | gil | atomic ; `--runtime` overrides it
        objects:
          obj: 2                     # initial refcount; long form: {refcount: 2}
        threads:
          T1: [decref obj]
          T2: [decref obj]
        expect:                      # optional claims, checked by `refsim check` and the tests
          unsafe: [leak, lost-update]   # some interleaving reaches each listed anomaly
          gil: []                       # no interleaving reaches any anomaly
        """
    expected = Scenario(
        name="leak",
        description=(
            "Two threads each own one reference to `obj` and drop it at the same time.\n"
            "Both can read refcount 2 and both store 1: one decrement is lost and obj is "
            "never freed.\n"
        ),
        runtime=Runtime.UNSAFE,
        objects=(("obj", 2),),
        threads=(thread("T1", decref("obj")), thread("T2", decref("obj"))),
        expect=(
            (Runtime.UNSAFE, (AnomalyKind.LEAK, AnomalyKind.LOST_UPDATE)),
            (Runtime.GIL, ()),
        ),
    )
    actual = load(text)
    assert expected == actual
    assert "t.yaml" == actual.source


def test_defaults_fill_in_everything_but_threads() -> None:
    expected = Scenario(name="t", threads=(thread("T", Op(OpKind.COMPUTE, None, 1)),))
    actual = load(ONE_THREAD)
    assert expected == actual
    assert (Runtime.UNSAFE, "", None, ()) == (
        actual.runtime,
        actual.description,
        actual.timing,
        actual.expect,
    )


def test_every_op_maps_to_its_value() -> None:
    text = """\
        objects: {obj: 1}
        variables: {counter: 0}
        locks: [L]
        threads:
          T: [incref obj, decref obj, use obj, counter += 1, counter -= 2, compute 50,
              io 5ms, acquire L, release L]
        """
    expected = (
        Op(OpKind.INCREF, "obj"),
        Op(OpKind.DECREF, "obj"),
        Op(OpKind.USE, "obj"),
        Op(OpKind.ADD, "counter", 1),
        Op(OpKind.SUB, "counter", 2),
        Op(OpKind.COMPUTE, None, 50),
        Op(OpKind.IO, None, 5_000_000),
        Op(OpKind.ACQUIRE, "L"),
        Op(OpKind.RELEASE, "L"),
    )
    assert expected == load(text).threads[0].ops


@pytest.mark.parametrize(
    ("written", "op"),
    [
        ("counter+=1", Op(OpKind.ADD, "counter", 1)),
        ("  counter  -=\t3 ", Op(OpKind.SUB, "counter", 3)),
        ("counter += 0", Op(OpKind.ADD, "counter", 0)),
        ("incref   obj", Op(OpKind.INCREF, "obj")),
        ("\tdecref obj\t", Op(OpKind.DECREF, "obj")),
        ("compute 007", Op(OpKind.COMPUTE, None, 7)),
        ("io 0", Op(OpKind.IO, None, 0)),
    ],
)
def test_ops_tolerate_spaces_and_tabs(written: str, op: Op) -> None:
    text = (
        f"objects: {{obj: 1}}\nvariables: {{counter: 0}}\nthreads: {{T: [{json.dumps(written)}]}}\n"
    )
    assert (op,) == load(text).threads[0].ops


def test_long_forms_mean_the_same_as_short_ones() -> None:
    short = load("objects: {obj: 2}\nthreads: {T: [decref obj]}\n")
    long = load("objects: {obj: {refcount: 2}}\nthreads: {T: {ops: [decref obj]}}\n")
    assert short == long


def test_count_makes_numbered_copies_in_place() -> None:
    text = """\
        threads:
          A: [compute 1]
          worker: {ops: [compute 2], count: 3}
          Z: {ops: [compute 3], count: 1}
        """
    c1, c2, c3 = (Op(OpKind.COMPUTE, None, n) for n in (1, 2, 3))
    expected = (
        thread("A", c1),
        thread("worker1", c2),
        thread("worker2", c2),
        thread("worker3", c2),
        thread("Z1", c3),
    )
    assert expected == load(text).threads


def test_repeat_blocks_expand_in_order_and_nest() -> None:
    text = """\
        variables: {c: 0}
        threads:
          T:
            - compute 1
            - repeat: 2
              ops:
                - c += 1
                - {repeat: 3, ops: [c -= 1]}
            - compute 2
        """
    add, sub = Op(OpKind.ADD, "c", 1), Op(OpKind.SUB, "c", 1)
    one, two = Op(OpKind.COMPUTE, None, 1), Op(OpKind.COMPUTE, None, 2)
    expected = (one, add, sub, sub, sub, add, sub, sub, sub, two)
    assert expected == load(text).threads[0].ops


def test_repeat_blocks_may_nest_sixteen_deep() -> None:
    block = "compute 1"
    for _ in range(16):
        block = f"{{repeat: 2, ops: [{block}]}}"
    ops = load(f"threads: {{T: [{block}]}}\n").threads[0].ops
    assert (Op(OpKind.COMPUTE, None, 1),) * 2**16 == ops


@pytest.mark.parametrize(
    ("written", "ns"),
    [
        ("30ns", 30),
        ("30", 30),
        ("2us", 2_000),
        ("2µs", 2_000),
        ("1.5us", 1_500),
        ("5ms", 5_000_000),
        ("5 ms", 5_000_000),
        ("1.5ms", 1_500_000),
        ("1s", 1_000_000_000),
        ("0.25s", 250_000_000),
        ("0.000000001s", 1),
        ("1.000ns", 1),
    ],
)
def test_durations_in_ops_are_nanoseconds(written: str, ns: int) -> None:
    assert (Op(OpKind.IO, None, ns),) == load(f"threads: {{T: [io {written}]}}\n").threads[0].ops


def test_timing_is_stored_as_written() -> None:
    text = """\
        threads: {T: [compute 1]}
        timing:
          cores: 2
          costs: {STORE: 3ns, LOAD: 2us, IO: 5000}
          jitter: 0.25
          switch_interval: 5ms
        """
    expected = Timing(
        cores=2,
        costs=((MicroKind.STORE, 3), (MicroKind.LOAD, 2_000), (MicroKind.IO, 5_000)),
        jitter=0.25,
        switch_interval=5_000_000,
    )
    assert expected == load(text).timing


def test_timing_settings_left_out_are_none() -> None:
    assert Timing(jitter=1.0) == load(ONE_THREAD + "timing: {jitter: 1}\n").timing
    assert Timing() == load(ONE_THREAD + "timing: {}\n").timing


def test_expect_keeps_file_order() -> None:
    text = ONE_THREAD + "expect: {atomic: [deadlock, double-free], unsafe: []}\n"
    expected = (
        (Runtime.ATOMIC, (AnomalyKind.DEADLOCK, AnomalyKind.DOUBLE_FREE)),
        (Runtime.UNSAFE, ()),
    )
    assert expected == load(text).expect


def test_declarations_keep_file_order() -> None:
    text = "objects: {b: 1, a: {refcount: 3}}\nvariables: {y: -5, x: 3}\nlocks: [M, L]\n"
    scenario = load(text + ONE_THREAD)
    assert (("b", 1), ("a", 3)) == scenario.objects
    assert (("y", -5), ("x", 3)) == scenario.variables
    assert ("M", "L") == scenario.locks


def test_a_lock_may_be_acquired_twice_and_released_in_a_repeat() -> None:
    text = """\
        locks: [L]
        threads:
          T: [acquire L, acquire L, {repeat: 3, ops: [release L, acquire L]}, release L]
          U: [{repeat: 2, ops: [acquire L, release L]}]
        """
    assert ("T", "U") == load(text).thread_names


def test_load_file_names_the_scenario_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "my_case.yaml"
    path.write_text(ONE_THREAD, encoding="utf-8")
    scenario = load_file(path)
    assert ("my_case", str(path)) == (scenario.name, scenario.source)


def test_bytes_with_a_byte_order_mark_and_crlf_load() -> None:
    scenario = load_text(b"\xef\xbb\xbfname: x\r\nthreads:\r\n  T: [compute 1]\r\n")
    assert ("x", ("T",)) == (scenario.name, scenario.thread_names)


def test_yaml_integer_spellings_are_read_as_yaml_does() -> None:
    text = "variables: {a: 0x10, b: 1_000, c: -0b11, d: +7}\n" + ONE_THREAD
    assert (("a", 16), ("b", 1000), ("c", -3), ("d", 7)) == load(text).variables


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=str)
def test_every_bundled_scenario_loads(path: Path) -> None:
    assert str(path) == load_file(path).source


# --- mistakes in the document ------------------------------------------------------------


def test_an_unknown_top_level_key_suggests_the_closest() -> None:
    assert (1, 1, "", "unknown key 'nmae'", "did you mean 'name'?") == problem(
        "nmae: x\n" + ONE_THREAD
    )


def test_an_unknown_key_without_a_close_one_lists_the_keys() -> None:
    expected = (
        2,
        10,
        "timing",
        "unknown key 'xyzzy'",
        "the keys here are cores, costs, jitter or switch_interval",
    )
    assert expected == problem(ONE_THREAD + "timing: {xyzzy: 1}\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "objects: {obj: {refcont: 1}}\n" + ONE_THREAD,
            (1, 17, "objects.obj", "unknown key 'refcont'", "did you mean 'refcount'?"),
        ),
        (
            "threads: {T: {ops: [compute 1], cont: 2}}\n",
            (1, 33, "threads.T", "unknown key 'cont'", "did you mean 'count'?"),
        ),
        (
            "threads: {T: [{repeat: 2, op: [compute 1]}]}\n",
            (1, 27, "threads.T[0]", "unknown key 'op'", "did you mean 'ops'?"),
        ),
        (
            ONE_THREAD + "timing: {cors: 2}\n",
            (2, 10, "timing", "unknown key 'cors'", "did you mean 'cores'?"),
        ),
    ],
)
def test_unknown_keys_are_caught_at_every_level(text: str, expected: Problem) -> None:
    assert expected == problem(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n", (1, 1, "", "missing required key 'threads'", None)),
        ("threads: {T: {count: 2}}\n", (1, 14, "threads.T", "missing required key 'ops'", None)),
        (
            "objects: {obj: {}}\n" + ONE_THREAD,
            (1, 16, "objects.obj", "missing required key 'refcount'", None),
        ),
        (
            "threads: {T: [{ops: [compute 1]}]}\n",
            (1, 15, "threads.T[0]", "missing required key 'repeat'", None),
        ),
    ],
)
def test_missing_keys_are_named(text: str, expected: Problem) -> None:
    assert expected == problem(text)


def test_a_duplicate_key_points_at_the_second_and_names_the_first_line() -> None:
    text = """\
        objects:
          obj: 1
          obj: 2
        threads: {T: [decref obj]}
        """
    expected = (
        3,
        3,
        "objects",
        "duplicate key 'obj' (first on line 2)",
        "each key may appear once in a mapping; merge the two entries",
    )
    assert expected == problem(text)


def test_a_duplicate_top_level_key_is_caught() -> None:
    assert (2, 1, "", "duplicate key 'threads' (first on line 1)") == problem(
        ONE_THREAD + "threads: {U: [compute 1]}\n"
    )[:4]


NOT_A_MAPPING = "a scenario must be a YAML mapping with keys such as `threads:` and `objects:`"
NO_CONTENT = (
    "the file holds no YAML content; a scenario is a mapping with at least a `threads:` key"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- threads\n", NOT_A_MAPPING + ", got ['threads']"),
        ("hello\n", NOT_A_MAPPING + ", got 'hello'"),
        ("42\n", NOT_A_MAPPING + ", got 42"),
        ("", NO_CONTENT),
        ("# only a comment\n\n", NO_CONTENT),
        ("~\n", NO_CONTENT),
        ("---\n", NO_CONTENT),
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused(text: str, expected: str) -> None:
    assert (1, 1, "", expected) == problem(text)[:4]


def test_invalid_utf8_is_located_at_the_first_bad_byte() -> None:
    # Columns count characters: the two-byte é and ü before the bad byte count once each.
    data = "name: é\nthreads:\n  T: [compute 1]  # ü".encode() + b"\xff\n"
    expected = (
        3,
        22,
        "",
        "the file is not valid UTF-8: byte 0xff at offset 40 (invalid start byte)",
        "save the file as UTF-8",
    )
    assert expected == problem(data)


def test_a_yaml_syntax_error_points_at_the_problem() -> None:
    text = "threads:\n  T1: [decref obj\n  T2: [compute 1]\n"
    expected = (
        3,
        5,
        "",
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence on line 2)",
        None,
    )
    assert expected == problem(text)


def test_a_tab_in_indentation_gets_a_hint() -> None:
    line, column, _, message, hint = problem("threads:\n\tT: [compute 1]\n")
    assert (2, 1, "invalid YAML: found character '\\t' that cannot start any token") == (
        line,
        column,
        message,
    )
    assert "indent with spaces: YAML does not allow tabs for indentation" == hint


def test_a_control_character_is_refused() -> None:
    expected = (
        2,
        8,
        "",
        "the file holds a character YAML does not allow: '\\x07' (U+0007)",
        "remove it: YAML text may not contain control characters",
    )
    assert expected == problem(ONE_THREAD + "name: a\x07b\n")


def test_a_second_document_is_refused() -> None:
    expected = (
        2,
        1,
        "",
        "a scenario file holds one YAML document; a second one starts here",
        "remove this `---` and what follows it, or split the file in two",
    )
    assert expected == problem(ONE_THREAD + "---\n" + ONE_THREAD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: !!python/object/apply:os.system ['echo owned']\n" + ONE_THREAD,
            (1, 7, "name", "YAML tags are not allowed, found !!python/object/apply:os.system"),
        ),
        (
            "name: !!str x\n" + ONE_THREAD,
            (1, 7, "name", "YAML tags are not allowed, found !!str"),
        ),
        (
            "name: !foo x\n" + ONE_THREAD,
            (1, 7, "name", "YAML tags are not allowed, found !foo"),
        ),
        (
            "!!str name: x\n" + ONE_THREAD,
            (1, 1, "", "YAML tags are not allowed, found !!str"),
        ),
        (
            "!!map\n" + ONE_THREAD,
            (1, 1, "", "YAML tags are not allowed, found !!map"),
        ),
    ],
)
def test_every_yaml_tag_is_refused(text: str, expected: tuple[int, int, str, str]) -> None:
    assert expected == problem(text)[:4]


def test_a_refused_tag_or_alias_is_the_only_complaint_about_its_value() -> None:
    text = """\
        objects: {obj: !!str two, other: *x}
        threads: {T: [!!str incr obj]}
        """
    found = [(line, column, message) for line, column, _, message, _ in problems(text)]
    expected = [
        (1, 16, "YAML tags are not allowed, found !!str"),
        (1, 34, "YAML aliases are not allowed, found *x"),
        (2, 15, "YAML tags are not allowed, found !!str"),
    ]
    assert expected == found


def test_a_tag_never_runs_anything(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\n" + ONE_THREAD
    problem(text)
    assert not marker.exists()


def test_anchors_and_aliases_are_refused() -> None:
    text = """\
        objects:
          a: &n 1
          b: *n
        threads: {T: [decref a]}
        """
    expected = [
        (
            2,
            6,
            "objects.a",
            "YAML anchors are not allowed, found &n",
            "remove the anchor; scenario files hold plain data",
        ),
        (
            3,
            6,
            "objects.b",
            "YAML aliases are not allowed, found *n",
            "write the value out; use {repeat: n, ops: [...]} to repeat ops",
        ),
    ]
    assert expected == problems(text)


def test_a_billion_laughs_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    tracemalloc.start()
    try:
        found = problems("\n".join(lines) + "\n" + ONE_THREAD)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000
    messages = [message for _, _, _, message, _ in found]
    assert 10 == messages.count("YAML aliases are not allowed, found *a0")


def test_deep_nesting_is_refused() -> None:
    assert (1, 65, "", "the YAML nests more than 64 levels deep here") == problem("[" * 10_000)[:4]


def test_a_number_out_of_64_bits_is_refused() -> None:
    expected = (
        1,
        16,
        "objects.obj",
        "number 9223372036854775808 is out of range: numbers must fit in 64 bits",
        None,
    )
    assert expected == problem("objects: {obj: 9223372036854775808}\n" + ONE_THREAD)
    assert (("v", -(2**63)),) == load(
        "variables: {v: -9223372036854775808}\n" + ONE_THREAD
    ).variables


def test_a_key_that_is_not_a_name_is_refused() -> None:
    assert (1, 11, "objects", "a mapping key must be a name, got a list") == problem(
        "objects: {[a]: 1}\n" + ONE_THREAD
    )[:4]


# --- mistakes in values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [("two", "'two'"), ("-1", "-1"), ('"2"', "'2'"), ("2.0", "2.0"), ("true", "true")],
)
def test_a_refcount_must_be_a_non_negative_integer(value: str, shown: str) -> None:
    expected = (
        1,
        16,
        "objects.obj",
        f"expected {AT_LEAST_ONE}, got {shown}",
    )
    assert expected == problem(f"objects: {{obj: {value}}}\n" + ONE_THREAD)[:4]


def test_a_boolean_where_text_belongs_explains_yaml_booleans() -> None:
    expected = (
        1,
        7,
        "name",
        "expected a non-empty string, got yes",
        "YAML reads yes as a boolean; write 'yes' in quotes for text",
    )
    assert expected == problem("name: yes\n" + ONE_THREAD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "threads: {T: {ops: [compute 1], count: 0}}\n",
            (1, 40, "threads.T.count", "expected a positive integer count, got 0"),
        ),
        (
            "threads: {T: {ops: [compute 1], count: -3}}\n",
            (1, 40, "threads.T.count", "expected a positive integer count, got -3"),
        ),
        (
            "threads: {T: [{repeat: -1, ops: [compute 1]}]}\n",
            (1, 24, "threads.T[0].repeat", "expected a positive integer repeat count, got -1"),
        ),
        (
            "threads: {T: [5]}\n",
            (
                1,
                15,
                "threads.T[0]",
                "expected an op like 'incref obj', or a {repeat: n, ops: [...]} block, got 5",
            ),
        ),
        (
            ONE_THREAD + "timing: {cores: 0}\n",
            (2, 17, "timing.cores", "expected a positive integer number of cores, got 0"),
        ),
        (
            ONE_THREAD + "timing: {jitter: 1.5}\n",
            (2, 18, "timing.jitter", "expected a number from 0 to 1, got 1.5"),
        ),
        (
            ONE_THREAD + "timing: {jitter: .nan}\n",
            (2, 18, "timing.jitter", "expected a number from 0 to 1, got .nan"),
        ),
        (
            ONE_THREAD + "variables: {v: 1.5}\n",
            (2, 16, "variables.v", "expected an integer, got 1.5"),
        ),
        (
            ONE_THREAD + "locks: L\n",
            (2, 8, "locks", "expected a list of lock names, got 'L'"),
        ),
        (
            ONE_THREAD + "expect: {unsafe: leak}\n",
            (2, 18, "expect.unsafe", "expected a list of anomaly kinds, got 'leak'"),
        ),
        (
            ONE_THREAD + "description: [a, b]\n",
            (2, 14, "description", "expected a string, got ['a', 'b']"),
        ),
        (
            ONE_THREAD + "objects:\n",
            (2, 9, "objects", "expected a mapping of object names to refcounts, got null"),
        ),
    ],
)
def test_values_of_the_wrong_kind_say_what_was_expected(
    text: str, expected: tuple[int, int, str, str]
) -> None:
    assert expected == problem(text)[:4]


def test_a_thread_written_as_a_string_suggests_a_list() -> None:
    expected = (
        1,
        14,
        "threads.T",
        "expected a list of ops, or {ops: [...], count: n}, got 'decref obj'",
        "write the ops as a list: T: [decref obj]",
    )
    assert expected == problem("threads: {T: decref obj}\nobjects: {obj: 1}\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("threads: {T: []}\n", (1, 14, "threads.T", "thread 'T' has no ops")),
        ("threads: {T: {ops: []}}\n", (1, 20, "threads.T.ops", "thread 'T' has no ops")),
        (
            "threads: {T: [{repeat: 2, ops: []}]}\n",
            (1, 32, "threads.T[0].ops", "a repeat block needs at least one op, got ops: []"),
        ),
        (
            "threads: {}\n",
            (1, 10, "threads", "a scenario needs at least one thread, got threads: {}"),
        ),
    ],
)
def test_empty_threads_and_blocks_are_refused(
    text: str, expected: tuple[int, int, str, str]
) -> None:
    assert expected == problem(text)[:4]


NOT_A_NAME = ": names are letters, digits and _, not starting with a digit"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ONE_THREAD + "objects: {1x: 1}\n",
            (2, 11, "objects", "'1x' is not a valid name" + NOT_A_NAME, "did you mean '_1x'?"),
        ),
        (
            ONE_THREAD + "objects: {my-obj: 1}\n",
            (
                2,
                11,
                "objects",
                "'my-obj' is not a valid name" + NOT_A_NAME,
                "did you mean 'my_obj'?",
            ),
        ),
        (
            ONE_THREAD + "variables: {a b: 1}\n",
            (2, 13, "variables", "'a b' is not a valid name" + NOT_A_NAME, "did you mean 'a_b'?"),
        ),
        (
            ONE_THREAD + "locks: [L, 2L]\n",
            (2, 12, "locks[1]", "'2L' is not a valid name" + NOT_A_NAME, "did you mean '_2L'?"),
        ),
        (
            "threads: {9T: [compute 1]}\n",
            (1, 11, "threads", "'9T' is not a valid name" + NOT_A_NAME, "did you mean '_9T'?"),
        ),
    ],
)
def test_names_must_be_identifiers(text: str, expected: Problem) -> None:
    assert expected == problem(text)


def test_an_unknown_runtime_suggests_the_closest() -> None:
    assert (1, 10, "runtime", "unknown runtime 'unsfe'", "did you mean 'unsafe'?") == problem(
        "runtime: unsfe\n" + ONE_THREAD
    )


def test_an_unknown_runtime_without_a_close_one_lists_them() -> None:
    assert (
        1,
        10,
        "runtime",
        "unknown runtime 'banana'",
        "expected unsafe, gil, atomic, free-threaded, pypy or jython",
    ) == problem("runtime: banana\n" + ONE_THREAD)


def test_an_unknown_runtime_in_expect_is_a_key_problem() -> None:
    assert (2, 10, "expect", "unknown runtime 'gli'", "did you mean 'gil'?") == problem(
        ONE_THREAD + "expect: {gli: []}\n"
    )


def test_an_unknown_anomaly_kind_suggests_the_closest() -> None:
    assert (
        2,
        19,
        "expect.unsafe[0]",
        "unknown anomaly kind 'lost_update'",
        "did you mean 'lost-update'?",
    ) == problem(ONE_THREAD + "expect: {unsafe: [lost_update]}\n")


def test_an_anomaly_kind_listed_twice_is_refused() -> None:
    expected = (
        2,
        35,
        "expect.unsafe[2]",
        "anomaly kind 'leak' is listed twice for unsafe (first on line 2)",
        None,
    )
    assert expected == problem(ONE_THREAD + "expect: {unsafe: [leak, deadlock, leak]}\n")


def test_an_unknown_micro_step_kind_suggests_the_capitalised_one() -> None:
    assert (
        2,
        18,
        "timing.costs",
        "unknown micro-step kind 'load'",
        "did you mean 'LOAD'?",
    ) == problem(ONE_THREAD + "timing: {costs: {load: 2ns}}\n")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("fast", "expected a duration like 30ns, 2us, 5ms or 1s, got 'fast'"),
        ("-5ms", "expected a non-negative duration, got '-5ms'"),
        ("-5", "expected a non-negative duration, got -5"),
        ("1.5ns", "duration '1.5ns' is not a whole number of nanoseconds"),
        ("1.5", "expected a duration like 5ms or an integer number of nanoseconds, got 1.5"),
        ("true", "expected a duration like 5ms or an integer number of nanoseconds, got true"),
        ("5min", "expected a duration like 30ns, 2us, 5ms or 1s, got '5min'"),
        (
            "99999999999s",
            "duration '99999999999s' is too long: the limit is 2**63-1 ns (292 years)",
        ),
    ],
)
def test_bad_durations_in_timing_are_explained(written: str, message: str) -> None:
    assert (2, 24, "timing.costs.LOAD", message) == problem(
        ONE_THREAD + f"timing: {{costs: {{LOAD: {written}}}}}\n"
    )[:4]


def test_a_switch_interval_must_be_positive() -> None:
    assert (2, 27, "timing.switch_interval", "expected a positive duration, got 0") == problem(
        ONE_THREAD + "timing: {switch_interval: 0}\n"
    )[:4]


# --- mistakes in ops ----------------------------------------------------------------------

DECLARED = "objects: {obj: 1}\nvariables: {counter: 0}\nlocks: [L]\n"


def op_problem(op: str) -> tuple[str, str | None]:
    """The message and hint of the one mistake in a thread running ``op``."""
    line, column, path, message, hint = problem(DECLARED + f"threads:\n  T: [{json.dumps(op)}]\n")
    assert (5, 7, "threads.T[0]") == (line, column, path)
    return message, hint


@pytest.mark.parametrize(
    ("op", "message", "hint"),
    [
        ("incr obj", "unknown op 'incr obj'", "did you mean 'incref obj'?"),
        ("Decref obj", "unknown op 'Decref obj'", "did you mean 'decref obj'?"),
        ("aquire L", "unknown op 'aquire L'", "did you mean 'acquire L'?"),
        (
            "counter = counter + 1",
            "unknown op 'counter = counter + 1'",
            "did you mean 'counter += 1'?",
        ),
        ("counter++", "unknown op 'counter++'", "did you mean 'counter += 1'?"),
        (
            "frobnicate",
            "unknown op 'frobnicate'",
            "an op is one of: incref X, decref X, use X, V += n, V -= n, compute n, io D, "
            "acquire L, release L, set E, clear E, wait E, put Q, get Q, join T, notify C, "
            "notify_all C",
        ),
        (
            "",
            "expected an op like 'incref obj', got ''",
            "an op is one of: incref X, decref X, use X, V += n, V -= n, compute n, io D, "
            "acquire L, release L, set E, clear E, wait E, put Q, get Q, join T, notify C, "
            "notify_all C",
        ),
        ("incref", "incref takes an object name", "e.g. 'incref obj'"),
        ("incref obj obj", "incref takes an object name, got 'obj obj'", "e.g. 'incref obj'"),
        ("release 1L", "release takes a lock or semaphore name, got '1L'", "e.g. 'release L'"),
        ("counter += x", "expected a non-negative integer after +=, got 'x'", None),
        (
            "counter += -1",
            "expected a non-negative integer after +=, got '-1'",
            "did you mean 'counter -= 1'?",
        ),
        (
            "counter -= 99999999999999999999",
            "number '99999999999999999999' is out of range: numbers must fit in 64 bits",
            None,
        ),
        ("compute 0", "compute takes a positive number of bytecodes, got '0'", None),
        ("compute", "compute takes a positive number of bytecodes, got ''", None),
        ("compute two", "compute takes a positive number of bytecodes, got 'two'", None),
        (
            "io soon",
            "io takes a duration: expected a duration like 30ns, 2us, 5ms or 1s, got 'soon'",
            None,
        ),
        ("io -1ms", "io takes a duration: expected a non-negative duration, got '-1ms'", None),
    ],
)
def test_ops_that_cannot_be_read_are_explained(op: str, message: str, hint: str | None) -> None:
    assert (message, hint) == op_problem(op)


@pytest.mark.parametrize(
    ("op", "message", "hint"),
    [
        ("incref ob", "'incref ob' names an undeclared object 'ob'", "did you mean 'obj'?"),
        ("use zzz", "'use zzz' names an undeclared object 'zzz'", "declare it under objects:"),
        (
            "countr += 1",
            "'countr += 1' names an undeclared variable 'countr'",
            "did you mean 'counter'?",
        ),
        (
            "acquire M",
            "'acquire M' names an undeclared lock or semaphore 'M'",
            "declare it under locks: or semaphores:",
        ),
        ("incref counter", "counter is a variable; incref takes an object", None),
        ("obj += 1", "obj is an object; += takes a variable", None),
        ("acquire obj", "obj is an object; acquire takes a lock or semaphore", None),
        ("decref L", "L is a lock; decref takes an object", None),
    ],
)
def test_ops_must_name_a_declared_thing_of_the_right_kind(
    op: str, message: str, hint: str | None
) -> None:
    assert (message, hint) == op_problem(op)


def test_a_release_without_the_lock_held_is_refused() -> None:
    text = """\
        locks: [L]
        threads:
          T1: [acquire L, release L, release L]
          T2: [release L]
        """
    hint = "acquire L earlier in the same thread: a thread may release only a lock it holds"
    expected = [
        (3, 30, "threads.T1[2]", "thread 'T1' releases lock 'L' without holding it", hint),
        (4, 8, "threads.T2[0]", "thread 'T2' releases lock 'L' without holding it", hint),
    ]
    assert expected == problems(text)


def test_a_release_that_fails_only_when_repeated_says_so() -> None:
    text = "locks: [L]\nthreads: {T: [acquire L, {repeat: 1000, ops: [release L]}]}\n"
    assert (
        2,
        47,
        "threads.T[1].ops[0]",
        "thread 'T' releases lock 'L' the second time through its repeat block without holding it",
    ) == problem(text)[:4]


def test_repeat_blocks_nested_seventeen_deep_are_refused() -> None:
    block = "compute 1"
    for _ in range(17):
        block = f"{{repeat: 1, ops: [{block}]}}"
    line, column, path, message, hint = problem(f"threads: {{T: [{block}]}}\n")
    assert (1, 15 + 16 * 18, "threads.T" + "[0].ops" * 16 + "[0]") == (line, column, path)
    assert (
        "repeat blocks nest more than 16 deep here",
        "flatten the inner blocks: repeat counts multiply",
    ) == (message, hint)


# --- names --------------------------------------------------------------------------------


def test_a_name_declared_twice_is_refused_at_the_second() -> None:
    text = """\
        objects: {x: 1}
        variables: {x: 0}
        locks: [L, L]
        threads: {T: [decref x]}
        """
    hint = "objects, variables, locks, events, semaphores, queues, conditions and threads "
    hint += "share one set of names"
    expected = [
        (2, 13, "variables.x", "name 'x' is already declared as an object on line 1", hint),
        (3, 12, "locks[1]", "name 'L' is already declared as a lock on line 3", hint),
    ]
    assert expected == problems(text)


def test_a_thread_name_taken_by_a_copy_is_refused() -> None:
    text = """\
        threads:
          worker: {ops: [compute 1], count: 3}
          worker2: [compute 1]
        """
    expected = (
        3,
        3,
        "threads.worker2",
        "thread name 'worker2' is already taken by copy 2 of thread 'worker' (count: 3, line 2)",
        "thread names must be unique once count: makes its copies",
    )
    assert expected == problem(text)


def test_a_copy_whose_name_is_taken_is_refused() -> None:
    text = """\
        threads:
          T1: [compute 1]
          T: {ops: [compute 1], count: 2}
        """
    assert (
        3,
        3,
        "threads.T",
        "copy 1 of thread 'T' is named 'T1', but that is already taken by thread 'T1' (line 2)",
    ) == problem(text)[:4]


# --- limits -------------------------------------------------------------------------------


def test_a_file_over_max_bytes_names_the_option() -> None:
    expected = (
        1,
        1,
        "",
        "the file is 26 bytes, over the limit of 10 bytes; raise it with --max-bytes",
        None,
    )
    assert expected == problem(ONE_THREAD, limits=Limits(max_bytes=10))
    assert expected == problem(ONE_THREAD.encode(), limits=Limits(max_bytes=10))


def test_max_bytes_counts_utf8_bytes_of_text() -> None:
    text = "name: " + "é" * 20 + "\n" + ONE_THREAD  # 73 bytes, 53 characters
    assert (
        "the file is 73 bytes, over the limit of 60 bytes; raise it with --max-bytes"
        == (problem(text, limits=Limits(max_bytes=60))[3])
    )
    assert "é" * 20 == load(text, limits=Limits(max_bytes=73)).name


def test_load_file_over_max_bytes_does_not_read_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(ONE_THREAD + "#" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_file(path, limits=Limits(max_bytes=100))
    expected = Diagnostic(
        str(path),
        1,
        1,
        "",
        "the file is 5,027 bytes, over the limit of 100 bytes; raise it with --max-bytes",
    )
    assert (expected,) == info.value.diagnostics


def test_a_program_over_max_ops_names_the_total_and_the_option() -> None:
    text = """\
        threads:
          T1: [compute 1, compute 1]
          T2: {ops: [{repeat: 3, ops: [compute 1]}], count: 2}
        """
    expected = (
        3,
        7,
        "threads.T2",
        "the program has 8 ops after expanding repeat and count, over the limit of 7; "
        "raise it with --max-ops",
        "thread 'T2' has 6 of them",
    )
    assert expected == problem(text, limits=Limits(max_ops=7))
    assert 3 == len(load(text, limits=Limits(max_ops=8)).threads)


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("threads: {w: {ops: [compute 1], count: 1000000000}}\n", "1,000,000,000"),
        (
            "threads: {T: ["
            + "{repeat: 1000000000, ops: [" * 16
            + "compute 1"
            + "]}" * 16
            + "]}\n",
            f"{10**144:,}",
        ),
    ],
)
def test_huge_programs_fail_fast_without_allocating(text: str, total: str) -> None:
    tracemalloc.start()
    try:
        message = problem(text)[3]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert (
        f"the program has {total} ops after expanding repeat and count, over the limit of "
        "1,000,000; raise it with --max-ops"
    ) == message


# --- several mistakes, files and rendering ------------------------------------------------


def test_every_mistake_is_reported_at_once_in_file_order() -> None:
    text = """\
        nmae: demo
        objects:
          obj: -1
        threads:
          T1: [incr obj, decref ob]
          T2: []
        expect:
          unsafe: [leek]
        """
    found = [(line, column, message) for line, column, _, message, _ in problems(text)]
    expected = [
        (1, 1, "unknown key 'nmae'"),
        (3, 8, f"expected {AT_LEAST_ONE}, got -1"),
        (5, 8, "unknown op 'incr obj'"),
        (5, 18, "'decref ob' names an undeclared object 'ob'"),
        (6, 7, "thread 'T2' has no ops"),
        (8, 12, "unknown anomaly kind 'leek'"),
    ]
    assert expected == found


def test_a_diagnostic_renders_with_the_line_and_a_caret() -> None:
    with pytest.raises(ScenarioError) as info:
        load_text("objects: {obj: 1}\nthreads:\n  T1: [decref ob]\n", filename="s.yaml")
    expected = (
        "s.yaml:3:8: error: threads.T1[0]: 'decref ob' names an undeclared object 'ob'\n"
        "      T1: [decref ob]\n"
        "           ^\n"
        "    did you mean 'obj'?"
    )
    assert expected == str(info.value)


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    expected = Diagnostic(str(path), 1, 1, "", "cannot read the file: No such file or directory")
    assert (expected,) == info.value.diagnostics
    # SCENARIOS.md's shape even with nothing to point at: the file's start.
    assert f"{path}:1:1: error: cannot read the file: No such file or directory" == str(expected)


def test_a_directory_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_file(tmp_path)
    expected = f"{tmp_path}:1:1: error: not a regular file: it is a folder"
    assert expected == str(info.value.diagnostics[0]).splitlines()[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError) as info:
        load_file(fifo)  # reading it would block until someone writes to it
    expected = f"{fifo}:1:1: error: not a regular file: it is a named pipe (FIFO)"
    assert expected == str(info.value.diagnostics[0]).splitlines()[0]


@pytest.mark.parametrize(
    ("path", "what"), [("/dev/null", "a character device"), ("/dev/zero", "a character device")]
)
def test_a_device_is_refused(path: str, what: str) -> None:
    if not os.path.exists(path):
        pytest.skip(f"no {path} here")
    with pytest.raises(ScenarioError) as info:
        load_file(path)  # /dev/zero never ends
    assert f"not a regular file: it is {what}" == info.value.diagnostics[0].message


def test_a_socket_is_refused(tmp_path: Path) -> None:
    socket = pytest.importorskip("socket")
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no Unix sockets here")
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        try:
            server.bind(str(path))
        except OSError as error:  # a path too long for a socket's name
            pytest.skip(str(error))
        with pytest.raises(ScenarioError) as info:
            load_file(path)
    assert "not a regular file: it is a socket" == info.value.diagnostics[0].message


def test_a_huge_limit_still_reads_in_bounded_time(tmp_path: Path) -> None:
    """--max-bytes raised to gigabytes: the time budget stops reading, as it goes."""
    path = tmp_path / "big.yaml"
    path.write_text("threads:\n  T1:\n" + "    - incref obj\n" * 200_000)
    clock = iter(range(10**9)).__next__  # a second passes at every look at the clock
    meter = Meter(Budget(seconds=20, memory=None), clock=lambda: float(clock()))
    with pytest.raises(BudgetExceeded) as info:
        load_file(path, limits=Limits(max_bytes=2**31, max_ops=10**9), meter=meter)
    assert Limit.TIME == info.value.limit
    # The clock is read before reading (second 1) and before parsing (2), then every 1,024
    # YAML nodes (3, 4, ...): the 18th look, at second 20, stops it, long before the file's
    # 200,000 nodes, and says how far it got.
    assert {"YAML nodes read": 18 * 1024} == meter.tally
    stopped = info.value
    assert isinstance(stopped, ReadingStopped)
    assert (200_003, 2.0) == (stopped.lines, stopped.started)
    assert 18 * 1024 - 10 < stopped.line < 18 * 1024 + 10  # a node a line, from line 3


def test_a_file_too_big_for_the_memory_budget_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 5_000_000 + "\n")
    used = resident_memory()
    assert used is not None
    meter = Meter(Budget(seconds=None, memory=used + 10_000_000))
    with pytest.raises(BudgetExceeded) as info:
        load_file(path, limits=Limits(max_bytes=2**31), meter=meter)
    assert Limit.MEMORY == info.value.limit


def test_a_very_long_line_is_cut_in_the_excerpt() -> None:
    text = "threads: {T: [incref x" + ", compute 1" * 100 + "]}\n"
    with pytest.raises(ScenarioError) as info:
        load_text(text)
    source_line = info.value.diagnostics[0].source_line
    assert source_line is not None
    assert (text[:160] + " …") == source_line


def test_the_examples_of_the_format_page_are_what_refsim_prints() -> None:
    page = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    pairs = re.findall(r"```yaml\n(# (\S+\.yaml)\n.*?)```\n\n```text\n(.*?)```", page, re.S)
    assert len(pairs) >= 5
    for text, filename, printed in pairs:
        with pytest.raises(ScenarioError) as info:
            load_text(text, filename=filename)
        assert printed.rstrip("\n") == str(info.value)


# --- the JSON Schema ----------------------------------------------------------------------


def test_the_json_schema_is_json_and_names_every_top_level_key() -> None:
    schema = json.loads(json.dumps(json_schema()))
    keys = ["name", "description", "runtime", "objects", "variables", "locks", "events"]
    keys += ["semaphores", "queues", "conditions", "threads", "processes", "timing", "expect"]
    assert keys == list(schema["properties"])
    assert ["threads"] == schema["required"]
    assert "https://json-schema.org/draft/2020-12/schema" == schema["$schema"]
    assert all(prop.get("description") for prop in schema["properties"].values())


def test_every_reference_in_the_json_schema_resolves() -> None:
    schema = json_schema()
    refs = re.findall(r'"\$ref": "#/\$defs/([^"]+)"', json.dumps(schema))
    assert refs
    assert set(refs) <= set(schema["$defs"])


def test_the_op_patterns_of_the_json_schema_accept_exactly_the_readable_ops() -> None:
    patterns = [re.compile(alt["pattern"]) for alt in json_schema()["$defs"]["op"]["anyOf"]]
    for text in ["incref obj", "V+=1", " compute 3 ", "io 1.5ms", "io 5", "release L"]:
        assert any(p.search(text) for p in patterns), text
    for text in ["incr obj", "compute 0", "io fast", "incref 1x", "V += -1", "use"]:
        assert not any(p.search(text) for p in patterns), text


# --- properties ---------------------------------------------------------------------------


def outcome(text: str | bytes) -> Scenario | ScenarioError:
    """What loading gives: a Scenario or a ScenarioError (anything else fails the test)."""
    try:
        return load_text(text)
    except ScenarioError as e:
        assert e.diagnostics
        str(e)
        return e


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_a_scenario_or_a_scenario_error(text: str) -> None:
    outcome(text)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_any_bytes_give_a_scenario_or_a_scenario_error(data: bytes) -> None:
    outcome(data)


VALID = [
    (ROOT / "scenarios" / "leak.yaml").read_text(encoding="utf-8")
    if (ROOT / "scenarios" / "leak.yaml").exists()
    else "objects: {obj: 2}\nthreads: {T1: [decref obj], T2: [decref obj]}\n",
    dedent(
        """\
        name: kitchen_sink
        objects:
          obj: 2
          other: {refcount: 1}
        variables: {counter: 0}
        locks: [L]
        threads:
          T1: [acquire L, counter += 1, release L, io 5ms]
          T2:
            - incref obj
            - {repeat: 3, ops: [use obj, {repeat: 2, ops: [compute 2]}]}
            - decref obj
          w: {ops: [decref other], count: 2}
        timing: {cores: 2, costs: {LOAD: 2ns, STORE: 3us}, jitter: 0.5, switch_interval: 5ms}
        expect:
          unsafe: [leak, lost-update]
          gil: []
        """
    ),
]
FRAGMENTS = [
    "&a ",
    "*a",
    "!!str ",
    "!x ",
    "? ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    ", ",
    "\t",
    "\n",
    "---\n",
    "...\n",
    "'",
    '"',
    "|\n",
    ">\n",
    "#",
    "  ",
    "~",
    "yes",
    "0x",
    "0b_",
    "1e3",
    "-1",
    "1:30",
    ".nan",
    "9" * 30,
    "repeat",
    "ops",
    "count",
    "refcount",
    "µs",
    "\ufeff",
    "\u2028",
    "\r",
    "\x85",
    "%YAML 1.1\n",
    "<<: ",
    "incref obj",
    "release L",
    "counter += 1",
    "io 5ms",
    "compute 0",
    "LOAD",
    "leak",
    "gil",
    "threads:\n",
    "objects:\n",
    "timing:\n",
]


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> str:
    """A valid scenario's text with a few cuts, insertions and line swaps."""
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "swap", "duplicate"]))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(FRAGMENTS)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        else:
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(j, lines[i])
            text = "\n".join(lines)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_scenarios())
def test_mutated_scenarios_give_a_scenario_or_a_scenario_error(text: str) -> None:
    outcome(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abefinoxANIF_:.+-", max_size=8))
def test_any_yaml_scalar_in_any_place_gives_a_scenario_or_a_scenario_error(value: str) -> None:
    for template in [
        "objects: {obj: {0}}\nthreads: {T: [decref obj]}\n",
        "variables: {v: {0}}\n" + ONE_THREAD,
        "threads: {T: {ops: [compute 1], count: {0}}}\n",
        ONE_THREAD + "timing: {jitter: {0}, cores: {0}, costs: {LOAD: {0}}}\n",
        "threads: {T: [io {0}, compute {0}]}\n",
    ]:
        outcome(template.replace("{0}", value))


OP_PATTERNS = [re.compile(alt["pattern"]) for alt in json_schema()["$defs"]["op"]["anyOf"]]


def readable(text: str) -> bool:
    """Whether refsim reads ``text`` as an op, setting aside what a pattern cannot check:
    that numbers fit in 64 bits and decimal durations are whole nanoseconds."""
    try:
        parse_op(text)
    except OpSyntaxError as e:
        return any(why in e.message for why in ("whole number", "out of range", "too long"))
    return True


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \tabcdeiflmnoprstuxLV0123456789+-=.µ", max_size=16))
def test_the_schema_op_patterns_agree_with_the_op_reader(text: str) -> None:
    assert readable(text) == any(p.search(text) for p in OP_PATTERNS)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(OP_FORMS).flatmap(lambda form: st.from_regex(f"^{form[1]}\\Z")))
def test_text_matching_an_op_pattern_is_readable(text: str) -> None:
    assert readable(text)


class PlainDumper(yaml.SafeDumper):
    """Writes a value used twice out twice, instead of with an anchor and an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@st.composite
def scenarios_and_files(draw: st.DrawFn) -> tuple[Scenario, str]:
    """A valid scenario, and a YAML file that says it (drawn in block or flow style)."""
    objects = draw(st.lists(st.integers(1, 5), max_size=3))
    variables = draw(st.lists(st.integers(-5, 5), max_size=2))
    n_locks = draw(st.integers(0, 2))
    ops: list[tuple[Any, tuple[Op, ...]]] = []  # (as written, as expanded)
    for i, _ in enumerate(objects):
        for verb in ("incref", "decref", "use"):
            ops.append((f"{verb} o{i}", (Op(OpKind(verb), f"o{i}"),)))
    for i, _ in enumerate(variables):
        ops.append((f"v{i} += 2", (Op(OpKind.ADD, f"v{i}", 2),)))
        ops.append((f"v{i}-=1", (Op(OpKind.SUB, f"v{i}", 1),)))
    ops.append(("compute 3", (Op(OpKind.COMPUTE, None, 3),)))
    ops.append(("io 2us", (Op(OpKind.IO, None, 2000),)))
    for i in range(n_locks):
        ops.append(
            (
                {"repeat": 2, "ops": [f"acquire L{i}", "compute 1", f"release L{i}"]},
                (Op(OpKind.ACQUIRE, f"L{i}"), Op(OpKind.COMPUTE, None, 1))
                + (Op(OpKind.RELEASE, f"L{i}"), Op(OpKind.ACQUIRE, f"L{i}"))
                + (Op(OpKind.COMPUTE, None, 1), Op(OpKind.RELEASE, f"L{i}")),
            )
        )
    threads_yaml: dict[str, Any] = {}
    threads: list[ThreadSpec] = []
    for t in range(draw(st.integers(1, 3))):
        chosen = draw(st.lists(st.sampled_from(ops), min_size=1, max_size=4))
        written = [w for w, _ in chosen]
        expanded = tuple(op for _, ex in chosen for op in ex)
        times = draw(st.sampled_from([None, 1, 3]))
        if times is not None:
            written, expanded = [{"repeat": times, "ops": written}], expanded * times
        count = draw(st.sampled_from([None, 2]))
        name = f"t{t}x"
        if count is None:
            threads_yaml[name] = written
            threads.append(ThreadSpec(name, expanded))
        else:
            threads_yaml[name] = {"ops": written, "count": count}
            threads += [ThreadSpec(f"{name}{i}", expanded) for i in (1, 2)]
    kinds = st.lists(st.sampled_from(list(AnomalyKind)), unique=True, max_size=3)
    expect = draw(st.dictionaries(st.sampled_from(list(Runtime)), kinds, max_size=3))
    runtime = draw(st.sampled_from(list(Runtime)))
    description = draw(st.text(max_size=20))
    timing = draw(
        st.none()
        | st.builds(
            Timing,
            cores=st.integers(1, 8),
            costs=st.lists(
                st.tuples(st.sampled_from(list(MicroKind)), st.integers(0, 10**6)),
                unique_by=lambda c: c[0],
                max_size=3,
            ).map(tuple),
            jitter=st.floats(0, 1),
            switch_interval=st.integers(1, 10**9),
        )
    )
    data: dict[str, Any] = {
        "runtime": runtime.value,
        "description": description,
        "objects": {f"o{i}": n for i, n in enumerate(objects)},
        "variables": {f"v{i}": n for i, n in enumerate(variables)},
        "locks": [f"L{i}" for i in range(n_locks)],
        "threads": threads_yaml,
        "expect": {r.value: [k.value for k in ks] for r, ks in expect.items()},
    }
    if timing is not None:
        data["timing"] = {
            "cores": timing.cores,
            "costs": {k.value: ns for k, ns in timing.costs},
            "jitter": timing.jitter,
            "switch_interval": timing.switch_interval,
        }
    style = draw(st.booleans())
    text = yaml.dump(data, Dumper=PlainDumper, sort_keys=False, default_flow_style=style)
    scenario = Scenario(
        name="<string>",
        threads=tuple(threads),
        objects=tuple((f"o{i}", n) for i, n in enumerate(objects)),
        variables=tuple((f"v{i}", n) for i, n in enumerate(variables)),
        locks=tuple(f"L{i}" for i in range(n_locks)),
        runtime=runtime,
        description=description,
        timing=timing,
        expect=tuple((r, tuple(ks)) for r, ks in expect.items()),
    )
    return scenario, text


@settings(max_examples=150, deadline=None)
@given(scenarios_and_files())
def test_a_generated_file_loads_to_the_scenario_it_describes(
    case: tuple[Scenario, str],
) -> None:
    expected, text = case
    assert expected == load_text(text)


def test_an_excerpt_never_sends_control_characters_to_the_terminal() -> None:
    data = b"description: x\x1b[2J\x1b[31mboom\xff\nthreads: {T1: [compute 1]}\n"
    with pytest.raises(ScenarioError) as info:
        load_text(data, filename="esc.yaml")
    lines = str(info.value.diagnostics[0]).splitlines()
    expected = ["    description: x␛[2J␛[31mboom\ufffd", "    " + " " * 27 + "^"]
    assert expected == lines[1:3]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("010", "010 is read as 8 (YAML 1.1 reads a number with a leading 0 as octal): "
                "write 8 if that is what you mean, or 10 without the 0"),
        ("1:30", "1:30 is read as 90 (YAML 1.1 reads numbers with colons in base 60): "
                 "write 90 if that is what you mean"),
    ],
)  # fmt: skip
def test_a_number_yaml_reads_another_way_is_refused(written: str, expected: str) -> None:
    text = f"objects: {{obj: {written}}}\nthreads:\n  T1: [decref obj]\n"
    assert (1, 16, "objects.obj", expected, None) == problem(text)


def test_plain_numbers_and_explicit_bases_are_read_as_written() -> None:
    text = "objects: {a: 1, b: 10, c: 0x10}\nthreads:\n  T1: [decref a]\n"
    assert (("a", 1), ("b", 10), ("c", 16)) == load_text(text, filename="t.yaml").objects


# --- the waiting primitives ---------------------------------------------------------------


def test_the_waiting_primitives_load_with_the_kind_their_name_is_declared_as() -> None:
    scenario = load(
        """\
        locks: [L]
        events: [E]
        semaphores: {S: 2}
        queues: {Q: 3}
        conditions: {C: L}
        threads:
          P: [set E, clear E, wait E, acquire S, release S, put Q, get Q]
          W: [acquire L, wait C, notify C, notify_all C, release L, join P]
        """
    )
    assert ("E",) == scenario.events
    assert (("S", 2),) == scenario.semaphores
    assert (("Q", 3),) == scenario.queues
    assert (("C", "L"),) == scenario.conditions
    kinds = [op.kind for t in scenario.threads for op in t.ops]
    K = OpKind
    assert [
        K.SET, K.CLEAR, K.WAIT, K.SEMAPHORE_ACQUIRE, K.SEMAPHORE_RELEASE, K.PUT, K.GET,
        K.ACQUIRE, K.CONDITION_WAIT, K.NOTIFY, K.NOTIFY_ALL, K.RELEASE, K.JOIN,
    ] == kinds  # fmt: skip
    assert "acquire S" == str(scenario.threads[0].ops[3])
    assert "wait C" == str(scenario.threads[1].ops[1])


def test_a_joined_copy_of_a_counted_thread_is_named_with_its_number() -> None:
    scenario = load("threads:\n  W: {ops: [compute 1], count: 2}\n  M: [join W1, join W2]\n")
    assert [Op(OpKind.JOIN, "W1"), Op(OpKind.JOIN, "W2")] == list(scenario.threads[2].ops)


@pytest.mark.parametrize(
    ("declarations", "op", "message", "hint"),
    [
        ("events: [Done]", "set Dnoe", "'set Dnoe' names an undeclared event 'Dnoe'",
         "did you mean 'Done'?"),
        ("", "get Q", "'get Q' names an undeclared queue 'Q'", "declare it under queues:"),
        (
            "semaphores: {S: 1}",
            "acquire S2",
            "'acquire S2' names an undeclared lock or semaphore 'S2'",
            "did you mean 'S'?",
        ),
        (
            "events: [E]",
            "put E",
            "E is an event; put takes a queue",
            None,
        ),
        ("queues: {Q: 1}", "wait Q", "Q is a queue; wait takes an event or condition", None),
        ("", "join T3", "'join T3' names 'T3', which is not a thread", "the threads are T1"),
        ("objects: {obj: 1}", "join obj", "obj is an object; join takes a thread", None),
        ("", "notify C", "'notify C' names an undeclared condition 'C'", "declare it under "
         "conditions:"),
    ],
)  # fmt: skip
def test_waiting_ops_must_name_a_declared_thing_of_the_right_kind(
    declarations: str, op: str, message: str, hint: str | None
) -> None:
    text = f"{declarations}\nthreads:\n  T1: [{op}]\n"
    assert (3, 8, "threads.T1[0]", message, hint) == problem(text)


def test_joining_a_counted_thread_by_its_base_name_says_how_its_copies_are_named() -> None:
    text = "threads:\n  W: {ops: [compute 1], count: 3}\n  M: [join W]\n"
    assert (
        3,
        7,
        "threads.M[0]",
        "'join W' names 'W', which is not a thread",
        "count: 3 names its copies W1..W3: join each one",
    ) == problem(text)


def test_a_thread_may_not_join_itself() -> None:
    text = "threads:\n  T1: [compute 1, join T1]\n  W: {ops: [join W2], count: 2}\n"
    hint = "Python raises RuntimeError: cannot join current thread"
    expected = [
        (2, 19, "threads.T1[1]", "thread 'T1' joins itself: it would wait for its own end "
         "forever", hint),
        (3, 13, "threads.W.ops[0]", "copy 2 of thread 'W' joins itself: it would wait for its "
         "own end forever", hint),
    ]  # fmt: skip
    assert expected == problems(text)


def test_a_thread_may_not_join_a_thread_of_another_process() -> None:
    text = """\
        threads:
          A: [join B]
          B: [compute 1]
        processes: {one: [A], two: [B]}
        """
    assert (
        2,
        7,
        "threads.A[0]",
        "thread 'A' (process 'one') joins 'B', which runs in process 'two'",
        "a thread can join only a thread of its own process",
    ) == problem(text)


@pytest.mark.parametrize(
    ("ops", "column", "message", "python"),
    [
        ("[wait C]", 7, "thread 'T' waits on condition 'C' without holding its lock 'L'",
         "wait on"),
        ("[notify C]", 7, "thread 'T' notifies condition 'C' without holding its lock 'L'",
         "notify on"),
        ("[acquire L, release L, notify_all C]", 29,
         "thread 'T' notifies condition 'C' without holding its lock 'L'", "notify on"),
    ],
)  # fmt: skip
def test_a_condition_is_waited_on_and_notified_only_holding_its_lock(
    ops: str, column: int, message: str, python: str
) -> None:
    text = f"locks: [L]\nconditions: {{C: L}}\nthreads:\n  T: {ops}\n"
    hint = f"acquire L first (Python raises RuntimeError: cannot {python} un-acquired lock)"
    assert (4, column, f"threads.T[{ops.count(',')}]", message, hint) == problem(text)


def test_wait_keeps_the_lock_held_for_what_follows() -> None:
    load("locks: [L]\nconditions: {C: L}\nthreads:\n  T: [acquire L, wait C, wait C, release L]\n")


def test_a_condition_must_be_over_a_declared_lock() -> None:
    text = "locks: [Lock1]\nevents: [E]\nconditions: {C: Lokc1, D: E}\nthreads:\n  T: [set E]\n"
    assert [
        (3, 17, "conditions.C", "condition 'C' is over 'Lokc1', which is not a declared lock",
         "did you mean 'Lock1'?"),
        (3, 27, "conditions.D", "condition 'D' is over 'E', which is an event, not a lock",
         "declare it under locks:"),
    ] == problems(text)  # fmt: skip


@pytest.mark.parametrize(
    ("declaration", "path", "message"),
    [
        ("queues: {Q: 0}", "queues.Q", "expected a maxsize of at least 1 (Python's Queue(0) is "
         "unbounded; refsim's queues have a size), got 0"),
        ("semaphores: {S: -1}", "semaphores.S",
         "expected an initial count of 0 or more, got -1"),
        ("events: {E: 1}", "events", "expected a list of event names, got {E: 1}"),
    ],
)  # fmt: skip
def test_sizes_and_counts_of_the_primitives_are_checked(
    declaration: str, path: str, message: str
) -> None:
    text = f"{declaration}\nthreads:\n  T: [compute 1]\n"
    assert (path, message) == problem(text)[2:4]


def test_threads_share_the_namespace_of_every_declaration() -> None:
    text = "events: [W2]\nthreads:\n  W: {ops: [compute 1], count: 2}\n"
    line, column, path, message, _ = problem(text)
    assert (3, 3, "threads.W") == (line, column, path)
    assert "name 'W2' is already declared as an event on line 1" == message


def test_the_waiting_example_of_the_format_page_loads_and_runs() -> None:
    page = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    section = page[page.index("## Threads that wait for each other") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", 8)]
    scenario = load_text(example, filename="example.yaml")
    assert ("producer", "consumer", "W1", "W2", "main") == scenario.thread_names
    assert not run(scenario).anomalies


def test_every_micro_step_kind_can_be_given_a_cost() -> None:
    from typing import get_args

    from refsim.schema import MicroName

    assert sorted(k.value for k in MicroKind) == sorted(get_args(MicroName))


# --- names that would drive the terminal (issue 19) ----------------------------------------

_REFUSED = "a name is printed on every screen, on one line, so it may hold no control characters"

SPAN = "(a description may span lines)"

NAMES = [
    # (the name as written, column of the caret, what it holds, the suggestion)
    ('"ok\\e]0;PWNED\\a\\e[2J"', 10, "an escape (U+001B)", "did you mean 'ok]0;PWNED[2J'?"),
    ('"a\\0b"', 9, "a NUL (U+0000)", "did you mean 'ab'?"),
    ('"CSI \\x9b2J"', 12, "a control sequence introducer (U+009B)", "did you mean 'CSI 2J'?"),
    ('"bell \\u0007"', 13, "a bell (U+0007)", "did you mean 'bell'?"),
    ("'it''s\ta tab'", 13, "a tab (U+0009)", f'did you mean "it\'s a tab"? {SPAN}'),
    ('"two\\nlines"', 11, "a line break (U+000A)", f"did you mean 'two lines'? {SPAN}"),
    ('"\\N next line"', 8, "a line break (U+0085)", f"did you mean 'next line'? {SPAN}"),
    ('"abc\\u202edcba"', 11, "a bidirectional control (U+202E)", "did you mean 'abcdcba'?"),
    ('"\\e"', 8, "an escape (U+001B)", "write the name in letters, digits, spaces and punctuation"),
    ("|\n  two\n  lines", 7, "a line break (U+000A)", f"did you mean 'two lines'? {SPAN}"),
]  # fmt: skip


@pytest.mark.parametrize(("written", "column", "holds", "hint"), NAMES)
def test_a_name_with_a_control_character_is_refused_where_it_is(
    written: str, column: int, holds: str, hint: str
) -> None:
    text = f"name: {written}\n" + ONE_THREAD
    expected = (1, column, "name", f"the name holds {holds}; {_REFUSED}", hint)
    assert expected == problem(text)


def test_the_caret_stands_under_the_escape() -> None:
    with pytest.raises(ScenarioError) as info:
        load_text('name: "ok\\e]0;PWNED\\a"\n' + ONE_THREAD, filename="t.yaml")
    assert [
        "t.yaml:1:10: error: name: the name holds an escape (U+001B); " + _REFUSED,
        '    name: "ok\\e]0;PWNED\\a"',
        "             ^",
        "    did you mean 'ok]0;PWNED'?",
    ] == str(info.value).splitlines()


@pytest.mark.parametrize("name", ["naïve café", "日本語の名前", "[bold]x[/x]", "a  b", "🎓 lesson"])
def test_a_name_of_printable_text_loads(name: str) -> None:
    assert name == load_text(f"name: {json.dumps(name, ensure_ascii=False)}\n" + ONE_THREAD).name


@pytest.mark.parametrize(
    ("stem", "name"),
    [("l\udcff", "l\ufffd"), ("x\x1b[2J", "x\ufffd[2J"), ("x\x9b", "x\ufffd"), ("plain", "plain")],
)
def test_a_name_taken_from_the_file_is_text_that_prints(
    stem: str, name: str, tmp_path: Path
) -> None:
    """Issue 19: a file whose name has a byte that is not UTF-8 and no `name:` gave the
    scenario a name that matplotlib could not draw (and JSON could not carry)."""
    path = tmp_path / f"{stem}.yaml"
    path.write_text(ONE_THREAD, encoding="utf-8")
    assert name == load_file(path).name


# --- a file with very many mistakes (issue 19) ----------------------------------------------


def _many(ops: list[str]) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_text("threads:\n  T1: [" + ", ".join(ops) + "]\n", filename="t.yaml")
    return info.value


def test_a_file_with_thousands_of_one_mistake_lists_a_hundred_and_sums_up_the_rest() -> None:
    error = _many(["x"] * 5_000)
    lines = str(error).splitlines()
    listed = [line for line in lines if ": error: " in line]
    assert (5_000, 100, "… and 4,900 more errors, each: unknown op 'x' (on line 2)") == (
        len(error.diagnostics), len(listed), lines[-1]
    )  # fmt: skip


def test_the_rest_of_one_kind_is_summed_up_as_that_kind() -> None:
    error = _many([f"x{i}" for i in range(150)])
    expected = "… and 50 more errors, each: unknown op '…' (on line 2)"
    assert expected == str(error).splitlines()[-1]


def test_the_rest_of_many_kinds_is_summed_up_by_where_it_is() -> None:
    ops = [f"incref o{i}" if i % 2 else "x" for i in range(220)]
    text = "threads:\n" + "".join(f"  T{i}: [{op}]\n" for i, op in enumerate(ops))
    with pytest.raises(ScenarioError) as info:
        load_text(text, filename="t.yaml")
    assert "… and 120 more errors (on lines 102 to 221)" == str(info.value).splitlines()[-1]


def test_a_hundred_mistakes_are_all_listed() -> None:
    assert 100 == len([line for line in str(_many(["x"] * 100)).splitlines() if "error:" in line])
