"""``refsim run`` for a class: ``--quiz`` (predict, then reveal) and ``--quantum`` (the
round-robin of a timer interrupt, and the sweep over quanta)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from claims_table import PAIRS, Basis, File, expected_status, ids, judge
from cli_runner import refsim, repo_root  # noqa: F401 (a fixture)
from golden_files import check_golden
from test_scenarios import HAND_CHECKED

from refsim.model import AnomalyKind, Runtime

pytestmark = pytest.mark.usefixtures("repo_root")

FIRST_SCHEDULE: dict[str, tuple[str, str]] = {}
for _name, _runtime, _schedule, _kinds, _final in HAND_CHECKED:
    FIRST_SCHEDULE.setdefault(_name, (_runtime.value, _schedule))

ROW = re.compile(r"^\s*(\d+)  ")


def _rows(out: str) -> list[list[str]]:
    """The trace table's rows, split into cells."""
    return [line.split() for line in out.splitlines() if ROW.match(line)]


# -- the quiz -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIRST_SCHEDULE))
def test_a_quiz_hides_every_value_and_anomaly_and_its_answer_key_is_the_plain_run(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, schedule = FIRST_SCHEDULE[name]
    argv = ["run", name, "--schedule", schedule, "--runtime", runtime]
    status, quiz, _ = refsim(capsys, *argv, "--quiz")
    answer_status, answers, _ = refsim(capsys, *argv)
    # The same status: the quiz is the same run.
    assert answer_status == status
    shown, key = _rows(quiz), _rows(answers)
    assert len(key) == len(shown)
    for hidden, plain in zip(shown, key, strict=True):
        # Step, thread, op and micro-step are shown; every value after them is a "?". The
        # micro-step is the last word in capitals (an op may end in a number: x -= 2).
        cut = 1 + max(i for i, word in enumerate(plain) if word.replace("_", "").isupper())
        assert (plain[:cut], ["?"] * (len(plain) - cut)) == (hidden[:cut], hidden[cut:])
    without_name = quiz.replace(name, "")
    found = [kind.value for kind in AnomalyKind if kind.value in without_name]
    assert ([], "!" in quiz) == (found, False)
    # The quiz names its answer key: the command without --quiz.
    key_command = quiz.split("has the answers:\n")[1].strip()
    status, again, _ = refsim(capsys, *shlex.split(key_command)[1:])
    assert answers.split("\n", 2)[2] == again.split("\n", 2)[2]


def test_a_quiz_starts_from_the_initial_state(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "run", "counter_locked", "--seed", "3", "--quiz")
    assert "at the start: counter = 0, lock L free" in out
    assert "final state: counter = ?" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--json"], "--quiz hides one run's trace for a class: drop --json"),
        (["--timed"], "--quiz hides one run's trace for a class: drop --timed"),
        (["--no-trace"], "--quiz hides one run's trace for a class: drop --no-trace"),
        (["--quantum", "1..3"], "drop a --quantum sweep"),
    ],
)
def test_a_quiz_is_one_printed_run(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = refsim(capsys, "run", "leak", "--quiz", *argv)
    assert (2, "", True) == (status, out, message in err)


# -- quanta ---------------------------------------------------------------------------------


def test_a_sweep_is_one_run_per_quantum_in_order() -> None:
    """refsim.sweep: what ``run --quantum A..B`` prints, as values. A decref is a LOAD, a
    SUB and a STORE: a time slice of 3 or more never splits one, so the race is gone."""
    from refsim.loader import load_file
    from refsim.sweep import sweep

    leak = load_file("scenarios/leak.yaml")
    found = sweep(leak, range(1, 5), runtime=Runtime.UNSAFE)
    race = ("leak", "lost-update")
    expected = [
        (1, "T1 T2 T1 T2 T1 T2", race),
        (2, "T1*2 T2*2 T1 T2", race),
        (3, "T1*3 T2*4", ()),
        (4, "T1*3 T2*4", ()),
    ]
    assert expected == [
        (q, str(r.schedule), tuple(sorted(k.value for k in r.anomaly_kinds))) for q, r in found
    ]
    assert all(r.trace is None and r.finished for _, r in found)
    seeded = sweep(leak, range(2, 4), runtime=Runtime.UNSAFE, seed=3)
    assert ["T1 T2 T1*2 T2*2", "T1 T2*3 T1*2"] == [str(r.schedule) for _, r in seeded]
    cut = sweep(leak, range(1, 3), runtime=Runtime.UNSAFE, max_steps=3)
    assert [(False, "steps", 3)] * 2 == [(r.finished, r.stopped, r.steps) for _, r in cut]


def test_quantum_2_is_the_issues_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "run", "leak", "--quantum", "2")
    assert (0, "schedule (--quantum 2): T1*2 T2*2 T1 T2") == (status, out.splitlines()[1])


