"""``refsim explore`` and ``refsim check`` on the command line: output, JSON, exit statuses."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from claims_table import FILES, Basis, File, Held, expected_status, write
from claims_table import run as run_refsim
from cli_runner import flat, repo_root  # noqa: F401 (a fixture)
from golden_files import check_golden

from refsim.cli import main
from refsim.engine import run
from refsim.loader import load_file
from refsim.model import Runtime, Schedule
from refsim.render.text import count_cell, percent

ROOT = Path(__file__).parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


pytestmark = pytest.mark.usefixtures("repo_root")


def refsim(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


# -- explore --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("golden", "argv"),
    [
        ("explore_leak.txt", ["scenarios/leak.yaml"]),
        ("explore_leak_gil.txt", ["scenarios/leak.yaml", "--runtime", "gil"]),
        ("explore_premature_free.txt", ["scenarios/premature_free.yaml"]),
        ("explore_double_free_bound1.txt", ["double_free", "--preemption-bound", "1"]),
        ("explore_counter.txt", ["scenarios/counter.yaml"]),
        ("explore_deadlock.txt", ["scenarios/deadlock.yaml"]),
        (
            "explore_double_free_sampled.txt",
            ["scenarios/double_free.yaml", "--max-states", "50", "--sample", "500"],
        ),
    ],
)
def test_explore_output(golden: str, argv: list[str], request: pytest.FixtureRequest) -> None:
    status, out, err = refsim("explore", *argv)
    assert (0, "") == (status, err)
    check_golden(request, golden, out)


def test_explore_json_has_the_shape_of_cli_md() -> None:
    status, out, err = refsim("explore", "scenarios/leak.yaml", "--json")
    assert (0, "") == (status, err)
    document = json.loads(out)
    assert {
        "scenario": "leak",
        "runtime": "unsafe",
        "exhaustive": True,
        "interleavings": 20,
        "preemption_bound": None,
        "bound_probability": None,
        "bound_probability_exact": None,
        "states": 14,
        "requested": None,
        "budget": None,
        "seed": None,
        "agrees": True,
        "outcomes": [
            {
                "anomalies": ["leak", "lost-update"],
                "final": {"obj": 1},
                "count": 18,
                "share": 0.9,
                "share_exact": "9/10",
                "probability": 0.75,
                "probability_exact": "3/4",
                "witness": "T1 T2*3 T1*2",
                "preemptions": 1,
            },
            {
                "anomalies": [],
                "final": {"obj": "freed"},
                "count": 2,
                "share": 0.1,
                "share_exact": "1/10",
                "probability": 0.25,
                "probability_exact": "1/4",
                "witness": "T1*3 T2*4",
                "preemptions": 0,
            },
        ],
    } == document


def test_explore_json_of_a_bounded_and_a_sampled_table() -> None:
    _, out, _ = refsim("explore", "lost_update", "--preemption-bound", "0", "--json")
    bounded = json.loads(out)
    assert (0, 2, "1/4") == (
        bounded["preemption_bound"],
        bounded["interleavings"],
        bounded["bound_probability_exact"],
    )
    _, out, _ = refsim("explore", "leak", "--max-states", "3", "--sample", "40", "--json")
    sampled = json.loads(out)
    assert (False, 40, 0) == (sampled["exhaustive"], sampled["interleavings"], sampled["seed"])
    assert [None, None] == [o["probability"] for o in sampled["outcomes"]]


def test_every_witness_printed_replays_with_refsim_run() -> None:
    for path in SCENARIOS:
        scenario = load_file(path)
        if scenario.name in ("convoy", "cpu_bound", "io_bound", "io_then_transform"):
            continue
        for runtime in Runtime:
            _, out, _ = refsim("explore", str(path), "--runtime", runtime.value, "--json")
            for outcome in json.loads(out)["outcomes"]:
                _, out, _ = refsim(
                    "run", str(path), "--schedule", outcome["witness"], "--runtime",
                    runtime.value, "--json",
                )  # fmt: skip
                replayed = json.loads(out)
                kinds = sorted({a["kind"] for a in replayed["anomalies"]})
                assert (outcome["anomalies"], outcome["final"], outcome["preemptions"]) == (
                    kinds,
                    replayed["final"],
                    replayed["preemptions"],
                )


def test_an_unclaimed_anomaly_makes_explore_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "race.yaml"
    path.write_text("objects: {obj: 1}\nthreads:\n  T1: [incref obj]\n  T2: [incref obj]\n")
    status, out, _ = refsim("explore", str(path))
    assert 1 == status
    assert (
        "unexpected: the scenario makes no claim for unsafe, its own runtime, so no anomaly is "
        "expected, but lost-update is reachable." in flat(out)
    )


def test_the_budget_exits_3_and_names_the_options() -> None:
    status, out, err = refsim("explore", "premature_free", "--max-states", "10")
    assert (3, "") == (status, out)
    first, *rest = err.splitlines()
    assert first.startswith(
        "error: premature_free: the state budget (--max-states) of 10 states ran out after "
    )
    assert first.endswith(" while counting the interleavings under unsafe.")
    [whole] = [line for line in rest if "The whole count" in line]
    assert whole.endswith(
        "interleavings to count (estimated from random runs), through at least 12 distinct "
        "states (one per combination of the threads' places)."
    )
    assert "raise --max-states" in err and "--sample N" in err


def test_the_budget_with_json_still_prints_one_document() -> None:
    status, out, _ = refsim("explore", "premature_free", "--max-states", "10", "--json")
    expected = {
        "scenario": "premature_free", "runtime": "unsafe", "exhaustive": False,
        "interleavings": None, "outcomes": [], "agrees": None,
    }  # fmt: skip
    document = json.loads(out)
    stopped = document.pop("budget_exceeded")
    assert (3, expected) == (status, document)
    # It gives up before the first state: 12 combinations of the threads' places at least.
    assert ("states", 10, 0) == (stopped["limit"], stopped["max_states"], stopped["states"])
    assert (12, {}) == (stopped["states_at_least"], stopped["done"])


def test_a_timed_scenario_gives_up_at_once() -> None:
    status, _, err = refsim("explore", "cpu_bound")
    assert 3 == status
    assert "the state budget (--max-states) of 1,000,000 states ran out" in err
    assert "through at least 12,507,501 distinct states" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-states", "0"], "--max-states: must be at least 1, not 0"),
        (["--preemption-bound", "-1"], "--preemption-bound: must be at least 0, not -1"),
        (["--sample", "x"], "--sample: expected a whole number, not 'x'"),
    ],
)
def test_bad_options_exit_2(argv: list[str], message: str) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        main(["explore", "leak", *argv])
    assert 2 == exit_.value.code
    assert f"argument {message}" in err.getvalue()


def test_sample_and_bound_do_not_mix() -> None:
    status, out, err = refsim("explore", "leak", "--sample", "5", "--preemption-bound", "1")
    assert (2, "") == (status, out)
    assert err.startswith("error: --sample cannot be combined with --preemption-bound")


def test_a_missing_file_exits_2() -> None:
    status, out, err = refsim("explore", "no_such_scenario.yaml")
    assert (2, "") == (status, out)
    assert "no_such_scenario.yaml" in err


# -- check ----------------------------------------------------------------------------------


def test_every_bundled_scenarios_claims_hold(request: pytest.FixtureRequest) -> None:
    status, out, err = refsim("check", *(str(p.relative_to(ROOT)) for p in SCENARIOS))
    assert (0, "") == (status, err)
    assert out.endswith(f"{6 * len(SCENARIOS)} claims in {len(SCENARIOS)} files: all hold.\n")
    check_golden(request, "check_bundled.txt", out)


BROKEN = """\
name: broken_claims
objects: {obj: 2}
threads:
  T1: [decref obj]
  T2: [decref obj]
expect:
  unsafe: [leak, double-free]
  gil: [lost-update]
  atomic: []
"""


def test_a_failing_claim_says_which_and_gives_a_replayable_witness(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("broken.yaml").write_text(BROKEN)
    status, out, err = refsim("check", "broken.yaml")
    assert (1, "") == (status, err)
    check_golden(request, "check_broken.txt", out)
    # The witness breaking the unsafe claim (lost-update is reachable) replays to it.
    scenario = load_file("broken.yaml")
    result = run(scenario, schedule=Schedule.parse("T1 T2*3 T1*2"), runtime=Runtime.UNSAFE)
    assert {"leak", "lost-update"} == {k.value for k in result.anomaly_kinds}
    assert 'refsim run broken.yaml --schedule "T1 T2*3 T1*2" --runtime unsafe' in out


def test_check_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    status, out, _ = refsim("check", str(path), "leak", "--json")
    assert 1 == status
    document = json.loads(out)
    assert False is document["ok"]
    broken, leak = document["files"]
    unsafe, gil, atomic = broken["claims"]
    assert (False, ["double-free"], ["leak", "lost-update"]) == (
        unsafe["holds"],
        unsafe["missing"],
        unsafe["reachable"],
    )
    assert [{"kind": "lost-update", "witness": "T1 T2*3 T1*2", "preemptions": 1}] == [
        {k: u[k] for k in ("kind", "witness", "preemptions")} for u in unsafe["unexpected"]
    ]
    assert (False, ["lost-update"], []) == (gil["holds"], gil["missing"], gil["unexpected"])
    assert True is atomic["holds"]
    assert [True] * 6 == [c["holds"] for c in leak["claims"]]


def test_without_claims_check_expects_no_anomaly(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text("runtime: gil\nobjects: {obj: 1}\nthreads:\n  T1: [incref obj]\n")
    status, out, _ = refsim("check", str(path))
    assert 0 == status
    expected = "gil no anomaly (the file's runtime, no claim) holds (1 interleaving)"
    assert expected in flat(out)


def test_check_statuses_bad_input_beats_a_failure(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    (tmp_path / "bad.yaml").write_text("threads: 3\n")
    status, _, err = refsim("check", str(tmp_path / "broken.yaml"), str(tmp_path / "bad.yaml"))
    assert 2 == status
    assert "bad.yaml" in err


def test_check_with_no_readable_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("threads: 3\n")
    status, out, _ = refsim("check", str(tmp_path / "bad.yaml"))
    assert (2, "no claims checked: 1 file could not be read (see above).\n") == (status, out)


def test_check_budget_exits_3(tmp_path: Path) -> None:
    # Locks defeat the quick lower bound, so both searches really run out of states.
    status, out, _ = refsim("check", "deadlock", "--max-states", "3")
    assert 3 == status
    assert "unknown more than 3 distinct states (raise --max-states)" in flat(out)


# -- helpers --------------------------------------------------------------------------------


def test_percentages_never_round_to_certainty() -> None:
    from fractions import Fraction

    assert ["0%", "<0.1%", "0.1%", "90.0%", ">99.9%", "100%"] == [
        percent(Fraction(n, d))
        for n, d in [(0, 1), (1, 10**6), (1, 1000), (9, 10), (10**6 - 1, 10**6), (1, 1)]
    ]


def test_counts_stay_exact_until_too_long_to_read() -> None:
    counts = [20, 155_117_520, 10**16 - 1, 10**16, 4_705_360_871_073_570_227_520]
    expected = ["20", "155,117,520", "9,999,999,999,999,999", "1.00 × 10^16", "4.71 × 10^21"]
    assert expected == [count_cell(n) for n in counts]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# -- processes share no memory --------------------------------------------------------------

PROCESSES = """\
name: split
runtime: gil
variables: {done: 0}
threads:
  F1: [done += 1]
  F2: [done += 1]
  F3: [done += 1]