def test_a_quantum_run_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = refsim(capsys, "run", "counter", "--quantum", "4", "--seed", "2", "--json")
    document = json.loads(out)
    _, again, _ = refsim(capsys, "run", "counter", "--quantum", "4", "--seed", "2", "--json")
    assert (4, 2, document) == (document["quantum"], document["seed"], json.loads(again))


def test_the_sweep_golden(
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    status, out, _ = refsim(capsys, "run", "leak", "--quantum", "1..10")
    assert 0 == status
    check_golden(request, "run_leak_quantum_sweep.txt", "$ refsim run leak --quantum 1..10\n" + out)


def test_the_sweep_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = refsim(capsys, "run", "leak", "--quantum", "1..4", "--json")
    document = json.loads(out)
    rows = [(r["quantum"], r["schedule"], r["anomalies"]) for r in document["runs"]]
    expected = [
        (1, "T1 T2 T1 T2 T1 T2", ["leak", "lost-update"]),
        (2, "T1*2 T2*2 T1 T2", ["leak", "lost-update"]),
        (3, "T1*3 T2*4", []),
        (4, "T1*3 T2*4", []),
    ]
    assert (0, expected, True) == (status, rows, document["agrees"])


def test_a_sweep_exits_1_when_a_quantum_breaks_a_claim(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("runtime: gil\nvariables: {n: 0}\nthreads:\n  T1: [n += 1]\n  T2: [n += 1]\n")
    status, out, _ = refsim(capsys, "run", str(path), "--quantum", "1..4")
    # Quanta 1 and 2 switch inside `n += 1`; from 3 on each increment runs whole.
    assert (1, True) == (status, "Something goes wrong at quantum 1-2; nothing at 3-4." in out)
    status, _, _ = refsim(capsys, "run", str(path), "--quantum", "3..4")
    assert 0 == status


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quantum", "0"], "must be at least 1, not 0"),
        (["--quantum", "3..1"], "A..B needs A at most B"),
        (["--quantum", "2", "--schedule", "T1"], "--quantum makes the schedule"),
        (["--quantum", "2", "--timed"], "a timed run's schedule comes from time"),
        (["--quantum", "1..3", "--trace-out", "x.json"], "--trace-out exports one run"),
    ],
)
def test_bad_quanta(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    try:
        status, out, err = refsim(capsys, "run", "leak", *argv)
    except SystemExit as exc:  # argparse's own errors
        status, out, err = int(str(exc.code)), "", capsys.readouterr().err
    assert (2, "", True) == (status, out, message in err)


# -- the one reading of claims (tests/claims_table.py) --------------------------------------


@pytest.mark.parametrize("pair", PAIRS, ids=ids)
def test_run_reads_claims_as_the_table_does(pair: tuple[File, Runtime], tmp_path: Path) -> None:
    # One micro-step a turn reaches every kind the table's programs can reach.
    status, _ = judge(tmp_path, pair, "run", "--quantum", "1")
    assert expected_status(*pair, Basis.ONE_RUN) == status