processes:
  main: [F1, F2]
  P1: [F3]
expect:
  gil: [lost-update]
"""


def test_check_takes_processes_one_at_a_time(tmp_path: Path) -> None:
    """F3 has its own copy of `done`: only F1 and F2 race, and the count is per process."""
    path = tmp_path / "split.yaml"
    path.write_text(PROCESSES)
    status, out, _ = refsim("check", str(path), "--json")
    [claim] = json.loads(out)["files"][0]["claims"]
    expected = (0, ["lost-update"], [
        {"process": "main", "interleavings": 20, "states": 13},
        {"process": "P1", "interleavings": 1, "states": 4},
    ])  # fmt: skip
    assert expected == (status, claim["reachable"], claim["processes"])


def test_a_process_alone_has_no_race(tmp_path: Path) -> None:
    path = tmp_path / "split.yaml"
    one_each = "  P1: [F1]\n  P2: [F2]\n  P3: [F3]"
    path.write_text(PROCESSES.replace("  main: [F1, F2]\n  P1: [F3]", one_each))
    status, out, _ = refsim("check", str(path))
    assert 1 == status
    assert "lost-update is claimed, but no interleaving reaches it" in out


def test_explore_and_run_one_process(tmp_path: Path) -> None:
    path = tmp_path / "split.yaml"
    path.write_text(PROCESSES)
    status, out, _ = refsim("explore", str(path), "--process", "main", "--json")
    document = json.loads(out)
    assert (0, 20) == (status, document["interleavings"])
    status, out, _ = refsim("run", str(path), "--process", "main", "--schedule", "F1 F2*3 F1*2")
    assert 0 == status
    assert "split  process main  runtime gil" in out
    assert f'replay: refsim run {path} --schedule "F1 F2*3 F1*2" --process main' in flat(out)


def test_search_takes_one_process_and_its_replay_names_it(tmp_path: Path) -> None:
    path = tmp_path / "split.yaml"
    path.write_text(PROCESSES)
    status, _, err = refsim("search", str(path))
    assert 2 == status
    assert "pick one with --process NAME (main, P1)" in err
    status, out, _ = refsim("search", str(path), "--process", "main", "--json")
    document = json.loads(out)
    assert (0, True) == (status, document["found"])
    assert document["replay"].endswith("--process main")
    status, out, _ = refsim("search", str(path), "--process", "P1", "--json")
    # The claim is for the file: P1 alone cannot show it, and a search proves nothing.
    assert (3, False) == (status, json.loads(out)["found"])


# -- the one reading of claims (tests/claims_table.py) --------------------------------------


@pytest.mark.parametrize("file", FILES, ids=lambda f: f.id)
def test_check_reads_claims_as_the_table_does(file: File, tmp_path: Path) -> None:
    status, out = run_refsim("check", write(tmp_path, file), "--json")
    verdicts = {
        c["runtime"]: "holds" if c["holds"] else "missing" if c["missing"] else "unexpected"
        for c in json.loads(out)["files"][0]["claims"]
    }
    held = {r.value: h.value for r, h in file.held.items() if h is not Held.FREE}
    assert (expected_status(file, None, Basis.FILE), held) == (status, verdicts)
